"""pyserial ports (device paths, ptys, socket://, rfc2217://, loop://) on the asyncio loop.

Ports with a file descriptor (device paths, ptys, socket://) are watched by the event loop's
selector: no thread. Ports without one (loop://, rfc2217://) are polled every POLL_INTERVAL_S.
Writes go straight to the file descriptor, so `write()` has handed the bytes to the kernel when
it returns (the STOP path relies on it); the rare remainder of a full kernel buffer is written
when the port becomes writable again.
"""

from __future__ import annotations

import asyncio
import errno
import os

import serial
from serial.urlhandler import protocol_socket

from massagectl.firmware_bridge.transport import Transport, closed_error, vanished
from massagectl.routines.errors import PortError

DEFAULT_BAUD = 115200
READ_CHUNK_BYTES = 4096
# Ports without a file descriptor are polled; 2 ms is under a fifth of one 64-byte block's
# time on the line at 115200 baud, and costs little CPU.
POLL_INTERVAL_S = 0.002
PORT_HINT = "`massagectl doctor` lists the serial ports it finds"


def _file_descriptor(port: serial.SerialBase) -> int | None:
    fileno = getattr(port, "fileno", None)
    if fileno is not None:
        try:
            return fileno()
        except (OSError, serial.SerialException, AttributeError):
            pass
    # socket:// keeps its socket here and reads it only when asked. (rfc2217:// has one too,
    # but its own thread reads it: the selector would race that thread, so it is polled.)
    sock = getattr(port, "_socket", None)
    if sock is not None and isinstance(port, protocol_socket.Serial):
        return sock.fileno()
    return None


def _wake(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


def port_error(url: str, error: Exception) -> PortError:
    """A pyserial failure to open `url`, as a PortError that says what to do."""
    code = getattr(error, "errno", None)
    text = str(error)
    if code in (errno.EAGAIN, errno.EWOULDBLOCK) or "exclusively lock" in text:
        return PortError(
            f"serial port {url} is busy",
            "another program holds it, probably another massagectl controller; stop it first",
        )
    if code == errno.ENOENT or "No such file" in text:
        return PortError(f"serial port {url} does not exist",
                         f"check the cable and the path; {PORT_HINT}")
    if code == errno.EACCES:
        return PortError(f"no permission to open serial port {url}",
                         "add your user to the 'dialout' group, then log in again")
    if code == errno.ECONNREFUSED or "refused" in text:
        return PortError(f"nothing accepts connections at {url}",
                         "start the serial server (ser2net) or the simulator first")
    return PortError(f"cannot open serial port {url}: {text}", PORT_HINT)


class SerialTransport(Transport):
    """See the module docstring. Open with `SerialTransport.open(url, baud=115200)`."""

    def __init__(self, port: serial.Serial, name: str) -> None:
        self.name = name
        self._port = port
        self._fd = _file_descriptor(port)
        self._backlog = bytearray()
        self._writer_registered = False
        self._closed = False
        self._vanished: str | None = None
        self._read_waiter: asyncio.Future | None = None

    @classmethod
    def open(cls, url: str, *, baud: int = DEFAULT_BAUD) -> SerialTransport:
        """Open `url` at `baud` 8N1, no flow control, exclusive where the platform allows."""
        try:
            port = serial.serial_for_url(
                url, baudrate=baud, bytesize=serial.EIGHTBITS, parity=serial.PARITY_NONE,
                stopbits=serial.STOPBITS_ONE, xonxoff=False, rtscts=False, dsrdtr=False,
                timeout=0, write_timeout=None, exclusive=True,
            )
        except (serial.SerialException, OSError, ValueError) as error:
            raise port_error(url, error) from None
        return cls(port, url)

    @property
    def closed(self) -> bool:
        return self._closed or self._vanished is not None

    def _check_open(self) -> None:
        if self._closed:
            raise closed_error(self.name)
        if self._vanished is not None:
            raise vanished(self.name, self._vanished)

    def _read_now(self) -> bytes:
        """What the port holds now. Asks `in_waiting` first where there is no file descriptor:
        with a zero timeout, an rfc2217:// port's read() hands over a single byte per call."""
        port = self._port
        try:
            if self._fd is not None:
                return port.read(READ_CHUNK_BYTES)
            data = bytearray()
            while len(data) < READ_CHUNK_BYTES and (waiting := port.in_waiting):
                chunk = port.read(min(waiting, READ_CHUNK_BYTES - len(data)))
                if not chunk:
                    break
                data += chunk
            return bytes(data)
        except (serial.SerialException, OSError) as error:
            self._vanished = _in_plain_words(error)
            raise vanished(self.name, self._vanished) from None

    async def read(self) -> bytes:
        self._check_open()
        if self._fd is None:
            while not (data := self._read_now()):
                await asyncio.sleep(POLL_INTERVAL_S)
                self._check_open()
            return data
        loop = asyncio.get_running_loop()
        while True:
            ready = self._read_waiter = loop.create_future()
            loop.add_reader(self._fd, _wake, ready)
            try:
                await ready
            finally:
                self._read_waiter = None
                if not self._closed:
                    loop.remove_reader(self._fd)
            self._check_open()
            data = self._read_now()
            if data:
                return data

    def write(self, data: bytes) -> None:
        self._check_open()
        if not data:
            return
        if self._backlog:
            self._backlog += data  # keep the order of bytes behind what is still waiting
            return
        written = self._write_now(data)
        if written < len(data):
            self._backlog += data[written:]
            self._register_writer()

    def _write_now(self, data: bytes) -> int:
        if self._fd is None:
            return self._port.write(data) or 0
        try:
            return os.write(self._fd, data)
        except BlockingIOError:
            return 0
        except OSError as error:
            self._vanished = error.strerror or str(error)
            raise vanished(self.name, self._vanished) from None

    def _register_writer(self) -> None:
        if self._writer_registered or self._fd is None:
            return
        asyncio.get_running_loop().add_writer(self._fd, self._flush_backlog)
        self._writer_registered = True

    def _flush_backlog(self) -> None:
        try:
            written = self._write_now(bytes(self._backlog))
        except PortError:
            written = len(self._backlog)  # the port is gone; nothing more to write
        del self._backlog[:written]
        if not self._backlog and self._fd is not None:  # a writer is registered only on an fd
            asyncio.get_running_loop().remove_writer(self._fd)
            self._writer_registered = False

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        # A reader or a writer is registered only on a port with a file descriptor.
        if self._read_waiter is not None and self._fd is not None:
            asyncio.get_running_loop().remove_reader(self._fd)
            _wake(self._read_waiter)  # the pending read() then reports the port closed
        if self._writer_registered and self._fd is not None:
            asyncio.get_running_loop().remove_writer(self._fd)
            self._writer_registered = False
        try:
            self._port.close()
        except (serial.SerialException, OSError):
            pass  # a vanished port cannot be closed cleanly; its fd is released anyway


def _in_plain_words(error: Exception) -> str:
    """Why a port went away, in a person's words rather than pyserial's."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    # pyserial's words for a read that finds the device gone (an unplugged USB adapter).
    if "returned no data" in str(error):
        return "the device disconnected"
    return str(error)
