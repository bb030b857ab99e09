"""Connecting to a board: a real serial port, or the built-in simulator when no port is given.

    async with connect(device, port=None) as connection:     # the simulator, in-process
        connection.link, connection.simulator
    async with connect(device, port="/dev/ttyUSB0") as connection:
        ...

The simulator is the embedded default: a simulated board behind an in-memory line paced at the
baud rate, on the same event loop, so a session runs the same code path as with a chair (codec,
acks, clock sync, telemetry) and follows the loop's clock (real, sped up, or virtual).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from massagectl.firmware_bridge.link import Link
from massagectl.firmware_bridge.memory_transport import MemoryTransport, memory_pair
from massagectl.firmware_bridge.serial_transport import DEFAULT_BAUD
from massagectl.routines.device import DeviceProfile
from massagectl.routines.user import DEFAULT_USER
from massagectl.sim.attach import AttachedBoard
from massagectl.sim.board import SimBoard
from massagectl.sim.driver import BoardDriver
from massagectl.sim.physics.occupant import Occupant


@dataclass
class Connection:
    link: Link
    simulator: SimBoard | None = None  # the simulated board, when there is no real one
    # Drives the simulated board on the loop's clock: its remote's keys and device faults.
    simulator_driver: BoardDriver | None = None

    @property
    def name(self) -> str:
        return "built-in simulator" if self.simulator is not None else self.link.name


@asynccontextmanager
async def connect(
    device: DeviceProfile,
    port: str | None = None,
    *,
    baud: int = DEFAULT_BAUD,
    occupant: Occupant | None = None,
    seed: int = 0,
    board_trace_samples: bool = True,
) -> AsyncIterator[Connection]:
    """Open the link (handshake included); on exit the board is stopped and the port closed.
    The built-in simulator's own trace keeps per-sample rows only with `board_trace_samples`."""
    if port is not None:
        link = await Link.open(port, device, baud=baud)
        try:
            yield Connection(link)
        finally:
            await link.close()
        return
    loop = asyncio.get_running_loop()
    host_end, board_end = memory_pair(baud=baud)
    occupant = occupant or Occupant(DEFAULT_USER.shoulder_height_mm, DEFAULT_USER.back_length_mm)
    board = SimBoard(device, now_s=loop.time(), occupant=occupant, seed=seed,
                     trace_samples=board_trace_samples)
    attached = AttachedBoard(board, board_end)
    attached.start()
    try:
        link = await Link.open(host_end, device, baud=baud)
        try:
            yield Connection(link, board, attached.driver)
        finally:
            await link.close()
    finally:
        await attached.aclose()
        await board_end.close()
        await host_end.close()


class BuiltInBoard:
    """The built-in simulator for a resident service: one simulated board that outlives its
    links, so the service can lose the line to it and open it again (a new in-memory line each
    time), as it would with a chair's USB cable.

        board = BuiltInBoard(device)
        link = await board.open_link()       # what ReconnectLogic calls
        board.driver.press(RemoteKey.OK)     # its remote's keys, device faults
        await board.aclose()
    """

    def __init__(self, device: DeviceProfile, *, baud: int = DEFAULT_BAUD,
                 occupant: Occupant | None = None, seed: int = 0,
                 serial: int | str = 1) -> None:
        loop = asyncio.get_running_loop()
        self.device = device
        self.baud = baud
        occupant = occupant or Occupant(DEFAULT_USER.shoulder_height_mm,
                                        DEFAULT_USER.back_length_mm)
        # Several simulated chairs on one broker or machine are told apart by their serial.
        # The service records each session's trace itself; the board's own record is only
        # for looking back a little, and must not grow while the service runs for days.
        self.board = SimBoard(device, now_s=loop.time(), occupant=occupant, seed=seed,
                              trace_samples=False, bounded_trace=True, serial=serial)
        self._attached: AttachedBoard | None = None
        self._board_end: MemoryTransport | None = None

    @property
    def driver(self) -> BoardDriver | None:
        return None if self._attached is None else self._attached.driver

    async def open_link(self) -> Link:
        await self.close_line()
        host_end, board_end = memory_pair(baud=self.baud)
        self._attached = AttachedBoard(self.board, board_end)
        self._board_end = board_end
        self._attached.start()
        try:
            return await Link.open(host_end, self.device, baud=self.baud)
        except BaseException:
            await self.close_line()
            raise

    async def close_line(self) -> None:
        """Take the line away (the board keeps running on its own clock until `aclose`)."""
        attached, self._attached = self._attached, None
        if attached is not None:
            await attached.aclose()
        board_end, self._board_end = self._board_end, None
        if board_end is not None:
            await board_end.close()

    async def aclose(self) -> None:
        await self.close_line()
