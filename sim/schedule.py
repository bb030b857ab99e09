"""One channel's queue on the board: pending segments, the running one, and the hold after it.

A segment starts at its planned clock, or on arrival if that clock has passed (it is then late);
it runs until its duration ends or the next segment of the channel starts, whichever is first.
When a segment ends with nothing after it, the channel holds the segment's last value for up to
`hold_limit_ticks` (the channel's max_duration_s), then returns to its safe state on its own.
Position-like channels have no value to hold: their drive stops where it is (hold limit 0).
"""

from __future__ import annotations

import bisect

from sim.segments import QueuedSegment


class ChannelSchedule:
    """The queue of one channel; `value_at` is None where the channel must be in its safe state."""

    def __init__(self, hold_limit_ticks: int) -> None:
        self.hold_limit_ticks = hold_limit_ticks
        self.pending: list[QueuedSegment] = []  # in planned start order
        self.running: QueuedSegment | None = None
        self.executed_ticks = 0  # when the running segment began
        self.hold_value: float | None = None
        self.hold_until_ticks = 0

    def add(self, segment: QueuedSegment, now_ticks: int) -> int | None:
        """Queue a segment; a late one starts at once. Returns its execution tick if it started."""
        if segment.planned_ticks < now_ticks:
            self._start(segment, now_ticks)
            return now_ticks
        # After equal starts, so of two segments for the same instant the later-sent one wins.
        place = bisect.bisect_right(self.pending, segment.planned_ticks, key=_planned)
        self.pending.insert(place, segment)
        return None

    def next_boundary(self) -> int | None:
        """The next tick at which this channel's output changes segment or state."""
        candidates = []
        if self.pending:
            candidates.append(self.pending[0].planned_ticks)
        if self.running is not None:
            candidates.append(self.executed_ticks + self.running.duration_ticks)
        elif self.hold_value is not None:
            candidates.append(self.hold_until_ticks)
        return min(candidates) if candidates else None

    def advance_to(self, ticks: int, started: list[tuple[QueuedSegment, int]]) -> None:
        """Cross every boundary up to `ticks` in time order; segments that start go to `started`."""
        while True:
            boundary = self.next_boundary()
            if boundary is None or boundary > ticks:
                return
            if self.pending and self.pending[0].planned_ticks == boundary:
                segment = self.pending.pop(0)
                self._start(segment, boundary)
                started.append((segment, boundary))
            elif self.running is not None:
                self._finish(boundary)
            else:
                self.hold_value = None

    def value_at(self, ticks: int) -> float | None:
        if self.running is not None:
            return self.running.value_at(self.executed_ticks, ticks)
        return self.hold_value

    @property
    def covered(self) -> bool:
        return self.running is not None

    def clear(self) -> list[QueuedSegment]:
        """Forget everything; returns the pending segments that never ran."""
        never_ran = self.pending
        self.pending = []
        self.running = None
        self.hold_value = None
        return never_ran

    def _start(self, segment: QueuedSegment, ticks: int) -> None:
        self.running = segment
        self.executed_ticks = ticks
        self.hold_value = None

    def _finish(self, end_ticks: int) -> None:
        running = self.running
        assert running is not None
        self.running = None
        if self.hold_limit_ticks > 0:
            self.hold_value = running.value_at(self.executed_ticks, end_ticks)
            self.hold_until_ticks = end_ticks + self.hold_limit_ticks


def _planned(segment: QueuedSegment) -> int:
    return segment.planned_ticks
