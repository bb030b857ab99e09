"""A simulated board behind a pseudo-terminal, so a host opens it like any serial port.

    async with PtyBoard(load_device("chair")) as pty_board:
        print(pty_board.port_path)      # /dev/pts/N: give it to the host (pyserial opens it)
        pty_board.tap(to_board=..., to_host=...)  # watch the line (benchmarks)
        await asyncio.Event().wait()    # runs until cancelled

The host opens the pty's slave path with pyserial, so the real serial path is exercised; the
board works the master side. A pty ignores the baud rate (11,520 bytes cross it in well under a
millisecond), so the bytes cross a paced in-memory line in between (firmware_bridge's
memory_pair at `baud`, 10 bits per byte): what the host writes reaches the board when its last
bit would have on a real line, and the board's bytes leave for the host at line speed. Latency
and throughput over the pty then mean what they would on a real cable. The slave stays open on
the board's side, so a host may close the port and open it again (meanwhile the board hears
silence and its watchdog trips).
"""

from __future__ import annotations

import asyncio
import errno
import os
import tty
from collections.abc import Callable

from massagectl.firmware_bridge.memory_transport import MemoryTransport, memory_pair
from massagectl.routines.device import DeviceProfile
from massagectl.routines.errors import PortError
from massagectl.sim.attach import AttachedBoard
from massagectl.sim.board import SimBoard

DEFAULT_BAUD = 115200
READ_CHUNK_BYTES = 4096
# Bytes the host has not read are held for it up to this much (a UART driver's buffer); beyond
# that they are lost, as on a real line that nobody reads.
MAX_UNREAD_BYTES = 64 * 1024
# The paced line hands a write to the board when its last byte is due. A UART hands each byte
# over as it arrives, and the kernel joins what the host wrote into one read: a STOP followed by
# two display rows would wait for the rows (4.7 ms at 115200 baud). Pieces this small keep that
# wait under one piece's line time (0.7 ms), at a timer per piece.
LINE_PIECE_BYTES = 8


class PtyBoard:
    """A simulated board for `profile` on a fresh pty, running on the current event loop."""

    def __init__(self, profile: DeviceProfile, *, baud: int = DEFAULT_BAUD,
                 **board_options) -> None:
        self.profile = profile
        self.baud = baud
        self.board_options = board_options
        self.board: SimBoard | None = None
        self.port_path = ""
        self.bytes_lost = 0  # written for the host while it was not reading
        self._master_fd = self._slave_fd = -1
        self._line_end: MemoryTransport | None = None
        self._board_end: MemoryTransport | None = None
        self._attached: AttachedBoard | None = None
        self._to_host: asyncio.Task | None = None
        self._unread = bytearray()
        self._taps_to_board: list[Callable[[bytes, float], None]] = []
        self._taps_to_host: list[Callable[[bytes], None]] = []

    @property
    def driver(self):
        """The board's driver (its remote's keys, device faults), while the pty is open."""
        return None if self._attached is None else self._attached.driver

    def tap(self, *, to_board: Callable[[bytes, float], None] | None = None,
            to_host: Callable[[bytes], None] | None = None) -> None:
        """Watch the line without changing it: `to_board(data, arrives_s)` with the bytes the
        host wrote as they enter the paced line (`arrives_s`: the loop time at which their last
        byte reaches the board), `to_host(data)` with the board's bytes as they are handed to
        the pty for the host."""
        if to_board is not None:
            self._taps_to_board.append(to_board)
        if to_host is not None:
            self._taps_to_host.append(to_host)

    async def __aenter__(self) -> PtyBoard:
        loop = asyncio.get_running_loop()
        self._master_fd, self._slave_fd = os.openpty()
        tty.setraw(self._slave_fd)  # bytes pass untouched: no echo, no line editing, no CR/LF
        os.set_blocking(self._master_fd, False)
        self.port_path = os.ttyname(self._slave_fd)
        line_end, self._board_end = memory_pair(
            baud=self.baud, names=(self.port_path, f"simulated board on {self.port_path}")
        )
        self._line_end = line_end
        self.board = SimBoard(self.profile, now_s=loop.time(), **self.board_options)
        self._attached = AttachedBoard(self.board, self._board_end)
        self._attached.start()
        loop.add_reader(self._master_fd, self._from_host, line_end)
        self._to_host = loop.create_task(self._pump_to_host(line_end),
                                         name=f"{self.port_path}: to host")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        loop = asyncio.get_running_loop()
        loop.remove_reader(self._master_fd)
        if self._to_host is not None:
            self._to_host.cancel()
            await asyncio.gather(self._to_host, return_exceptions=True)
        if self._attached is not None:
            await self._attached.aclose()
        for end in (self._line_end, self._board_end):
            if end is not None:
                await end.close()
        os.close(self._master_fd)
        os.close(self._slave_fd)

    def _from_host(self, line_end: MemoryTransport) -> None:
        try:
            data = os.read(self._master_fd, READ_CHUNK_BYTES)
        except BlockingIOError:
            return
        except OSError as error:
            if error.errno == errno.EIO:
                return  # nobody has the port open
            raise
        try:
            for start in range(0, len(data), LINE_PIECE_BYTES):  # paced: at line speed
                piece = data[start:start + LINE_PIECE_BYTES]
                line_end.write(piece)
                for tap in self._taps_to_board:
                    tap(piece, line_end.line_free_at_s)
        except PortError:
            pass  # closing down

    async def _pump_to_host(self, line_end: MemoryTransport) -> None:
        while True:
            try:
                data = await line_end.read()
            except PortError:
                return
            for tap in self._taps_to_host:
                tap(data)
            self._unread += data
            self._flush()

    def _flush(self) -> None:
        try:
            written = os.write(self._master_fd, self._unread)
        except BlockingIOError:
            written = 0
        del self._unread[:written]
        if len(self._unread) > MAX_UNREAD_BYTES:
            self.bytes_lost += len(self._unread)
            self._unread.clear()
