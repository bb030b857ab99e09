"""The host link against the simulated board (sim/) on the virtual-time loop."""

from __future__ import annotations

import asyncio

import pytest

from massagectl.firmware_bridge import messages as m
from massagectl.firmware_bridge.faults import ByteFaults, FaultyTransport
from massagectl.firmware_bridge.link import Link
from massagectl.firmware_bridge.memory_transport import memory_pair
from massagectl.firmware_bridge.wire import CLOCK_MODULUS
from massagectl.routines.device import load_device
from massagectl.routines.errors import FaultLatchedError, LinkLostError
from massagectl.sim.attach import AttachedBoard
from massagectl.sim.board import SimBoard
from massagectl.sim.trace import SegmentOutcome

BAUD = 115200
CHAIR = load_device("chair")
WATCHDOG_S = 0.5  # hardware.md section 5


async def _with_sim(scenario, faults: ByteFaults | None = None):
    loop = asyncio.get_running_loop()
    host_end, board_end = memory_pair(baud=BAUD)
    board = SimBoard(CHAIR, now_s=loop.time())
    transport = host_end
    if faults is not None:
        transport = FaultyTransport(host_end, outgoing=faults, incoming=faults, seed=9)
    async with AttachedBoard(board, board_end):
        link = await Link.open(transport, CHAIR)
        try:
            return await scenario(link, board)
        finally:
            await link.close()
            await board_end.close()


def test_every_segment_runs_once_and_in_order_over_a_damaged_line(run_virtual_time):
    """1 % corrupted and 1 % dropped bytes in both directions, a minute of streaming."""
    channels = {CHAIR.channel_index(name): top for name, top in
                [("knead_speed", 40.0), ("airbag_shoulders", 12.0), ("heat_lower_back", 38.0)]}

    async def scenario(link, board):
        loop = asyncio.get_running_loop()
        anchor = link.clock.clock_at(loop.time() + 0.5)
        sent = []
        for second in range(60):
            for channel, top in channels.items():
                sent.append(m.ScheduleSegment(channel, anchor + second * 1_000_000, 1_000_000,
                                              top * (second % 5) / 5, top * (second % 3) / 3))
                await link.schedule(sent[-1])
        # The last segments run out (the Stop that closing the link sends may be lost on this
        # line: the board must not need it).
        await asyncio.sleep(link.clock.host_time_at(anchor + 60_000_000) - loop.time() + 0.1)
        return sent, board.trace.segments, board.state, link.counters

    sent, rows, state, counters = run_virtual_time(
        _with_sim(scenario, ByteFaults(drop=0.01, corrupt=0.01)))
    assert [int(r) % CLOCK_MODULUS for r in rows["planned_ticks"]] == [
        s.start_clock % CLOCK_MODULUS for s in sent]
    assert list(rows["channel"]) == [s.channel for s in sent]
    assert set(rows["outcome"]) == {SegmentOutcome.EXECUTED}
    assert not rows["late"].any()
    assert state is m.DeviceState.READY  # the watchdog never tripped
    assert counters.retransmits > 0 and counters.bad_frames > 0


def test_a_silent_host_leaves_the_sim_safe_within_the_watchdog_period(run_virtual_time):
    async def scenario(link, board):
        loop = asyncio.get_running_loop()
        knead = CHAIR.channel_index("knead_speed")
        start = link.clock.clock_at(loop.time() + 0.2)
        await link.schedule(m.ScheduleSegment(knead, start, 10_000_000, 30.0, 30.0))
        await asyncio.sleep(1.0)
        running = board.output("knead_speed")
        await link.close(stop=False)  # the host falls silent without a STOP
        silent_s = loop.time()
        while not board.outputs_safe():
            await asyncio.sleep(0.001)
        return running, loop.time() - silent_s, board.stop_cause

    running, safe_after_s, cause = run_virtual_time(_with_sim(scenario))
    assert running == 30.0
    assert safe_after_s <= WATCHDOG_S + 0.01 and cause is m.StopCause.WATCHDOG


def test_stop_clears_the_sims_queue(run_virtual_time):
    async def scenario(link, board):
        loop = asyncio.get_running_loop()
        start = link.clock.clock_at(loop.time() + 0.5)
        for n in range(10):
            await link.schedule(m.ScheduleSegment(CHAIR.channel_index("airbag_seat"),
                                                  start + n * 150_000, 150_000, 5.0, 5.0))
        await link.drain()
        queued = board.queue_capacity - board.queue_free
        link.send_immediate(m.Stop())
        await asyncio.sleep(0.01)
        return queued, board.queue_free, board.queue_capacity, board.outputs_safe(), link.status

    queued, free, capacity, safe, status = run_virtual_time(_with_sim(scenario))
    assert queued == 10 and free == capacity and safe
    assert status.state is m.DeviceState.SHUTDOWN and status.stop_cause is m.StopCause.HOST_STOP


def test_a_board_holding_a_latched_fault_connects_refuses_to_start_and_clears(run_virtual_time):
    """The handshake meets a latched board, hold_safe() says why it will not start, and only
    ClearFault (then Reset) makes it READY again; the identity names the chair."""

    async def scenario(link, board):
        link.send_immediate(m.Stop(m.HostStopCause.FAULT))  # as a supervisor trip sends it
        await asyncio.sleep(0.1)
        assert link.board_fault is m.StopCause.HOST_FAULT
        with pytest.raises(FaultLatchedError, match=r"latched fault \(host_fault\)") as caught:
            await link.hold_safe()  # Stop, Reset: the board stays in SHUTDOWN
        assert "faults --clear --port" in caught.value.hint
        assert board.state is m.DeviceState.SHUTDOWN and board.outputs_safe()
        cleared = await link.clear_board_fault()
        return (cleared, link.board_fault, board.state, link.identity.serial_number,
                link.identity.display_rows, link.identity.display_cols)

    cleared, fault, state, serial, rows, cols = run_virtual_time(_with_sim(scenario))
    assert cleared is m.StopCause.HOST_FAULT and fault is None
    assert state is m.DeviceState.READY
    assert (serial, rows, cols) == ("SIM-chair-1", 4, 20)


def test_the_link_sends_a_lost_fault_stop_again_until_the_board_shows_the_latch(
        run_virtual_time):
    async def scenario(link, board):
        board.faults.deaf_to_stop = True
        link.send_immediate(m.Stop(m.HostStopCause.FAULT))  # lost, as far as the board goes
        await asyncio.sleep(0.3)
        board.faults.deaf_to_stop = False
        await asyncio.sleep(0.6)  # the next StatusReport (2 Hz) shows no latch: sent again
        return board.state, board.latched_cause

    state, cause = run_virtual_time(_with_sim(scenario))
    assert state is m.DeviceState.SHUTDOWN and cause is m.StopCause.HOST_FAULT


@pytest.mark.parametrize("delay_s", [0.0, 0.002, 0.005, 0.008, 0.02])
def test_a_fault_cleared_while_the_board_is_held_safe_ends_ready_for_both(
        run_virtual_time, delay_s):
    """A clear and a hold_safe that overlap (the end of a session, a person clearing a fault)
    each wait for reports sent after their own request; neither finds the other's wait under
    way and reads a report that is not there (once an AttributeError in hold_safe)."""

    async def scenario(link, board):
        async def clear_later():
            await asyncio.sleep(delay_s)
            return await link.clear_board_fault()

        held, cleared = await asyncio.gather(link.hold_safe(), clear_later())
        return held, cleared, board.state, board.outputs_safe(), link.status.state

    held, cleared, state, safe, seen = run_virtual_time(_with_sim(scenario))
    assert held is True and cleared is None
    assert state is m.DeviceState.READY and safe and seen is m.DeviceState.READY


def test_hold_safe_refuses_a_link_that_is_reconnecting_and_never_reads_a_missing_report(
        run_virtual_time):
    """During a reconnect there is no board state yet: hold_safe says so in words, and a
    hold_safe already waiting when the link opens again ends with the reason."""

    async def scenario():
        loop = asyncio.get_running_loop()
        board = SimBoard(CHAIR, now_s=loop.time())
        lines: list = []

        async def plug_in():
            host_end, board_end = memory_pair(baud=BAUD)
            attached = AttachedBoard(board, board_end)
            attached.start()
            lines.append((attached, board_end))
            return host_end

        link = await Link.open(plug_in, CHAIR)
        try:
            await lines[0][0].aclose()  # the cable is pulled
            await lines[0][1].close()
            await asyncio.wait_for(link.wait_lost(), 2.0)
            reconnecting = loop.create_task(link.reconnect())
            await asyncio.sleep(0)  # the handshake has begun: no board state yet
            with pytest.raises(LinkLostError, match="still connecting"):
                await link.hold_safe()
            await reconnecting
            return await link.hold_safe(), board.state
        finally:
            await link.close()
            for attached, board_end in lines:
                await attached.aclose()
                await board_end.close()

    held, state = run_virtual_time(scenario())
    assert held is True and state is m.DeviceState.READY


def test_hold_safe_leaves_the_board_stopped_when_a_stop_came_meanwhile(run_virtual_time):
    """`stay_stopped`: a stop asked for while hold_safe ran is not undone by its Reset."""

    async def scenario(link, board):
        held = await link.hold_safe(stay_stopped=lambda: True)
        await asyncio.sleep(1.0)
        return held, board.state, board.outputs_safe()

    held, state, safe = run_virtual_time(_with_sim(scenario))
    assert held is False and state is m.DeviceState.SHUTDOWN and safe


def test_rise_limits_reach_the_board_and_again_after_it_restarted(run_virtual_time):
    """The board keeps a lowered rise rate only until it powers on (hardware.md 4.7): a restart
    puts it back at its map's, and the reconnect's handshake lowers it again before the link
    counts as connected, so no segment ever finds the board faster than the host believes."""
    calves = CHAIR.channel_index("airbag_calves")
    own = CHAIR.channels[calves].rise_per_s

    async def scenario():
        loop = asyncio.get_running_loop()
        board = SimBoard(CHAIR, now_s=loop.time())
        lines: list = []

        async def plug_in():
            host_end, board_end = memory_pair(baud=BAUD)
            attached = AttachedBoard(board, board_end)
            attached.start()
            lines.append((attached, board_end))
            return host_end

        link = await Link.open(plug_in, CHAIR)
        try:
            before = board.rise_per_s[calves]
            assert link.set_rise_limits({calves: 3.0}) is True
            await link.drain()
            lowered = board.rise_per_s[calves]
            board.inject_fault("reset", now_s=loop.time())  # a brown-out
            restarted = board.rise_per_s[calves]
            await asyncio.wait_for(link.wait_lost(), 2.0)
            await link.reconnect()
            # Connected: the handshake has sent the limits; they are acked by now or queued
            # ahead of anything sent from here on.
            await link.drain()
            return before, lowered, restarted, board.rise_per_s[calves]
        finally:
            await link.close()
            for attached, board_end in lines:
                await attached.aclose()
                await board_end.close()

    before, lowered, restarted, again = run_virtual_time(scenario())
    assert (before, lowered, restarted, again) == (own, 3.0, own, 3.0)


def test_rise_limits_the_wire_cannot_carry_are_refused_before_anything_is_sent(
        run_virtual_time):
    calves = CHAIR.channel_index("airbag_calves")

    async def scenario(link, board):
        sent = link.protocol.stats.blocks_sent
        errors = []
        for bad in ({calves: 0.0}, {calves: -1.0}, {len(CHAIR.channels): 3.0}):
            try:
                link.set_rise_limits(bad)
            except ValueError as error:
                errors.append(str(error))
        return errors, link.protocol.stats.blocks_sent - sent, link.rise_limits

    errors, blocks, kept = run_virtual_time(_with_sim(scenario))
    assert len(errors) == 3 and "rise_per_s" in errors[0] and "not a channel" in errors[2]
    assert blocks == 0 and kept == {}
