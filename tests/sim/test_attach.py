"""The simulated board on a byte line: the real protocol and the host link in front of it."""

from __future__ import annotations

import asyncio

import pytest

from massagectl.firmware_bridge.clock_wrap import wrap_clock
from massagectl.firmware_bridge.codec import encode_message
from massagectl.firmware_bridge.events import NEED_DATA
from massagectl.firmware_bridge.framing import encode_block
from massagectl.firmware_bridge.host_protocol import HostProtocol
from massagectl.firmware_bridge.link import Link
from massagectl.firmware_bridge.memory_transport import memory_pair
from massagectl.firmware_bridge.messages import (
    ClockReport,
    DeviceState,
    FaultCode,
    FaultReport,
    Heartbeat,
    ScheduleSegment,
    ShowText,
    Stop,
    StopCause,
)
from massagectl.firmware_bridge.serial_transport import SerialTransport
from massagectl.firmware_bridge.wire import BlockKind
from massagectl.routines.device import load_device
from massagectl.sim.attach import AttachedBoard
from massagectl.sim.board import SimBoard
from massagectl.sim.faults import FaultKind
from massagectl.sim.pty_runner import LINE_PIECE_BYTES, PtyBoard

BAUD = 115200


async def _session_over_a_memory_line(profile_name: str) -> SimBoard:
    profile = load_device(profile_name)
    host_end, board_end = memory_pair(baud=BAUD)
    board = SimBoard(profile, now_s=asyncio.get_running_loop().time())
    async with AttachedBoard(board, board_end):
        link = await Link.open(host_end, profile)
        assert board.state is DeviceState.READY and board.outputs_safe()
        index = profile.channel_index("knead_speed")
        start = link.clock.clock_at(asyncio.get_running_loop().time() + 0.5)
        await link.schedule(ScheduleSegment(index, wrap_clock(start), 2_000_000, 30.0, 30.0))
        # It rises from 0 at the channel's rise rate (40 or 60 cycles/min per second): 1 s in,
        # it holds 30.
        await asyncio.sleep(1.5)
        assert board.output("knead_speed") == 30.0
        link.send_immediate(Stop())
        await asyncio.sleep(0.01)
        assert board.outputs_safe() and board.stop_cause is StopCause.HOST_STOP
        await link.close()
        await asyncio.sleep(0.6)
    await board_end.close()
    return board


@pytest.mark.parametrize("device", ["chair", "pad"])
def test_a_host_link_runs_a_session_against_the_simulated_board(run_virtual_time, device):
    board = run_virtual_time(_session_over_a_memory_line(device))
    [row] = board.trace.segments
    assert not row["late"]
    assert abs(int(row["executed_ticks"]) - int(row["planned_ticks"])) == 0


async def _unplug_and_reset() -> tuple[SimBoard, list]:
    profile = load_device("pad")
    host_end, board_end = memory_pair(baud=BAUD)
    board = SimBoard(profile, now_s=asyncio.get_running_loop().time())
    host = HostProtocol()
    heard: list = []

    async def listen() -> None:
        while True:
            host.receive_data(await host_end.read(), asyncio.get_running_loop().time())
            while (event := host.next_event()) is not NEED_DATA:
                heard.append(event)

    async with AttachedBoard(board, board_end) as attached:
        listener = asyncio.create_task(listen())
        loop = asyncio.get_running_loop()
        host_end.write(host.send(Heartbeat(), loop.time()))
        await asyncio.sleep(0.05)
        assert any(isinstance(e, ClockReport) for e in heard)
        attached.driver.inject_fault(FaultKind.UNPLUG)
        await asyncio.sleep(0.02)  # what was already on the wire still arrives
        heard.clear()
        for _ in range(8):
            host_end.write(host.send(Heartbeat(), loop.time()))
            await asyncio.sleep(0.1)
        assert heard == []  # nothing comes back, not even an ack
        assert board.stop_cause is StopCause.WATCHDOG
        attached.driver.clear_fault(FaultKind.UNPLUG)
        attached.driver.inject_fault(FaultKind.RESET)
        host.begin_sync()
        host_end.write(host.send(Heartbeat(), loop.time()))
        await asyncio.sleep(0.05)
        host_end.write(b"\x05\x20\x11\xff\xff\x00\x00\x7e")  # a block whose CRC is wrong
        await asyncio.sleep(0.05)
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
    await board_end.close()
    await host_end.close()
    return board, heard


def test_unplug_silences_the_line_and_reset_restarts_the_protocol(run_virtual_time):
    board, heard = run_virtual_time(_unplug_and_reset())
    assert any(isinstance(e, ClockReport) for e in heard)  # after the reset, answered again
    assert board.state is DeviceState.READY  # restarted, nothing latched
    assert board.outputs_safe()


async def _send_a_bad_payload() -> list:
    host_end, board_end = memory_pair(baud=BAUD)
    board = SimBoard(load_device("pad"), now_s=asyncio.get_running_loop().time())
    host = HostProtocol()
    async with AttachedBoard(board, board_end):
        host_end.write(encode_block(BlockKind.IMMEDIATE, 0, b"\xee"))  # no such message id
        heard: list = []
        while not any(isinstance(e, FaultReport) for e in heard):
            host.receive_data(await host_end.read(), asyncio.get_running_loop().time())
            while (event := host.next_event()) is not NEED_DATA:
                heard.append(event)
    await host_end.close()
    return heard


def test_a_bad_payload_is_reported_as_a_fault(run_virtual_time):
    heard = run_virtual_time(_send_a_bad_payload())
    faults = [m for m in heard if isinstance(m, FaultReport)]
    assert [(f.code, f.index) for f in faults] == [(FaultCode.BAD_MESSAGE, -1)]


async def _pty_round_trip() -> tuple[SimBoard, list]:
    async with PtyBoard(load_device("pad"), baud=BAUD) as pty_board:
        transport = SerialTransport.open(pty_board.port_path, baud=BAUD)
        host = HostProtocol()
        loop = asyncio.get_running_loop()
        transport.write(host.send(Heartbeat(), loop.time()))
        heard: list = []
        while not any(isinstance(e, ClockReport) for e in heard):
            data = await asyncio.wait_for(transport.read(), timeout=2.0)
            host.receive_data(data, loop.time())
            while (event := host.next_event()) is not NEED_DATA:
                heard.append(event)
        transport.write(host.send(Stop(), loop.time()))
        board = pty_board.board
        for _ in range(200):  # bounded wait for the bytes to cross the paced line
            if board.state is DeviceState.SHUTDOWN:
                break
            await asyncio.sleep(0.005)
        await transport.close()
    return board, heard


def test_the_pty_board_answers_a_host_on_the_real_serial_path():
    board, heard = asyncio.run(_pty_round_trip())
    assert any(isinstance(e, ClockReport) for e in heard)
    assert board.stop_cause is StopCause.HOST_STOP
    assert board.outputs_safe()


async def _tapped_round_trip() -> tuple[bytes, list[float], bytes, list[float], int]:
    """(bytes the host wrote, when each piece reaches the board, bytes the board sent, how late
    its timer woke, turns seen), watched through the pty board's public taps."""
    async with PtyBoard(load_device("pad"), baud=BAUD) as pty_board:
        to_board, arrivals, to_host, lateness, turns = bytearray(), [], bytearray(), [], [0]

        def host_wrote(data: bytes, arrives_s: float) -> None:
            to_board.extend(data)
            arrivals.append(arrives_s)

        def turned() -> None:
            turns[0] += 1

        pty_board.tap(to_board=host_wrote, to_host=to_host.extend)
        pty_board.driver.watch(turn=turned, woke=lateness.append)
        transport = SerialTransport.open(pty_board.port_path, baud=BAUD)
        written = HostProtocol().send(Heartbeat(), asyncio.get_running_loop().time())
        transport.write(written)
        for _ in range(400):  # bounded wait for telemetry to cross the paced line
            if len(to_board) == len(written) and len(to_host) > 100:
                break
            await asyncio.sleep(0.005)
        await transport.close()
    return bytes(to_board), arrivals, bytes(to_host), lateness, turns[0]


def test_the_pty_board_shows_its_line_and_timer_to_whoever_taps_them():
    """What a benchmark watches: the host's bytes as they enter the paced line (due at the
    board one line time per byte later), the board's bytes for the host, and its timer."""
    written, arrivals, sent, lateness, turns = asyncio.run(_tapped_round_trip())
    assert written and written.endswith(b"\x7e")  # the whole Heartbeat block, sync byte last
    assert arrivals == sorted(arrivals) and len(arrivals) == -(-len(written) // LINE_PIECE_BYTES)
    assert sent and turns > 0
    assert lateness and all(late >= -0.001 for late in lateness)


async def _stop_then_rows_in_one_write() -> tuple[SimBoard, int, int]:
    """(the board, bytes it had received when it acted on the STOP, bytes written)."""
    async with PtyBoard(load_device("chair"), baud=BAUD) as pty_board:
        transport = SerialTransport.open(pty_board.port_path, baud=BAUD)
        host = HostProtocol()
        board, attached = pty_board.board, pty_board._attached
        received = [0]
        at_stop: list[int] = []
        handle, receive = board.handle, attached.receive

        def counted(data: bytes) -> None:
            received[0] += len(data)
            receive(data)

        def handled(message: object, now_s: float) -> None:
            handle(message, now_s)
            if isinstance(message, Stop):
                at_stop.append(received[0])

        attached.receive, board.handle = counted, handled
        # One write, as the kernel hands it to the board's side in one read: the STOP, then
        # two display rows (48 bytes, over 4 ms of line time) behind it.
        rows = [encode_block(BlockKind.DATA, sequence, encode_message(ShowText(sequence, text)))
                for sequence, text in enumerate(("Stopping...", " " * 16))]
        written = host.send(Stop(), asyncio.get_running_loop().time()) + b"".join(rows)
        transport.write(written)
        for _ in range(400):  # bounded wait for the bytes to cross the paced line
            if received[0] == len(written):
                break
            await asyncio.sleep(0.005)
        await transport.close()
    return board, at_stop[0], len(written)


def test_a_stop_reaches_the_board_before_the_bytes_written_after_it():
    """A UART hands each byte over as it arrives: a STOP does not wait on the paced line for
    the bytes the host wrote behind it in the same write."""
    board, received_at_stop, written = asyncio.run(_stop_then_rows_in_one_write())
    assert board.stop_cause is StopCause.HOST_STOP
    assert received_at_stop < written - 40  # the rows were still on the line
