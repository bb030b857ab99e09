"""One channel's queue on the board: pending segments and the one running.

A segment runs from its planned start clock until its duration ends or the next segment of the
channel starts, whichever is first. One that arrives after its start clock starts at once, but keeps
the plan's timeline: its formula's tau counts from the planned start, so the part already past is
skipped (the board slews the output to it from where it was: sim.board); one that has already
ended leaves the channel in its safe state. With no segment running,
the channel is in its safe state (hardware.md, section 4.10): a level channel returns to its safe
default, a position-like drive stops.
"""

from __future__ import annotations

import bisect

from massagectl.sim.segments import QueuedSegment


class ChannelSchedule:
    """The queue of one channel; `running` is None where the channel must be in its safe state."""

    __slots__ = ("pending", "running")

    def __init__(self) -> None:
        self.pending: list[QueuedSegment] = []  # in planned start order
        self.running: QueuedSegment | None = None

    def add(self, segment: QueuedSegment, now_ticks: int) -> bool:
        """Queue a segment; True if it was late and started at once."""
        if segment.planned_ticks < now_ticks:
            # It ends the running one; one that has already ended has no present to run.
            ended = segment.planned_ticks + segment.duration_ticks <= now_ticks
            self.running = None if ended else segment
            return True
        # After equal starts, so of two segments for the same instant the later-sent one wins.
        place = bisect.bisect_right(self.pending, segment.planned_ticks, key=_planned)
        self.pending.insert(place, segment)
        return False

    def next_boundary(self) -> int | None:
        """The next tick at which this channel's output changes segment or state."""
        running = self.running
        if self.pending:
            start = self.pending[0].planned_ticks
            if running is None:
                return start
            return min(start, running.planned_ticks + running.duration_ticks)
        if running is not None:
            return running.planned_ticks + running.duration_ticks
        return None

    def advance_to(self, ticks: int, started: list[tuple[QueuedSegment, int]]) -> None:
        """Cross every boundary up to `ticks` in time order; segments that start go to `started`."""
        while True:
            boundary = self.next_boundary()
            if boundary is None or boundary > ticks:
                return
            if self.pending and self.pending[0].planned_ticks == boundary:
                self.running = self.pending.pop(0)
                started.append((self.running, boundary))
            else:
                self.running = None  # ended, nothing follows at once: safe

    @property
    def queued(self) -> int:
        """Queue entries in use: pending segments and the running one (hardware.md counts both)."""
        return len(self.pending) + (self.running is not None)

    def clear(self) -> list[QueuedSegment]:
        """Forget everything; returns the pending segments that never ran."""
        never_ran = self.pending
        self.pending = []
        self.running = None
        return never_ran


def _planned(segment: QueuedSegment) -> int:
    return segment.planned_ticks
