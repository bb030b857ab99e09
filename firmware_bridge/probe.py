"""A bare host for checking a board against hardware.md: blocks written exactly as asked.

    async with Probe(transport) as probe:
        await probe.sync()                        # Heartbeat until a ClockReport: sequence, clock
        mark = probe.mark()
        probe.data(Identify())                    # DATA at the next sequence (or any `sequence=`)
        probe.write(damaged_bytes)                # anything at all
        found = await probe.wait_for(mark, lambda a, x: isinstance(x, DeviceInfo), 0.5)
        probe.feed(False)                         # stop feeding the board's watchdog

Unlike the link, the probe keeps no window and retransmits nothing: it writes what a check
asks, keeps every block the board sends with its arrival time (loop.time()), and lets the check
judge. It feeds the board's watchdog with a KeepAlive every FEED_PERIOD_S until told not to.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from massagectl.firmware_bridge import messages as m
from massagectl.firmware_bridge.codec import (
    DEVICE_IDS,
    PayloadError,
    decode_messages,
    encode_message,
)
from massagectl.firmware_bridge.framing import Block, BlockDecoder, encode_block
from massagectl.firmware_bridge.transport import Transport
from massagectl.firmware_bridge.wire import (
    DEVICE_BLOCK_KINDS,
    SEQUENCE_MODULUS,
    UINT32_MAX,
    BlockKind,
)
from massagectl.routines.errors import PortError

FEED_PERIOD_S = 0.05  # as the link feeds it (hardware.md 4.9)
SYNC_RETRY_S = 0.25
SYNC_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Arrival:
    """One block from the board: when it arrived, the block, and its messages (none for an
    ack or a NAK, or for a payload that broke the rules: `bad_payload`)."""

    host_s: float
    block: Block
    messages: tuple
    bad_payload: bool = False


Predicate = Callable[[Arrival, object], bool]
M = TypeVar("M")  # a message class


class Probe:
    """See the module docstring."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self._loop = asyncio.get_running_loop()
        self._decoder = BlockDecoder(DEVICE_BLOCK_KINDS)
        self.arrivals: list[Arrival] = []
        self.sequence = 0  # the sequence the next data() uses
        self.clock_hz = 1_000_000
        self._clock_sample: tuple[float, int] | None = None  # (host_s, board clock)
        self._changed = asyncio.Event()
        self._reader: asyncio.Task | None = None
        self._feeder: asyncio.TimerHandle | None = None

    async def __aenter__(self) -> Probe:
        if not self.transport.push_to(self._received):
            self._reader = self._loop.create_task(self._read_forever(), name="probe reader")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.feed(False)
        self.transport.push_to(None)
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)

    # --- receiving ---------------------------------------------------------------------------

    async def _read_forever(self) -> None:
        while True:
            try:
                data = await self.transport.read()
            except PortError:
                return
            self._received(data)

    def _received(self, data: bytes) -> None:
        now_s = self._loop.time()
        self._decoder.feed(data)
        while (item := self._decoder.next_item()) is not None:
            if not isinstance(item, Block):
                continue  # damaged bytes from the board: a check sees only what it can read
            found: tuple = ()
            bad = False
            if item.kind is BlockKind.REPORT:
                try:
                    found = tuple(decode_messages(item.payload, DEVICE_IDS))
                except PayloadError:
                    bad = True
            self.arrivals.append(Arrival(now_s, item, found, bad))
        self._changed.set()

    def mark(self) -> int:
        """A point in the arrivals: later waits look only at what came after it."""
        return len(self.arrivals)

    @overload
    def since(self, mark: int) -> list[tuple[Arrival, object]]: ...
    @overload
    def since(self, mark: int, kind: type[M]) -> list[tuple[Arrival, M]]: ...
    def since(self, mark: int, kind: type | None = None) -> list[tuple[Arrival, Any]]:
        """Every message (or, with `kind=None`, every block as (arrival, None) followed by its
        messages) that arrived after `mark`."""
        found: list[tuple[Arrival, Any]] = []
        for arrival in self.arrivals[mark:]:
            if kind is None:
                found.append((arrival, None))
            found.extend((arrival, x) for x in arrival.messages
                         if kind is None or isinstance(x, kind))
        return found

    async def wait_for(self, mark: int, predicate: Predicate,
                       timeout_s: float) -> tuple[Arrival, object] | None:
        """The first block or message after `mark` that `predicate(arrival, message)` accepts
        (message None: the block itself), or None after `timeout_s`."""
        deadline_s = self._loop.time() + timeout_s
        checked = mark
        while True:
            for arrival in self.arrivals[checked:]:
                for message in (None, *arrival.messages):
                    if predicate(arrival, message):
                        return arrival, message
            checked = len(self.arrivals)
            remaining_s = deadline_s - self._loop.time()
            if remaining_s <= 0:
                return None
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining_s)

    async def wait_arrival(self, mark: int, kind: type[M], timeout_s: float,
                           where: Callable[[M], bool] = lambda message: True,
                           ) -> tuple[Arrival, M] | None:
        """The first message of `kind` after `mark` for which `where` holds, with the arrival
        of its block, or None."""
        found = await self.wait_for(
            mark, lambda a, x: isinstance(x, kind) and where(x), timeout_s)
        if found is None or not isinstance(found[1], kind):
            return None
        return found[0], found[1]

    async def wait_message(self, mark: int, kind: type[M], timeout_s: float,
                           where: Callable[[M], bool] = lambda message: True) -> M | None:
        """The first message of `kind` after `mark` for which `where` holds, or None."""
        found = await self.wait_arrival(mark, kind, timeout_s, where)
        return None if found is None else found[1]

    # --- sending -----------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        self.transport.write(data)

    def immediate(self, *messages: object) -> None:
        self.write(encode_block(BlockKind.IMMEDIATE, 0,
                                b"".join(encode_message(x) for x in messages)))

    def data(self, *messages: object, sequence: int | None = None) -> bytes:
        """A DATA block at `sequence` (default: the next one, which then moves on); returns the
        bytes written, so a check can send the very same block again."""
        use = self.sequence if sequence is None else sequence % SEQUENCE_MODULUS
        block = encode_block(BlockKind.DATA, use, b"".join(encode_message(x) for x in messages))
        if sequence is None:
            self.sequence = (self.sequence + 1) % SEQUENCE_MODULUS
        self.write(block)
        return block

    def feed(self, on: bool) -> None:
        """Feed the board's watchdog with a KeepAlive every FEED_PERIOD_S (or stop)."""
        if self._feeder is not None:
            self._feeder.cancel()
            self._feeder = None
        if on:
            self._feed_once()

    def _feed_once(self) -> None:
        try:
            self.immediate(m.KeepAlive())
        except PortError:
            self._feeder = None
            return
        self._feeder = self._loop.call_later(FEED_PERIOD_S, self._feed_once)

    # --- the board's sequence and clock ------------------------------------------------------

    async def sync(self) -> bool:
        """Heartbeat until a REPORT with a ClockReport arrives; adopt its sequence nibble and
        take a clock sample. False if none came within SYNC_TIMEOUT_S."""
        deadline_s = self._loop.time() + SYNC_TIMEOUT_S
        while self._loop.time() < deadline_s:
            if await self.sample_clock(SYNC_RETRY_S):
                return True
        return False

    async def sample_clock(self, timeout_s: float = 0.25) -> bool:
        mark = self.mark()
        sent_s = self._loop.time()
        self.immediate(m.Heartbeat())
        found = await self.wait_for(mark, lambda a, x: isinstance(x, m.ClockReport), timeout_s)
        if found is None:
            return False
        arrival, report = found
        assert isinstance(report, m.ClockReport)
        self.sequence = arrival.block.sequence
        self._clock_sample = ((sent_s + arrival.host_s) / 2, report.clock)
        return True

    def board_clock(self, in_s: float = 0.0) -> int:
        """The board's clock `in_s` from now (32 bits), from the latest sample."""
        if self._clock_sample is None:
            raise RuntimeError("sync() first")
        host_s, clock = self._clock_sample
        ticks = round((self._loop.time() + in_s - host_s) * self.clock_hz)
        return (clock + ticks) & UINT32_MAX
