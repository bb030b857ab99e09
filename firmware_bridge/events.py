"""Protocol-level events the sans-IO endpoints return besides the messages themselves.

`next_event()` on either endpoint returns a message dataclass (firmware_bridge.messages), one of
these events, or NEED_DATA. Bad bytes from the wire never raise; they arrive here as FrameError
(bytes dropped while resynchronising) or BadMessage (a well-framed block whose payload did not
parse; none of its messages was acted on).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from massagectl.firmware_bridge.wire import BlockKind


class _NeedData(Enum):
    NEED_DATA = "NEED_DATA"

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA = _NeedData.NEED_DATA
"""No complete event yet: feed more bytes with receive_data()."""


@dataclass(frozen=True, slots=True)
class FrameError:
    """A run of bytes that did not form a valid block, dropped while resynchronising."""

    reason: str
    discarded: bytes


@dataclass(frozen=True, slots=True)
class BadMessage:
    """A block with a good CRC whose payload broke the message rules; nothing in it was used."""

    reason: str
    kind: BlockKind
    payload: bytes


class Disposition(Enum):
    """What the board did with a valid host block."""

    ACCEPTED = "accepted"  # in order (or immediate): its messages follow as events
    DUPLICATE = "duplicate"  # an already accepted block again: re-acked, not executed
    OUT_OF_ORDER = "out_of_order"  # a block after a gap: dropped, nak sent (once per gap)


@dataclass(frozen=True, slots=True)
class HostFrame:
    """A valid host block reached the board. Every one feeds the board's watchdog."""

    kind: BlockKind
    sequence: int
    disposition: Disposition
