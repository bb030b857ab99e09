"""An in-memory pair of transports (a null-modem cable), optionally paced at a baud rate.

With `baud` set, each direction is a line that carries one byte per 10 bit times (start, 8 data,
stop): bytes written while the line is busy queue behind the earlier ones, and a write arrives
at the other end when its last byte would have. On the virtual-time loop (sim/virtual_loop.py)
latency and throughput figures therefore mean what they would on a real 115200 baud line.
Closing one end is an unplugged cable: the other end's read() reports the port vanished.
An end may instead push bytes to a receiver as they arrive (`push_to`), as a UART's receive
interrupt does; an in-process session then needs no reader task waking for every write.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from massagectl.firmware_bridge.transport import Transport, closed_error, vanished
from massagectl.routines.errors import PortError

BITS_PER_BYTE = 10  # 8N1: start bit, 8 data bits, stop bit


def byte_time_s(baud: int) -> float:
    return BITS_PER_BYTE / baud


class MemoryTransport(Transport):
    """One end of `memory_pair()`."""

    def __init__(self, name: str, baud: int | None) -> None:
        self.name = name
        self.baud = baud
        self.peer: MemoryTransport | None = None
        self._buffer = bytearray()
        self._waiter: asyncio.Future | None = None
        self._line_free_at_s = 0.0
        self._in_flight: deque[asyncio.TimerHandle] = deque()  # due in order: the line is FIFO
        self._closed = False
        self._peer_gone = False
        self._receiver: Callable[[bytes], None] | None = None
        self._on_gone: Callable[[PortError], None] | None = None

    @property
    def line_free_at_s(self) -> float:
        """Loop time at which the last byte written so far arrives at the other end (paced)."""
        return self._line_free_at_s

    @property
    def closed(self) -> bool:
        return self._closed or self._peer_gone

    async def read(self) -> bytes:
        while not self._buffer:
            if self._closed:
                raise closed_error(self.name)
            if self._peer_gone:
                raise vanished(self.name, "the other end was closed")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        data = bytes(self._buffer)
        self._buffer.clear()
        return data

    def write(self, data: bytes) -> None:
        if self._closed:
            raise closed_error(self.name)
        if self._peer_gone:
            raise vanished(self.name, "the other end was closed")
        if not data:
            return
        peer = self.peer
        if peer is None:  # an end made on its own, not by memory_pair()
            raise vanished(self.name, "it has no other end")
        if self.baud is None:
            if peer._receiver is not None:
                # Pushed bytes are handled on the loop's next round, never inside the writer's
                # own call (the two ends would otherwise run into each other's code).
                asyncio.get_running_loop().call_soon(peer._deliver_unpaced, bytes(data))
            else:
                peer._arrive(bytes(data))
            return
        loop = asyncio.get_running_loop()
        start_s = max(loop.time(), self._line_free_at_s)
        self._line_free_at_s = start_s + len(data) * byte_time_s(self.baud)
        handle = loop.call_at(self._line_free_at_s, self._deliver, peer, bytes(data))
        self._in_flight.append(handle)

    def _deliver_unpaced(self, data: bytes) -> None:
        if not self._closed and not self._peer_gone:
            self._arrive(data)

    def _deliver(self, peer: MemoryTransport, data: bytes) -> None:
        self._in_flight.popleft()
        if not self._closed and not self._peer_gone:
            peer._arrive(data)

    def push_to(self, receiver, on_gone=None) -> bool:
        """See Transport.push_to: bytes reach `receiver` the moment they arrive, as a UART's
        receive interrupt hands them over (bytes already waiting go at once)."""
        self._receiver = receiver
        self._on_gone = on_gone if receiver is not None else None
        if receiver is not None and self._buffer:
            data = bytes(self._buffer)
            self._buffer.clear()
            receiver(data)
        if self._on_gone is not None and self._peer_gone and not self._closed:
            self._on_gone(vanished(self.name, "the other end was closed"))
        return True

    def _arrive(self, data: bytes) -> None:
        if self._receiver is not None:
            self._receiver(data)
            return
        self._buffer += data
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _hang_up(self) -> None:
        self._peer_gone = True
        self._cancel_in_flight()
        self._wake()
        if self._on_gone is not None and not self._closed:
            self._on_gone(vanished(self.name, "the other end was closed"))

    def _cancel_in_flight(self) -> None:
        for handle in self._in_flight:
            handle.cancel()
        self._in_flight.clear()

    def close_now(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._cancel_in_flight()
        self._wake()
        if self.peer is not None:
            self.peer._hang_up()

    async def close(self) -> None:
        self.close_now()


def memory_pair(
    *, baud: int | None = None, names: tuple[str, str] = ("memory:host", "memory:board")
) -> tuple[MemoryTransport, MemoryTransport]:
    """Two connected ends: what one writes, the other reads."""
    host, board = MemoryTransport(names[0], baud), MemoryTransport(names[1], baud)
    host.peer, board.peer = board, host
    return host, board
