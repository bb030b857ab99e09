"""What the board has been told to do: the segments sent to it, on the board's own timeline.

The supervisor is fed the segments as they are sent (`ScheduleSegment`, absolute device clock),
not the plan: what it checks and watches is then exactly what reaches the board, whatever the
session did with pauses, anchors or intensity. Times here are board seconds: the device clock,
unwrapped past its 32-bit wrap, divided by clock_hz. They never mix with host or plan seconds.

`commanded` is what the board runs (hardware.md 4.10, sim/schedule.py): when a segment ends and
none follows, a channel with a safe default returns to it at once, and a position-like channel
stays where it stopped. The detectors compare readings with that, so a vent that stays shut
after the last segment is found within seconds. The segment guard's budgets (segment_guard.py)
assume the worst instead: a board holding the last value for up to max_duration_s.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from massagectl.firmware_bridge.clock_wrap import ClockUnwrapper
from massagectl.routines.device import ChannelKind, DeviceProfile
from massagectl.safety.segment_math import lower_bound, upper_bound, value_range_between

# Segments that ended longer ago than this are forgotten (the last one of a channel is kept).
HISTORY_S = 2.0


class BoardClock:
    """Turns 32-bit device clocks into board seconds, unwrapping against the latest seen
    (firmware_bridge.clock_wrap)."""

    def __init__(self, clock_hz: int) -> None:
        if clock_hz <= 0:
            raise ValueError("clock_hz must be positive")
        self.clock_hz = clock_hz
        self._unwrapper = ClockUnwrapper()

    def seconds(self, clock: int) -> float:
        return self._unwrapper.ticks(clock) / self.clock_hz


@dataclass(frozen=True, slots=True)
class Sent:
    """One segment as the board runs it, in board seconds (formula: routines.plan)."""

    start_s: float
    duration_s: float
    start_value: float
    end_value: float
    amplitude: float = 0.0
    period_s: float = 0.0

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s

    @property
    def upper(self) -> float:
        return float(upper_bound(self.start_value, self.end_value, self.amplitude))

    @property
    def lower(self) -> float:
        return float(lower_bound(self.start_value, self.end_value, self.amplitude))

    def value_at(self, t_s: float) -> float:
        """The segment formula of routines.plan.segment_values, at a time clamped into the
        span; written out for one float because the detectors call it for every reading
        (numpy's per-call overhead would triple the supervisor's cost per sample)."""
        # min(max(t - start, 0), duration), spelt out: the same float, without two calls.
        tau = t_s - self.start_s
        if tau < 0.0:
            tau = 0.0
        if self.duration_s < tau:
            tau = self.duration_s
        centre = self.start_value + (self.end_value - self.start_value) * tau / self.duration_s
        if self.period_s <= 0:
            return centre
        return centre + self.amplitude * math.sin(2 * math.pi * tau / self.period_s)

    def range_between(self, t0_s: float, t1_s: float) -> tuple[float, float]:
        """Lowest and highest value between t0 and t1 (inside the span), swing included."""
        low, high = value_range_between(self.start_s, self.duration_s, self.start_value,
                                        self.end_value, self.amplitude, t0_s, t1_s)
        return float(low), float(high)


class CommittedSchedule:
    """Per channel, the segments the board holds, in time order."""

    def __init__(self, device: DeviceProfile) -> None:
        self.device = device
        self.sent: list[deque[Sent]] = [deque() for _ in device.channels]
        # A position-like channel's value before its first remaining segment (None: unknown).
        self.held: list[float | None] = [None for _ in device.channels]
        positions = [i for i, c in enumerate(device.channels) if c.kind is ChannelKind.POSITION]
        self.position_index = positions[0] if positions else None
        # Per channel, the last two answers of `commanded` that came from a running segment, as
        # (from_s, until_s, segment): for any time in from_s..until_s that segment is the answer.
        # The detectors ask about every reading and a second before it; both stay inside the
        # same segments for many readings, so most questions skip the walk along the queue.
        self._hints: list[list[tuple[float, float, Sent]]] = [[] for _ in device.channels]
        # Counts the changes that can change an answer of `commanded` (segments added, dropped
        # or cleared, a held position): an answer worked out at an equal version still holds.
        self.version = 0

    def add(self, index: int, segment: Sent) -> None:
        # Appended after every segment a hint was found behind, so no hint changes.
        self.sent[index].append(segment)
        self.version += 1

    def last(self, index: int) -> Sent | None:
        queue = self.sent[index]
        return queue[-1] if queue else None

    def clear(self) -> None:
        """The board cleared its queue (a STOP): drives stop where they are."""
        for index, queue in enumerate(self.sent):
            if queue and self.device.channels[index].safe_default is None:
                self.held[index] = None  # stopped somewhere along the way; telemetry tells
            queue.clear()
            self._hints[index].clear()
        self.version += 1

    def prune(self, now_s: float) -> None:
        forget_before_s = now_s - HISTORY_S  # asked for every report: worked out once
        for index, queue in enumerate(self.sent):
            while len(queue) > 1 and queue[0].end_s < forget_before_s:
                dropped = queue.popleft()
                self.held[index] = dropped.value_at(dropped.end_s)
                hints = self._hints[index]
                hints[:] = [hint for hint in hints if hint[2] is not dropped]
                self.version += 1

    def observe_position(self, index: int, measured: float) -> None:
        """A drive with nothing scheduled stays where the sensor says it is."""
        if not self.sent[index] and self.held[index] != measured:
            self.held[index] = measured
            self.version += 1

    def commanded(self, index: int, t_s: float) -> float | None:
        """The set point the board runs at `t_s` (None: safe state, or a drive stopped)."""
        for from_s, until_s, segment in self._hints[index]:
            if from_s <= t_s < until_s:
                return segment.value_at(t_s)
        channel = self.device.channels[index]
        previous = None
        ended_s = -math.inf  # the latest end of the segments walked past
        for segment in self.sent[index]:
            if segment.start_s > t_s:
                break
            previous = segment
            if t_s < segment.end_s:
                self._remember(index, max(segment.start_s, ended_s), segment)
                return segment.value_at(t_s)
            ended_s = max(ended_s, segment.end_s)
        if channel.safe_default is not None:
            return None  # nothing running: the board keeps the channel safe (hardware.md 4.10)
        if previous is None:
            return self.held[index]
        return previous.value_at(previous.end_s)  # a drive stays where it stopped

    def _remember(self, index: int, from_s: float, segment: Sent) -> None:
        # From `from_s` on, every segment before this one in the queue has ended (and started),
        # so the walk would stop at this one until it ends.
        hints = self._hints[index]
        if len(hints) == 2:
            hints.pop(0)
        hints.append((from_s, segment.end_s, segment))

    def position_range(self, t0_s: float, t1_s: float) -> tuple[float, float]:
        """Lowest and highest carriage position between t0 and t1 (NaN: unknown)."""
        index = self.position_index
        if index is None:
            return math.nan, math.nan
        low, high = math.inf, -math.inf
        held = self.held[index]
        cursor = t0_s
        for segment in self.sent[index]:
            if segment.end_s <= t0_s:
                held = segment.value_at(segment.end_s)
                continue
            if segment.start_s >= t1_s:
                break
            if segment.start_s > cursor:
                if held is None:
                    return math.nan, math.nan
                low, high = min(low, held), max(high, held)
            a, b = max(t0_s, segment.start_s), min(t1_s, segment.end_s)
            seg_low, seg_high = segment.range_between(a, b)
            low, high = min(low, seg_low), max(high, seg_high)
            cursor = b
            held = segment.value_at(segment.end_s)
        if cursor < t1_s:
            if held is None:
                return math.nan, math.nan
            low, high = min(low, held), max(high, held)
        return low, high
