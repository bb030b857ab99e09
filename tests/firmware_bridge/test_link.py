"""The host link against a fake board on the virtual-time loop: handshake, streaming, stop, loss."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools

import pytest

from massagectl.firmware_bridge import link as host_link
from massagectl.firmware_bridge import messages as m
from massagectl.firmware_bridge import watchdog_pace
from massagectl.firmware_bridge.events import BlockKind, Disposition, HostFrame
from massagectl.firmware_bridge.faults import ByteFaults, FaultyTransport
from massagectl.firmware_bridge.identity import device_profile_map
from massagectl.firmware_bridge.link import Link, LinkState
from massagectl.firmware_bridge.memory_transport import memory_pair
from massagectl.firmware_bridge.wire import CLOCK_MODULUS, PROTOCOL_VERSION
from massagectl.routines.device import load_device
from massagectl.routines.errors import HandshakeError, LinkLostError, PortError, RefusedError
from tests.firmware_bridge.fake_board import WATCHDOG_S, FakeBoard

BAUD = 115200
CHAIR = load_device("chair")
NEAR_WRAP = CLOCK_MODULUS - 3_000_000  # the board's clock wraps 3 s into each test


async def open_pair(profile=CHAIR, *, faults: ByteFaults | None = None, seed: int = 1,
                    board_profile=None, **board_options) -> tuple[Link, FakeBoard]:
    host_end, board_end = memory_pair(baud=BAUD)
    board = FakeBoard(board_end, board_profile or profile, clock_start=NEAR_WRAP, **board_options)
    transport = host_end
    if faults is not None:
        transport = FaultyTransport(host_end, outgoing=faults, incoming=faults, seed=seed)
    try:
        link = await Link.open(transport, profile)
    except BaseException:
        await board.close()
        raise
    return link, board


async def close_all(link: Link, *boards: FakeBoard) -> None:
    await link.close()
    for board in boards:
        await board.close()


def segment(channel: int, start_clock: int, value: float = 10.0, ticks: int = 500_000):
    return m.ScheduleSegment(channel, start_clock, ticks, value, value)


def test_open_identifies_checks_the_map_and_starts_from_safe(run_virtual_time):
    async def scenario():
        link, board = await open_pair()
        loop = asyncio.get_running_loop()
        assert loop.time() < 0.5  # the whole handshake at 115200 baud
        assert link.state is LinkState.CONNECTED
        assert link.identity == device_profile_map(CHAIR)
        assert link.initial_status.stop_cause is m.StopCause.POWER_ON
        watchdog_frames = (m.Heartbeat, m.KeepAlive)
        assert [type(x) for x in board.host_messages if not isinstance(x, watchdog_frames)] == [
            m.Identify, m.QueryStatus, m.Stop, m.QueryStatus, m.Reset, m.QueryStatus,
        ]
        assert link.status.state is m.DeviceState.READY and link.status.outputs_safe
        assert board.state is m.DeviceState.READY and board.outputs_safe
        await close_all(link, board)

    run_virtual_time(scenario())


def test_a_board_that_differs_from_the_profile_is_refused_naming_each_difference(run_virtual_time):
    async def scenario():
        identity = device_profile_map(CHAIR)
        channels = list(identity.channels)
        channels[3] = dataclasses.replace(channels[3], max=80.0)
        wrong = dataclasses.replace(identity, channels=tuple(channels))
        with pytest.raises(HandshakeError) as caught:
            await open_pair(identity=wrong)
        return caught.value

    error = run_virtual_time(scenario())
    assert "does not match profile 'chair'" in str(error)
    assert error.differences == [
        "channel 3 'knead_speed': device says max 80 cycles/min, profile says 60"
    ]


def test_a_board_with_older_firmware_is_refused_with_the_protocol_to_update_to(run_virtual_time):
    async def scenario():
        identity = device_profile_map(CHAIR)
        old = dataclasses.replace(identity, info=dataclasses.replace(identity.info,
                                                                     protocol_version=1))
        with pytest.raises(HandshakeError) as caught:
            await open_pair(identity=old)
        return caught.value

    error = run_virtual_time(scenario())
    assert error.differences == [
        f"protocol version: device speaks 1, this host speaks {PROTOCOL_VERSION}"]
    assert error.hint == f"update the board's firmware to protocol {PROTOCOL_VERSION} (hardware.md)"


@pytest.mark.parametrize("answer_identify", [False, True])
def test_a_board_that_does_not_answer_gives_a_clear_error_in_bounded_time(
    run_virtual_time, answer_identify
):
    async def scenario():
        loop = asyncio.get_running_loop()
        host_end, board_end = memory_pair(baud=BAUD)
        board = None
        if answer_identify is False:
            board = FakeBoard(board_end, CHAIR, answer_identify=False)
        with pytest.raises(HandshakeError) as caught:
            await Link.open(host_end, CHAIR)
        if board is not None:
            await board.close()
        await board_end.close()
        return caught.value, loop.time()

    error, elapsed_s = run_virtual_time(scenario())
    assert elapsed_s <= 2.5
    expected = "to identify" if answer_identify is False else "to heartbeats"
    assert f"no {'complete ' if not answer_identify else ''}answer from memory:host {expected}" \
        in str(error)
    assert "baud rate (115200 8N1)" in error.hint and "TX to RX crossed" in error.hint


def test_an_unknown_port_is_a_clear_error_naming_it(run_virtual_time):
    async def scenario():
        with pytest.raises(PortError) as caught:
            await Link.open("/dev/serial/by-id/usb-no-chair-here", CHAIR)
        return caught.value

    error = run_virtual_time(scenario())
    assert "/dev/serial/by-id/usb-no-chair-here does not exist" in str(error)


def test_every_segment_arrives_once_and_in_order_over_a_damaged_line(run_virtual_time):
    """1 % corrupted and 1 % dropped bytes, both directions, for 90 s of streaming."""

    async def scenario():
        link, board = await open_pair(faults=ByteFaults(drop=0.01, corrupt=0.01), seed=5)
        loop = asyncio.get_running_loop()
        anchor = link.clock.clock_at(loop.time() + 0.5)
        sent = []
        for n in range(360):  # four channels, a segment each per second
            channel = (0, 3, 5, 10)[n % 4]
            sent.append(segment(channel, anchor + (n // 4) * 1_000_000, float(n % 20),
                                ticks=1_000_000))
            await link.schedule(sent[-1])
        await link.drain(timeout_s=10)
        counters = link.counters
        unwrapped = [dataclasses.replace(s, start_clock=s.start_clock % CLOCK_MODULUS)
                     for s in sent]
        assert board.received == unwrapped
        assert board.watchdog_trips == []
        assert link.state is LinkState.CONNECTED
        await close_all(link, board)
        return counters

    counters = run_virtual_time(scenario())
    assert counters.retransmits > 0 and counters.bad_frames > 0
    assert counters.late_segments == 0


def test_schedule_waits_for_the_window_and_counts_late_segments(run_virtual_time):
    async def scenario():
        link, board = await open_pair()
        loop = asyncio.get_running_loop()
        now_s = loop.time()
        await link.schedule(segment(3, link.clock.clock_at(now_s + 10.0)))
        waited_s = loop.time() - now_s
        await link.schedule(segment(3, link.clock.clock_at(loop.time() - 0.2)))
        late = link.counters.late_segments
        await close_all(link, board)
        return waited_s, late

    waited_s, late = run_virtual_time(scenario())
    assert 10.0 - 2.0 - 0.06 <= waited_s <= 10.0 - 2.0  # sent at most 2 s ahead
    assert late == 1


def test_a_segment_beyond_a_hard_limit_never_reaches_the_wire(run_virtual_time):
    async def scenario():
        link, board = await open_pair()
        before = link.counters.bytes_out
        start = link.clock.clock_at(asyncio.get_running_loop().time() + 1)
        too_high = m.ScheduleSegment(5, start, 1_000_000, 25.0, 25.0, amplitude=6.0,
                                     period_ticks=500_000)
        with pytest.raises(RefusedError) as caught:
            await link.schedule(too_high)
        too_long = segment(5, start, 1.0, ticks=121_000_000)
        with pytest.raises(RefusedError):
            await link.schedule(too_long)
        written = link.counters.bytes_out - before
        await close_all(link, board)
        return caught.value, written

    error, written = run_virtual_time(scenario())
    assert ("segment on channel 5 'airbag_shoulders' reaches 31 kPa, "
            "above the hard limit of 30 kPa") in str(error)
    assert written == 0


def test_stop_is_written_before_send_immediate_returns_and_clears_the_queue(run_virtual_time):
    async def scenario():
        host_end, board_end = memory_pair()  # unpaced: what is written is there at once
        board = FakeBoard(board_end, CHAIR)
        link = await Link.open(host_end, CHAIR)
        start = link.clock.clock_at(asyncio.get_running_loop().time() + 0.5)
        for n in range(6):
            await link.schedule(segment(n % 3 + 3, start + n * 100_000))
        await link.drain()
        assert len(board.queue) == 6
        assert link.send_immediate(m.Stop()) is True
        assert bytes(board_end._buffer).endswith(bytes.fromhex("07 20 10 00 50 58 7E"))
        await asyncio.sleep(0.01)
        assert board.queue == [] and board.state is m.DeviceState.SHUTDOWN
        assert link.status.state is m.DeviceState.SHUTDOWN and link.status.outputs_safe
        await close_all(link, board)

    run_virtual_time(scenario())


def test_closing_the_link_lets_the_boards_watchdog_trip_within_500_ms(run_virtual_time):
    async def scenario():
        link, board = await open_pair()
        loop = asyncio.get_running_loop()
        await asyncio.sleep(3.0)  # heartbeats keep it fed meanwhile
        assert board.watchdog_trips == []
        await link.close(stop=False)
        closed_s = loop.time()
        await asyncio.sleep(1.0)
        trips = list(board.watchdog_trips)
        await board.close()
        return closed_s, trips

    closed_s, trips = run_virtual_time(scenario())
    assert len(trips) == 1 and trips[0] - closed_s <= WATCHDOG_S


def test_heartbeats_keep_the_watchdog_fed_and_the_clock_true_on_a_damaged_line(run_virtual_time):
    async def scenario():
        link, board = await open_pair(faults=ByteFaults(drop=0.01, corrupt=0.01), seed=11)
        loop = asyncio.get_running_loop()
        await asyncio.sleep(60.0)  # the board's 32-bit clock wraps after 3 s
        truth = link.clock.unwrap(board.clock())
        estimate = link.clock.clock_at(loop.time())
        result = (board.watchdog_trips, link.state, abs(truth - estimate), link.clock.error_s,
                  link.counters)
        await close_all(link, board)
        return result

    trips, state, error_ticks, error_s, counters = run_virtual_time(scenario())
    assert trips == [] and state is LinkState.CONNECTED
    assert error_ticks <= error_s * 1_000_000 and error_s < 0.002
    # A Heartbeat and its ClockReport (16 bytes) both arrive with probability 0.98**16 = 0.72;
    # the answers that do keep the clock within 2 ms.
    assert counters.heartbeats_answered > 0.5 * counters.heartbeats_sent


def longest_gap_s(times: list[float], since_s: float, until_s: float) -> float:
    """The longest time without a host block at the board between `since_s` and `until_s`."""
    inside = [t for t in times if since_s <= t <= until_s]
    return max(b - a for a, b in itertools.pairwise([since_s, *inside, until_s]))


# A 6-byte frame crosses a 115200 baud line in 0.52 ms: the board hears it that much later.
FRAME_TRANSIT_S = 0.001


def test_on_a_clean_line_a_frame_goes_out_after_125_ms_of_silence_and_every_fourth_is_a_heartbeat(
        run_virtual_time):
    async def scenario():
        link, board = await open_pair()
        loop = asyncio.get_running_loop()
        await asyncio.sleep(0.05)  # off the watchdog timer's beat
        before, since_s = len(board.host_messages), loop.time()
        await asyncio.sleep(10.0)
        sent = [type(x) for x in board.host_messages[before:]]
        gap_s = longest_gap_s(board.frame_times, since_s, loop.time())
        counters = link.counters
        await close_all(link, board)
        return sent, gap_s, board.watchdog_trips, counters

    sent, gap_s, trips, counters = run_virtual_time(scenario())
    assert trips == []
    assert sent.count(m.Heartbeat) + sent.count(m.KeepAlive) == len(sent) == 80  # 8 a second
    assert sent.count(m.Heartbeat) == 20  # two clock samples a second
    # Two frames in a row may be lost before the board's 500 ms watchdog trips.
    assert gap_s <= watchdog_pace.CLEAN_PERIOD_S + FRAME_TRANSIT_S
    assert 3 * watchdog_pace.CLEAN_PERIOD_S < WATCHDOG_S <= 4 * watchdog_pace.CLEAN_PERIOD_S
    assert counters.heartbeats_answered == counters.heartbeats_sent  # a clean line


def test_keepalives_are_left_out_while_other_blocks_feed_the_watchdog(run_virtual_time):
    async def scenario():
        link, board = await open_pair()
        loop = asyncio.get_running_loop()
        keepalives, since_s = link.counters.keepalives_sent, loop.time()
        before = len(board.host_messages)
        for row in range(100):  # a display row every 100 ms for 10 s, as a stream of segments
            assert link.send_nowait(m.ShowText(row % 4, f"row {row}"))
            await asyncio.sleep(0.1)
        sent = [type(x) for x in board.host_messages[before:]]
        gap_s = longest_gap_s(board.frame_times, since_s, loop.time())
        result = (link.counters.keepalives_sent - keepalives, sent, gap_s, board.watchdog_trips)
        await close_all(link, board)
        return result

    keepalives, sent, gap_s, trips = run_virtual_time(scenario())
    assert keepalives == 0 and m.KeepAlive not in sent and trips == []
    assert 19 <= sent.count(m.Heartbeat) <= 21  # the clock samples still go out, twice a second
    assert gap_s <= watchdog_pace.CLEAN_PERIOD_S + FRAME_TRANSIT_S


def frame_counts(times: list[float], since_s: float, span_s: float, windows: int) -> list[int]:
    """Frames the board heard in each of `windows` consecutive windows of `span_s` seconds."""
    return [sum(since_s + i * span_s <= t < since_s + (i + 1) * span_s for t in times)
            for i in range(windows)]


def test_a_line_that_showed_damage_is_fed_every_50_ms_for_a_minute(run_virtual_time):
    async def scenario():
        link, board = await open_pair()
        loop = asyncio.get_running_loop()
        await asyncio.sleep(1.0)
        board.transport.write(b"\x20\x31noise")  # bytes that are no block: a damaged line
        damaged_s = loop.time()
        await asyncio.sleep(watchdog_pace.DAMAGE_MEMORY_S + 12.0)
        # The host sees the noise as such when the next good block follows it (a StatusReport
        # comes every 0.5 s), and the pace changes at the next frame (a clean period later).
        changed_s = damaged_s + 1.0
        counts = frame_counts(board.frame_times, changed_s, 10.0, 5)
        gap_s = longest_gap_s(board.frame_times, changed_s, changed_s + 50.0)
        clean = frame_counts(board.frame_times,
                             damaged_s + watchdog_pace.DAMAGE_MEMORY_S + 1.0, 10.0, 1)
        state = link.state
        await close_all(link, board)
        return counts, clean, gap_s, state

    counts, clean, gap_s, state = run_virtual_time(scenario())
    assert state is LinkState.CONNECTED
    assert counts == [200] * 5  # 20 a second while the damage is recent
    assert gap_s <= watchdog_pace.GUARDED_PERIOD_S + FRAME_TRANSIT_S
    assert clean == [80]  # a minute later the line counts as clean again: 8 a second


@pytest.mark.parametrize("both_ways", [True, False], ids=["both ways", "host to board only"])
def test_the_boards_watchdog_never_starves_on_a_line_damaging_3_percent_of_its_bytes(
        run_virtual_time, both_ways):
    async def scenario():
        damage = ByteFaults(drop=0.015, corrupt=0.015)
        link, board = await open_pair(faults=damage, seed=3)
        if not both_ways:  # the host then learns of the damage from NAKs and lost heartbeats
            link._transport.incoming = ByteFaults()
        loop = asyncio.get_running_loop()
        since_s = loop.time()
        await asyncio.sleep(600.0)  # ten minutes of an idle link: watchdog frames only
        gap_s = longest_gap_s(board.frame_times, since_s, loop.time())
        result = (board.watchdog_trips, link.state, gap_s)
        await close_all(link, board)
        return result

    trips, state, gap_s = run_virtual_time(scenario())
    assert trips == [] and state is LinkState.CONNECTED
    assert gap_s < WATCHDOG_S


def test_lost_intensity_and_stop_are_sent_again_when_a_status_disagrees(run_virtual_time):
    async def scenario():
        host_end, board_end = memory_pair(baud=BAUD)
        board = FakeBoard(board_end, CHAIR)
        faulty = FaultyTransport(host_end)
        link = await Link.open(faulty, CHAIR)
        faulty.outgoing = ByteFaults(drop=1.0)  # the next immediate messages are lost
        link.send_immediate(m.SetIntensity(0.3))
        link.send_immediate(m.Stop())
        faulty.outgoing = ByteFaults()
        assert board.intensity == 1.0 and board.state is m.DeviceState.READY
        await asyncio.sleep(1.0)  # a periodic StatusReport shows the difference
        result = board.intensity, board.state, link.counters.resent_immediate
        await close_all(link, board)
        return result

    intensity, state, resent = run_virtual_time(scenario())
    assert intensity == 0.3 and state is m.DeviceState.SHUTDOWN and resent >= 2


def test_an_unplugged_port_is_noticed_and_the_link_reconnects_to_a_safe_board(run_virtual_time):
    async def scenario():
        boards: list[FakeBoard] = []

        async def plug_in():
            host_end, board_end = memory_pair(baud=BAUD)
            boards.append(FakeBoard(board_end, CHAIR))
            return host_end

        link = await Link.open(plug_in, CHAIR)
        start = link.clock.clock_at(asyncio.get_running_loop().time() + 1.0)
        await link.schedule(segment(3, start))
        await boards[0].transport.close()  # the USB cable is pulled
        reason = await asyncio.wait_for(link.wait_lost(), 1.0)
        with pytest.raises(LinkLostError, match="reconnect"):
            await link.schedule(segment(3, start + 1_000_000))
        await link.reconnect()
        new_board = boards[-1]
        start = link.clock.clock_at(asyncio.get_running_loop().time() + 1.0)
        await link.schedule(segment(3, start))
        await link.drain()
        result = (reason, link.counters.reconnects, new_board.received, new_board.host_messages)
        await close_all(link, *boards)
        return result

    reason, reconnects, received, host_messages = run_virtual_time(scenario())
    assert "vanished" in reason and reconnects == 1
    assert len(received) == 1
    assert m.Stop() in host_messages and m.Reset() in host_messages


def test_a_board_that_restarts_or_falls_silent_loses_the_link(run_virtual_time):
    async def scenario():
        link, board = await open_pair()
        await asyncio.sleep(1.0)
        board.power_on()
        restarted = await asyncio.wait_for(link.wait_lost(), 1.0)
        await link.reconnect()
        board.hang()
        loop = asyncio.get_running_loop()
        hung_s = loop.time()
        silent = await asyncio.wait_for(link.wait_lost(), 3.0)
        noticed_s = loop.time() - hung_s
        await close_all(link, board)
        return restarted, silent, noticed_s

    restarted, silent, noticed_s = run_virtual_time(scenario())
    assert "restarted" in restarted
    assert "no answer from the board" in silent and noticed_s <= 1.2
    silent_s = float(silent.removeprefix("no answer from the board for ").removesuffix(" s"))
    assert host_link.SILENCE_LIMIT_S <= silent_s <= 1.2  # as printed, to 0.01 s


def test_a_block_left_unacked_loses_the_link_at_the_ack_limit(run_virtual_time):
    # The board keeps talking (status at 2 Hz, every report carrying the sequence it expects)
    # and hears every frame, but accepts no queued block any more, so nothing new is acked:
    # the host gives the link up once its oldest block has waited ACK_LIMIT_S (2 s), not before.
    async def scenario():
        link, board = await open_pair()
        await asyncio.sleep(1.0)
        accept = board.protocol._on_block

        def stuck(block):
            if block.kind is BlockKind.IMMEDIATE:
                return accept(block)
            board.protocol._events.append(HostFrame(block.kind, block.sequence,
                                                    Disposition.OUT_OF_ORDER))
            return None

        board.protocol._on_block = stuck
        loop = asyncio.get_running_loop()
        assert link.send_nowait(m.ShowText(0, "unacked"))  # a queued block, waiting for its ack
        deaf_s = loop.time()
        try:
            detail = await asyncio.wait_for(link.wait_lost(), host_link.ACK_LIMIT_S + 1.0)
        finally:
            await close_all(link, board)
        return detail, loop.time() - deaf_s

    detail, lost_after_s = run_virtual_time(scenario())
    assert detail.startswith("a block stayed unacked for")
    waited_s = float(detail.removeprefix("a block stayed unacked for ").removesuffix(" s"))
    assert host_link.ACK_LIMIT_S < waited_s <= lost_after_s + 0.005  # as printed, to 0.01 s
    limit_s = host_link.ACK_LIMIT_S
    assert limit_s < lost_after_s <= limit_s + 2 * watchdog_pace.GUARDED_PERIOD_S


def test_listeners_and_the_message_iterator_see_every_report(run_virtual_time):
    async def scenario():
        link, board = await open_pair()
        seen = []
        remove = link.add_listener(seen.append)
        collected = []

        async def collect():
            async for message in link.messages():
                collected.append(message)

        collector = asyncio.get_running_loop().create_task(collect())
        await asyncio.sleep(1.2)
        remove()
        count = len(seen)
        await asyncio.sleep(1.0)
        await close_all(link, board)
        await collector
        return seen, count, collected

    seen, count, collected = run_virtual_time(scenario())
    assert len(seen) == count  # nothing after remove()
    assert sum(isinstance(x, m.StatusReport) for x in seen) >= 2
    assert sum(isinstance(x, m.ClockReport) for x in collected) >= 4  # two a second


def test_a_board_that_stops_answering_is_asked_on_every_frame_until_it_answers(run_virtual_time):
    async def scenario():
        link, board = await open_pair()
        answer = board._emit
        board._emit = lambda *messages: None  # the board's answers are lost from now on
        await asyncio.sleep(0.55)  # half the silence limit has passed
        asked_from = len(board.host_messages)
        await asyncio.sleep(0.3)
        asked = [type(x) for x in board.host_messages[asked_from:]]
        board._emit = answer
        await asyncio.sleep(1.0)
        state = link.state
        await close_all(link, board)
        return asked, state, board.watchdog_trips

    asked, state, trips = run_virtual_time(scenario())
    assert asked == [m.Heartbeat] * 6  # every 50 ms, no KeepAlive while the board is quiet
    assert state is LinkState.CONNECTED and trips == []


@pytest.mark.parametrize("pushed", [True, False], ids=["pushed bytes", "read loop"])
def test_a_failure_handling_what_the_board_sent_loses_the_link_and_stops(run_virtual_time,
                                                                         pushed):
    async def scenario():
        host_end, board_end = memory_pair(baud=BAUD)
        board = FakeBoard(board_end, CHAIR)
        # A transport that only reads (the fault injector with no faults) takes the other path.
        transport = host_end if pushed else FaultyTransport(host_end, seed=1)
        link = await Link.open(transport, CHAIR)

        def broken(event):
            raise RuntimeError("a bug in the receive path")

        link._on_event = broken
        reason = await asyncio.wait_for(link.wait_lost(), 1.0)
        await asyncio.sleep(0.05)
        result = reason, board.host_messages[-1]
        await close_all(link, board)
        return result

    reason, last = run_virtual_time(scenario())
    assert "handling what the board sent failed: RuntimeError" in reason
    assert last == m.Stop()  # the board is told to stop, not left running unwatched


@pytest.mark.parametrize("stopped_before", [False, True])
def test_closing_stops_the_board_unless_a_stop_was_already_sent(run_virtual_time,
                                                               stopped_before):
    """So a stop path that gives up after N STOPs and closes the port has sent N, not N + 1."""

    async def scenario():
        link, board = await open_pair()
        if stopped_before:
            link.send_immediate(m.Stop())
        await asyncio.sleep(0.1)
        before = link.counters.immediate_sent
        await link.close()
        after = link.counters.immediate_sent
        await board.close()
        return after - before

    assert run_virtual_time(scenario()) == (0 if stopped_before else 1)
