"""Blocks on the byte stream: encode one, and find them again in bytes that may be damaged.

    offset  0        1          2 .. n-4    n-3      n-2      n-1
          +--------+----------+-----------+--------+--------+------+
          | length | kind|seq | payload   | crc hi | crc lo | 0x7E |
          +--------+----------+-----------+--------+--------+------+
    length = n, the whole block (5..64); crc = CRC-16/CCITT-FALSE over bytes 0 .. n-4.

Recovery (the decoder never raises on wire bytes):
- a length outside 5..64, a block kind this side does not accept, a missing sync byte or a CRC
  mismatch: drop one byte and look again at the next offset;
- a block that would end beyond the bytes received so far: wait for more bytes, unless a
  complete valid block already starts further on (the earlier bytes were a block cut short by a
  lost byte; waiting would delay the good block behind it, which may be a STOP);
- dropped bytes are reported as one FrameError per run, when the next good block is found or
  when the run reaches MAX_BLOCK_BYTES (so memory stays bounded on a noisy line).
"""

from __future__ import annotations

from dataclasses import dataclass

from massagectl.firmware_bridge.crc import crc16
from massagectl.firmware_bridge.events import FrameError
from massagectl.firmware_bridge.wire import (
    MAX_BLOCK_BYTES,
    MAX_PAYLOAD_BYTES,
    MIN_BLOCK_BYTES,
    SYNC_BYTE,
    BlockKind,
    control_byte,
)


@dataclass(frozen=True, slots=True)
class Block:
    kind: BlockKind
    sequence: int
    payload: bytes


def encode_block(kind: BlockKind, sequence: int, payload: bytes) -> bytes:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    head = bytes((len(payload) + MIN_BLOCK_BYTES, control_byte(kind, sequence))) + payload
    crc = crc16(head)
    return head + bytes((crc >> 8, crc & 0xFF, SYNC_BYTE))


_IMMEDIATE, _NAK = int(BlockKind.IMMEDIATE), int(BlockKind.NAK)  # plain ints: checked per byte
_OK = "ok"
_INCOMPLETE = "incomplete"


class BlockDecoder:
    """Bytes in (`feed`), blocks and frame errors out (`next_item`). See the module docstring."""

    def __init__(self, accepted_kinds: frozenset[BlockKind]) -> None:
        self._accepted_kinds = frozenset(int(kind) for kind in accepted_kinds)
        self._kind_of = {int(kind): kind for kind in accepted_kinds}  # cheaper than BlockKind()
        self._buffer = bytearray()
        self._position = 0
        self._junk = bytearray()
        self._junk_reason = ""
        self.error_runs = 0  # runs of dropped bytes begun so far (the board naks on a new one)
        self.blocks = 0

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        if self._position:
            del self._buffer[: self._position]
            self._position = 0
        self._buffer += data

    def clear(self) -> None:
        self._buffer.clear()
        self._position = 0
        self._junk.clear()

    def flush_junk(self) -> FrameError | None:
        """Report the dropped bytes held back so far (the line went quiet after garbage)."""
        if not self._junk:
            return None
        error = FrameError(self._junk_reason, bytes(self._junk))
        self._junk.clear()
        return error

    def next_item(self) -> Block | FrameError | None:
        """The next block or frame error, or None when more bytes are needed."""
        buffer = self._buffer
        while self._position < len(buffer):
            verdict = self._check(self._position)
            if verdict is _OK:
                if self._junk:
                    return self.flush_junk()  # the block stays; it comes on the next call
                start = self._position
                length = buffer[start]
                self._position = start + length
                self.blocks += 1
                return Block(
                    self._kind_of[buffer[start + 1] >> 4],
                    buffer[start + 1] & 0x0F,
                    bytes(buffer[start + 2 : start + length - 3]),
                )
            if verdict is _INCOMPLETE:
                later = self._complete_block_after(self._position)
                if later is None:
                    return None
                error = self._discard(later - self._position, "block cut short")
            else:
                error = self._discard(1, verdict)
            if error is not None:
                return error
        return None

    def _discard(self, count: int, reason: str) -> FrameError | None:
        if not self._junk:
            self.error_runs += 1
            self._junk_reason = reason
        start = self._position
        self._junk += self._buffer[start : start + count]
        self._position = start + count
        if len(self._junk) >= MAX_BLOCK_BYTES:
            return self.flush_junk()
        return None

    def _complete_block_after(self, start: int) -> int | None:
        for offset in range(start + 1, len(self._buffer) - MIN_BLOCK_BYTES + 1):
            if self._check(offset) is _OK:
                return offset
        return None

    def _check(self, start: int) -> str:
        """_OK, _INCOMPLETE, or the reason the bytes at `start` are not a block."""
        buffer = self._buffer
        available = len(buffer) - start
        length = buffer[start]
        if not MIN_BLOCK_BYTES <= length <= MAX_BLOCK_BYTES:
            return "bad length"
        if available >= 2:
            control = buffer[start + 1]
            kind = control >> 4
            if kind not in self._accepted_kinds:
                return "unexpected block kind"
            if kind == _IMMEDIATE and control & 0x0F:
                return "immediate block with a sequence number"
            if kind == _NAK and length != MIN_BLOCK_BYTES:
                return "nak with a payload"
        if available < length:
            return _INCOMPLETE
        end = start + length
        if buffer[end - 1] != SYNC_BYTE:
            return "no sync byte"
        if crc16(buffer[start : end - 3]) != (buffer[end - 3] << 8) | buffer[end - 2]:
            return "crc mismatch"
        return _OK
