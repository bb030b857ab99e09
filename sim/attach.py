"""Connect a simulated board to a byte transport through the board's end of the protocol.

    attached = AttachedBoard(board, transport)   # any firmware_bridge Transport: a memory pair
    attached.start()                             # end, the master side of a pty
    ...
    await attached.aclose()                      # or: async with AttachedBoard(...) as attached

Bytes from the host go through firmware_bridge.device_protocol.DeviceProtocol: acks and naks go
back at once, every valid host frame feeds the board's watchdog, each host message is handed to
the board, and a block with a bad payload is reported as FaultReport(BAD_MESSAGE). The board's
messages go out as REPORT blocks. A board driver (sim.driver) keeps the board on the loop's clock.

The board's device faults reach the line too: with UNPLUG on, nothing crosses in either
direction (not even acks), as with a pulled cable; after a RESET the protocol endpoint restarts
with the board (expected sequence 0). Closing the transport is its owner's business.
"""

from __future__ import annotations

import asyncio
import logging

from massagectl.firmware_bridge.events import NEED_DATA, BadMessage, FrameError, HostFrame
from massagectl.firmware_bridge.transport import Transport
from massagectl.routines.errors import PortError
from massagectl.sim.board import SimBoard
from massagectl.sim.board_protocol import SimDeviceProtocol
from massagectl.sim.driver import BoardDriver

log = logging.getLogger(__name__)


class AttachedBoard:
    """A board, its protocol endpoint and its driver, reading from one transport."""

    def __init__(
        self, board: SimBoard, transport: Transport, loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        self.board = board
        self.transport = transport
        self.protocol = SimDeviceProtocol(board.faults)
        self.driver = BoardDriver(board, loop)
        self.frame_errors = 0
        self._outgoing: list[object] = []
        self._flush_handle: asyncio.Handle | None = None
        self._boots_seen = board.boots
        self._reader: asyncio.Task | None = None
        board.emit = self._emit
        self.driver.after_turn = self._flush_pending

    def start(self) -> None:
        self.driver.start()
        if self.transport.push_to(self._pushed):
            # The bytes reach the board as they arrive, as a UART's receive interrupt hands them
            # to firmware, without a reader task woken for every write. A host end that goes
            # away is silence: the watchdog trips.
            return
        self._reader = self.driver.loop.create_task(
            self._read_forever(), name=f"simulated {self.board.name}: reading the line"
        )

    async def aclose(self) -> None:
        self.transport.push_to(None)
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None
        self.driver.close()
        self._flush_pending()  # what the board said last still goes out
        self.board.emit = None

    async def __aenter__(self) -> AttachedBoard:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _read_forever(self) -> None:
        while True:
            try:
                data = await self.transport.read()
            except PortError:
                return  # the host's end is gone: the board hears silence and its watchdog trips
            self.receive(data)

    def _pushed(self, data: bytes) -> None:
        try:
            self.receive(data)
        except Exception:
            # Firmware that crashed hears nothing more: the watchdog trips and the host sees the
            # board shut down, as it would if the reading task had died.
            log.exception("simulated %s crashed handling host bytes", self.board.name)
            self.transport.push_to(None)

    def receive(self, data: bytes) -> None:
        """Bytes arrived from the host."""
        if self.board.faults.unplugged:
            return  # they never reach the board
        self._follow_restart()
        protocol = self.protocol
        protocol.receive_data(data)
        self._write(protocol.data_to_send())  # acks and naks first, as the firmware sends them
        driver = self.driver
        with driver.turn():
            while (event := protocol.next_event()) is not NEED_DATA:
                if isinstance(event, HostFrame):
                    driver.frame_received()
                elif isinstance(event, BadMessage):
                    driver.report_bad_message(event.reason)
                elif isinstance(event, FrameError):
                    self.frame_errors += 1  # the protocol has sent its nak; nothing else to do
                else:
                    driver.deliver(event)

    def _emit(self, message: object) -> None:
        # What the board says in one go (a sample's reports, a status after a stop) leaves as
        # one write, packed into as few blocks as fit, once the board has finished this turn:
        # at the driver's end of turn, or (when the board was driven some other way) on the
        # loop's next round.
        self._outgoing.append(message)
        if self._flush_handle is None and not self.driver.in_turn:
            self._flush_handle = self.driver.loop.call_soon(self._flush)

    def _flush_pending(self) -> None:
        """Write what the board said now, rather than on the loop's next round."""
        if self._outgoing:
            if self._flush_handle is not None:
                self._flush_handle.cancel()
            self._flush()

    def _flush(self) -> None:
        self._flush_handle = None
        messages, self._outgoing = self._outgoing, []
        self._follow_restart()
        self._write(self.protocol.send_all(messages))

    def _follow_restart(self) -> None:
        if self.board.boots != self._boots_seen:
            self._boots_seen = self.board.boots
            self.protocol.power_on()

    def _write(self, data: bytes) -> None:
        if not data or self.board.faults.unplugged or self.transport.closed:
            return
        try:
            self.transport.write(data)
        except PortError:
            pass  # the host's end is gone; the reader notices and stops
