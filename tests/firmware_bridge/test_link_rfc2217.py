"""The link over rfc2217:// (a serial port shared on the network by an RFC 2217 server, e.g.
ser2net or pyserial's server on a small computer next to the chair), in real time."""

from __future__ import annotations

import asyncio
import select
import socket
import threading

import pytest
import serial
import serial.rfc2217

from massagectl.firmware_bridge import messages as m
from massagectl.firmware_bridge.link import Link
from massagectl.routines.device import load_device
from tests.firmware_bridge.fake_board import FakeBoard
from tests.firmware_bridge.pty_master import PtyMaster

PAD = load_device("pad")
SELECT_TIMEOUT_S = 0.02  # how soon the server thread notices it should stop


class PtyAsAdapter:
    """A pty has no modem lines (their ioctls fail); a USB adapter reports CTS, DSR and CD up
    and takes RTS and DTR. This stands in for that; everything else goes to the pty."""

    cts = dsr = cd = True
    ri = False
    LINES = ("rts", "dtr", "break_condition")

    def __init__(self, port: serial.SerialBase) -> None:
        object.__setattr__(self, "port", port)

    def __getattr__(self, name: str):
        return getattr(self.port, name)

    def __setattr__(self, name: str, value) -> None:
        if name not in self.LINES:
            setattr(self.port, name, value)


class Rfc2217Server:
    """A one-client RFC 2217 server on loopback for a serial port (here a pty's slave end),
    run in a thread as it would run on another machine."""

    def __init__(self, serial_path: str) -> None:
        self.serial = serial.serial_for_url(serial_path, timeout=0)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"rfc2217://127.0.0.1:{self.listener.getsockname()[1]}"
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="rfc2217 server", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self.listener.close()
        self.serial.close()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            ready, _, _ = select.select([self.listener], [], [], SELECT_TIMEOUT_S)
            if ready:
                connection, _ = self.listener.accept()
                with connection:
                    self._bridge(connection)
                return

    def _bridge(self, connection: socket.socket) -> None:
        class Writer:  # the connection object PortManager answers the client through
            write = connection.sendall

        manager = serial.rfc2217.PortManager(PtyAsAdapter(self.serial), Writer())
        while not self._stopping.is_set():
            ready, _, _ = select.select([connection, self.serial.fileno()], [], [],
                                        SELECT_TIMEOUT_S)
            if connection in ready:
                data = connection.recv(4096)
                if not data:
                    return  # the client closed the port
                self.serial.write(b"".join(manager.filter(data)))
            if self.serial.fileno() in ready:
                data = self.serial.read(self.serial.in_waiting or 1)
                if data:
                    connection.sendall(b"".join(manager.escape(data)))


# pyserial's rfc2217 client still names its thread the old way.
@pytest.mark.filterwarnings("ignore:set(Daemon|Name)\\(\\) is deprecated:DeprecationWarning")
def test_a_session_over_rfc2217():
    async def session():
        pty = PtyMaster()
        board = FakeBoard(pty, PAD)
        server = Rfc2217Server(pty.path)
        link = None
        try:
            link = await Link.open(server.url, PAD)  # handshake and safe start across the server
            assert link.identity.info.channel_count == len(PAD.channels)
            loop = asyncio.get_running_loop()
            start = link.clock.clock_at(loop.time() + 0.3)
            sent = [m.ScheduleSegment(1, start + n * 50_000, 50_000, 10.0, 20.0) for n in range(5)]
            for segment in sent:
                await link.schedule(segment)
            await link.drain()
            assert board.received == sent  # every segment once, in order
            link.send_immediate(m.Stop())
            for _ in range(200):  # bounded polling: the loopback round trip is milliseconds
                if board.state is m.DeviceState.SHUTDOWN:
                    break
                await asyncio.sleep(0.005)
            assert board.state is m.DeviceState.SHUTDOWN and board.queue == []
        finally:
            if link is not None:
                await link.close()
            await board.close()
            server.close()

    asyncio.run(session())
