"""The transport seam: pyserial ports (pty, loop://, socket://), memory pair, manipulator."""

from __future__ import annotations

import asyncio
import os

import pytest

from massagectl.firmware_bridge.faults import ByteFaults, FaultyTransport
from massagectl.firmware_bridge.memory_transport import memory_pair
from massagectl.firmware_bridge.serial_transport import SerialTransport
from massagectl.routines.errors import PortError


async def _read_exactly(transport, count: int) -> bytes:
    data = b""
    while len(data) < count:
        data += await asyncio.wait_for(transport.read(), 2.0)
    return data


def _master_read(master: int, count: int) -> bytes:
    data = b""
    while len(data) < count:
        data += os.read(master, count - len(data))
    return data


@pytest.fixture
def pty_pair():
    master, slave = os.openpty()
    path = os.ttyname(slave)
    os.close(slave)  # the transport opens it again by path, like a device node
    yield master, path
    try:
        os.close(master)
    except OSError:
        pass  # the test already unplugged it


def test_a_pty_carries_bytes_both_ways_and_closes_without_leaks(pty_pair):
    master, path = pty_pair

    async def exchange():
        port = SerialTransport.open(path)
        try:
            port.write(b"\x06\x20\x13\x5a\x88\x7e")
            assert _master_read(master, 6) == b"\x06\x20\x13\x5a\x88\x7e"
            os.write(master, b"hello board")
            assert await _read_exactly(port, 11) == b"hello board"
        finally:
            await port.close()
        assert port.closed
        with pytest.raises(PortError, match="closed"):
            port.write(b"x")

    asyncio.run(exchange())


def test_a_second_controller_on_the_same_port_is_refused(pty_pair):
    _, path = pty_pair

    async def twice():
        first = SerialTransport.open(path)
        try:
            with pytest.raises(PortError, match="busy") as caught:
                SerialTransport.open(path)
            assert "another massagectl" in caught.value.hint
        finally:
            await first.close()

    asyncio.run(twice())


def test_an_unplugged_pty_reports_the_port_vanished(pty_pair):
    master, path = pty_pair

    async def unplug():
        port = SerialTransport.open(path)
        try:
            pending = asyncio.ensure_future(port.read())
            await asyncio.sleep(0.01)
            os.close(master)
            with pytest.raises(PortError, match="vanished"):
                await asyncio.wait_for(pending, 2.0)
        finally:
            await port.close()

    asyncio.run(unplug())


def test_an_unknown_port_is_named_with_what_to_do():
    with pytest.raises(PortError) as caught:
        SerialTransport.open("/dev/serial/by-id/usb-no-such-chair")
    assert str(caught.value).startswith("serial port /dev/serial/by-id/usb-no-such-chair does not")
    assert "massagectl doctor" in caught.value.hint
    with pytest.raises(PortError, match="cannot open serial port nosuch://x"):
        SerialTransport.open("nosuch://x")


def test_loop_url_echoes_without_a_file_descriptor():
    async def echo():
        port = SerialTransport.open("loop://")
        try:
            port.write(b"\x05\x36\xb4\x6f\x7e")
            assert await _read_exactly(port, 5) == b"\x05\x36\xb4\x6f\x7e"
        finally:
            await port.close()

    asyncio.run(echo())


def test_socket_url_reaches_a_serial_server():
    async def over_tcp():
        received = asyncio.Queue()

        async def serve(reader, writer):
            await received.put(await reader.readexactly(3))
            writer.write(b"ack")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        host, port_number = server.sockets[0].getsockname()[:2]
        port = SerialTransport.open(f"socket://{host}:{port_number}")
        try:
            port.write(b"abc")
            assert await asyncio.wait_for(received.get(), 2.0) == b"abc"
            assert await _read_exactly(port, 3) == b"ack"
            with pytest.raises(PortError, match="vanished"):
                await asyncio.wait_for(port.read(), 2.0)  # the server hung up
        finally:
            await port.close()
            server.close()
            await server.wait_closed()

    asyncio.run(over_tcp())


def test_nothing_listening_at_a_socket_url_says_so():
    with pytest.raises(PortError, match="nothing accepts connections"):
        SerialTransport.open("socket://127.0.0.1:1")


def test_memory_pair_paces_bytes_at_the_baud_rate(run_virtual_time):
    async def paced():
        host, board = memory_pair(baud=115200)
        loop = asyncio.get_running_loop()
        start_s = loop.time()
        host.write(bytes(1152))  # 0.1 s of line time at 10 bits per byte
        host.write(bytes(576))  # queues behind the first write
        assert len(await board.read()) == 1152
        first_s = loop.time() - start_s
        assert len(await board.read()) == 576
        second_s = loop.time() - start_s
        await host.close()
        with pytest.raises(PortError, match="vanished"):
            await board.read()
        await board.close()
        return first_s, second_s

    first_s, second_s = run_virtual_time(paced())
    assert first_s == pytest.approx(0.1)
    assert second_s == pytest.approx(0.15)


def test_a_memory_end_can_hand_bytes_over_as_they_arrive_and_go_back_to_read(run_virtual_time):
    async def pushed():
        host, board = memory_pair(baud=115200)
        loop = asyncio.get_running_loop()
        arrivals = []
        host.write(b"early")
        await asyncio.sleep(0.01)  # arrived, waiting for a reader
        board.push_to(lambda data: arrivals.append((round(loop.time(), 6), data)))
        host.write(bytes(1152))  # 0.1 s of line time
        await asyncio.sleep(0.2)
        board.push_to(None)
        host.write(b"later")
        later = await board.read()
        gone = []
        board.push_to(arrivals.append, gone.append)
        await host.close()  # the cable is pulled
        await board.close()
        return arrivals, later, gone

    arrivals, later, gone = run_virtual_time(pushed())
    assert arrivals == [(0.01, b"early"), (0.11, bytes(1152))]  # paced as before
    assert later == b"later"
    [error] = gone
    assert str(error).startswith("serial port memory:board vanished (the other end was closed)")


def test_manipulator_is_deterministic_and_keeps_byte_order(run_virtual_time):
    async def damaged(seed: int, faults: ByteFaults) -> tuple[bytes, object]:
        host, board = memory_pair()
        faulty = FaultyTransport(host, outgoing=faults, seed=seed)
        for _start in range(0, 10_000, 100):
            faulty.write(bytes(range(100)))
        await asyncio.sleep(1.0)
        data = await board.read()
        await faulty.close()
        await board.close()
        return data, faulty.counts

    faults = ByteFaults(drop=0.01, corrupt=0.01, duplicate=0.01, split=0.5)
    first, counts = run_virtual_time(damaged(7, faults))
    again, _ = run_virtual_time(damaged(7, faults))
    assert first == again
    assert 50 < counts.dropped < 150 and 50 < counts.corrupted < 150
    assert 50 < counts.duplicated < 150 and counts.splits > 20

    delayed, counts = run_virtual_time(damaged(1, ByteFaults(delay_probability=0.2, delay_s=0.01)))
    assert delayed == bytes(range(100)) * 100 and counts.delays > 0


def test_manipulator_damages_what_is_read_too(run_virtual_time):
    async def incoming():
        host, board = memory_pair()
        faulty = FaultyTransport(host, incoming=ByteFaults(drop=1.0))
        board.write(b"lost")
        reading = asyncio.ensure_future(faulty.read())
        await asyncio.sleep(0.01)  # the read took "lost" and dropped every byte
        faulty.incoming = ByteFaults()  # switched off from the test
        board.write(b"kept")
        data = await reading
        await faulty.close()
        await board.close()
        return data, faulty.counts.dropped

    assert run_virtual_time(incoming()) == (b"kept", 4)
