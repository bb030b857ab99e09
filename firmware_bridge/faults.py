"""Fault injection at the transport seam: a wrapper that damages bytes in flight.

    faulty = FaultyTransport(inner, outgoing=ByteFaults(drop=0.01, corrupt=0.01), seed=7)
    faulty.incoming = ByteFaults(duplicate=0.01)     # switch faults at any time from a test

Per byte: dropped, replaced by a different value, or sent twice, each with its probability.
Per write or read: split in two at a random point, or held back for `delay_s` (with
`delay_probability`); a delay keeps the order of bytes, as a slow line does. The RNG is seeded,
so a failing run repeats exactly. The code under test is unchanged: it only sees a worse line.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from dataclasses import dataclass

from massagectl.firmware_bridge.transport import Transport


@dataclass(frozen=True)
class ByteFaults:
    drop: float = 0.0
    corrupt: float = 0.0
    duplicate: float = 0.0
    split: float = 0.0
    delay_probability: float = 0.0
    delay_s: float = 0.0

    @property
    def touches_bytes(self) -> bool:
        return bool(self.drop or self.corrupt or self.duplicate)


NO_FAULTS = ByteFaults()


@dataclass
class FaultCounts:
    dropped: int = 0
    corrupted: int = 0
    duplicated: int = 0
    splits: int = 0
    delays: int = 0


def damage_bytes(
    data: bytes, faults: ByteFaults, rng: random.Random, counts: FaultCounts
) -> bytes:
    """The bytes after drop, corrupt and duplicate faults (also usable without a transport)."""
    if not faults.touches_bytes:
        return data
    out = bytearray()
    for byte in data:
        if rng.random() < faults.drop:
            counts.dropped += 1
            continue
        if rng.random() < faults.corrupt:
            byte ^= rng.randrange(1, 256)
            counts.corrupted += 1
        out.append(byte)
        if rng.random() < faults.duplicate:
            out.append(byte)
            counts.duplicated += 1
    return bytes(out)


class FaultyTransport(Transport):
    """Wraps `inner`; `outgoing` damages what is written, `incoming` what is read."""

    def __init__(
        self,
        inner: Transport,
        *,
        outgoing: ByteFaults = NO_FAULTS,
        incoming: ByteFaults = NO_FAULTS,
        seed: int = 0,
    ) -> None:
        self.inner = inner
        self.name = f"faulty:{inner.name}"
        self.outgoing = outgoing
        self.incoming = incoming
        self.counts = FaultCounts()
        self._rng = random.Random(seed)
        self._held: deque[bytes] = deque()  # delayed writes, in order
        self._release: asyncio.TimerHandle | None = None
        self._read_rest = b""

    @property
    def closed(self) -> bool:
        return self.inner.closed

    def damage(self, data: bytes, faults: ByteFaults) -> bytes:
        return damage_bytes(data, faults, self._rng, self.counts)

    def _split(self, data: bytes, faults: ByteFaults) -> list[bytes]:
        if len(data) > 1 and self._rng.random() < faults.split:
            self.counts.splits += 1
            cut = self._rng.randrange(1, len(data))
            return [data[:cut], data[cut:]]
        return [data]

    def write(self, data: bytes) -> None:
        faults = self.outgoing
        data = self.damage(data, faults)
        if not data:
            return
        if self._held or (faults.delay_s and self._rng.random() < faults.delay_probability):
            if not self._held:
                self.counts.delays += 1
                loop = asyncio.get_running_loop()
                self._release = loop.call_later(faults.delay_s, self._release_held)
            self._held.append(data)
            return
        for part in self._split(data, faults):
            self.inner.write(part)

    def _release_held(self) -> None:
        self._release = None
        while self._held:
            data = self._held.popleft()
            if self.inner.closed:
                continue
            for part in self._split(data, self.outgoing):
                self.inner.write(part)

    async def read(self) -> bytes:
        while True:
            if self._read_rest:
                data, self._read_rest = self._read_rest, b""
                return data
            data = await self.inner.read()
            faults = self.incoming  # read after the wait: a test may have switched it meanwhile
            data = self.damage(data, faults)
            if not data:
                continue
            if faults.delay_s and self._rng.random() < faults.delay_probability:
                self.counts.delays += 1
                await asyncio.sleep(faults.delay_s)
            first, *rest = self._split(data, faults)
            self._read_rest = b"".join(rest)
            return first

    async def close(self) -> None:
        if self._release is not None:
            self._release.cancel()
            self._release = None
        self._held.clear()
        await self.inner.close()
