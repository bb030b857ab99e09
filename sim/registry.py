"""Every simulated board alive in this process, and whether any was left with an output on.

Boards register themselves. The registry holds them weakly, so it never keeps a board alive; each
board's small `BoardHealth` (its commanded outputs, updated in place, and whether a driver is
running it) outlives the board when the board was dropped while not safe, so a test fixture can
still tell that a test walked away from a chair with its heat on.
"""

from __future__ import annotations

import itertools
import weakref
from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class BoardHealth:
    """What a board's safety looks like from outside, without a reference to the board."""

    name: str
    outputs: list[float | None]  # the board's commanded outputs (the same list, kept current)
    safe_outputs: list[float | None]  # the safe state of each output
    driven: bool = False  # a driver is advancing the board on an event loop
    collected: bool = False
    serial: int = field(default=0)

    def outputs_safe(self) -> bool:
        return self.outputs == self.safe_outputs

    def problems(self) -> list[str]:
        found = []
        if not self.outputs_safe():
            unsafe = [i for i, (a, b) in enumerate(zip(self.outputs, self.safe_outputs)) if a != b]
            found.append(f"board {self.name!r} left with outputs not safe (channels {unsafe})")
        if self.driven:
            found.append(f"board {self.name!r} left running on an event loop")
        return found


_serials = itertools.count(1)
_boards: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
_healths: dict[int, BoardHealth] = {}


def register(board: Any, health: BoardHealth) -> None:
    health.serial = next(_serials)
    _boards[health.serial] = board
    _healths[health.serial] = health
    weakref.finalize(board, _collected, health)


def _collected(health: BoardHealth) -> None:
    health.collected = True
    if not health.problems():
        _healths.pop(health.serial, None)


def live_boards() -> list[Any]:
    """Boards still referenced somewhere, oldest first."""
    return [_boards[serial] for serial in sorted(_boards.keys())]


def mark() -> int:
    """A point in time: boards registered later have a larger serial."""
    return next(_serials)


def healths_since(serial: int) -> list[BoardHealth]:
    """Health of every board registered after `mark()` returned `serial`, alive or not."""
    return [health for key, health in sorted(_healths.items()) if key > serial]


def forget_since(serial: int) -> None:
    """Drop the records of boards registered after `serial` (a test's teardown)."""
    for key in [key for key in _healths if key > serial]:
        del _healths[key]
