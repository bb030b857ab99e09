"""Plans: what a compiled routine asks of each channel, as parametric segments in plan seconds.

Every segment follows one formula over its span `0 <= tau < duration_s`:

    value(tau) = start_value + (end_value - start_value) * tau / duration_s
                 + amplitude * sin(2 * pi * tau / period_s)

so a hold is `start_value == end_value` with no amplitude, a ramp has no amplitude, and an
oscillation swings around a (possibly ramping) centre. The board evaluates the same formula, so a
plan, its wire form and the simulator's trace can be compared value for value.

Invariants of a plan (checked by `Plan.problems`):
- a channel either has no segments (it stays at its safe default) or its segments cover
  `[0, duration_s]` without gap or overlap;
- no segment is longer than its channel's `max_duration_s`, because the board returns a channel
  that no segment refreshes for that long to its safe default;
- segments of one channel follow each other in time;
- and, checked in routines.plan_checks: every value lies within the channel's hard range at
  every instant; consecutive segments of a channel meet in value (no jumps); no segment changes
  faster than the channel's `max_rate_per_s`; a level channel (one with a safe default) starts
  and ends the plan at its safe default, so a finished plan leaves nothing on.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from massagectl.routines.device import DeviceProfile

SEGMENT_DTYPE = np.dtype(
    [
        ("channel", np.int16),  # index into DeviceProfile.channels
        ("start_s", np.float64),  # plan seconds
        ("duration_s", np.float64),
        ("start_value", np.float64),  # in the channel's unit
        ("end_value", np.float64),
        ("amplitude", np.float64),
        ("period_s", np.float64),  # 0 when amplitude is 0
        ("step", np.int32),  # index into Plan.steps; -1 for filler the compiler added
    ]
)

# Plan times are floats; boundaries that should meet may differ by rounding. One microsecond is
# far below the board's scheduling resolution and far above float error for any session length.
TIME_EPSILON_S = 1e-6


class SegmentKind(StrEnum):
    HOLD = "hold"
    RAMP = "ramp"
    OSCILLATE = "oscillate"


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment of one channel; see the module docstring for its formula."""

    channel: str
    start_s: float
    duration_s: float
    start_value: float
    end_value: float
    amplitude: float = 0.0
    period_s: float = 0.0
    step: int = -1

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s

    @property
    def kind(self) -> SegmentKind:
        if self.amplitude != 0.0:
            return SegmentKind.OSCILLATE
        if self.start_value != self.end_value:
            return SegmentKind.RAMP
        return SegmentKind.HOLD

    @property
    def upper_bound(self) -> float:
        """No value over the span exceeds this (exact for holds and ramps)."""
        return max(self.start_value, self.end_value) + abs(self.amplitude)

    @property
    def lower_bound(self) -> float:
        return min(self.start_value, self.end_value) - abs(self.amplitude)

    def value_at(self, t_s: float) -> float:
        """Value at plan time `t_s`, which must lie within the segment."""
        return float(segment_values(self.start_s, self.duration_s, self.start_value,
                                    self.end_value, self.amplitude, self.period_s, t_s))


def segment_values(start_s, duration_s, start_value, end_value, amplitude, period_s, t_s):
    """The segment formula, vectorised: every argument may be a numpy array of one shape."""
    tau = np.asarray(t_s, dtype=np.float64) - start_s
    fraction = np.divide(tau, duration_s, out=np.zeros_like(tau), where=duration_s > 0)
    centre = start_value + (end_value - start_value) * fraction
    safe_period = np.where(period_s > 0, period_s, 1.0)
    swing = np.where(period_s > 0, amplitude * np.sin(2 * math.pi * tau / safe_period), 0.0)
    return centre + swing


def segment_table(segments: list[Segment], device: DeviceProfile) -> np.ndarray:
    """Pack segments into a sorted, read-only structured array."""
    table = np.empty(len(segments), dtype=SEGMENT_DTYPE)
    for row, segment in enumerate(segments):
        table[row] = (
            device.channel_index(segment.channel),
            segment.start_s,
            segment.duration_s,
            segment.start_value,
            segment.end_value,
            segment.amplitude,
            segment.period_s,
            segment.step,
        )
    return freeze_table(table)


def freeze_table(table: np.ndarray) -> np.ndarray:
    """Sort by start time then channel, and make the array read-only."""
    order = np.lexsort((table["channel"], table["start_s"]))
    table = np.ascontiguousarray(table[order])
    table.flags.writeable = False
    return table


@dataclass(frozen=True, eq=False)
class Plan:
    """A routine compiled for one device and one user."""

    routine: str
    device: DeviceProfile
    duration_s: float
    table: np.ndarray  # SEGMENT_DTYPE rows, sorted by (start_s, channel), read-only
    steps: tuple[str, ...] = ()  # human label per step index, e.g. "steps[2] (knead)"
    # What the compiler could not honour exactly (a depth on a device without depth control, a
    # position beyond the track's reach, a skipped optional zone), one line each.
    notes: tuple[str, ...] = ()
    # Intensity level (1..5) the values of intensity-scaled channels correspond to.
    intensity: int = 5

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Plan):
            return NotImplemented
        return (
            self.routine == other.routine
            and self.device == other.device
            and self.duration_s == other.duration_s
            and self.steps == other.steps
            and self.notes == other.notes
            and self.intensity == other.intensity
            and np.array_equal(self.table, other.table)
        )

    # Unhashable, as equal plans compare their tables; typeshed declares __hash__ a method.
    __hash__ = None  # type: ignore[assignment]

    def __len__(self) -> int:
        return len(self.table)

    def segments(self) -> Iterator[Segment]:
        """All segments in start order (ties by channel index)."""
        channels = self.device.channels
        for row in self.table:
            yield Segment(
                channel=channels[int(row["channel"])].id,
                start_s=float(row["start_s"]),
                duration_s=float(row["duration_s"]),
                start_value=float(row["start_value"]),
                end_value=float(row["end_value"]),
                amplitude=float(row["amplitude"]),
                period_s=float(row["period_s"]),
                step=int(row["step"]),
            )

    def channel_table(self, channel_id: str) -> np.ndarray:
        """Rows of one channel, in time order."""
        index = self.device.channel_index(channel_id)
        return self.table[self.table["channel"] == index]

    def used_channels(self) -> list[str]:
        indices = sorted(set(int(i) for i in self.table["channel"]))
        return [self.device.channels[i].id for i in indices]

    def step_label(self, step: int) -> str:
        if 0 <= step < len(self.steps):
            return self.steps[step]
        return "(compiler filler)"

    def render(self, rate_hz: float, channels: list[str] | None = None):
        """Sample the plan: returns `(times_s, {channel_id: values})`.

        A channel is at its safe default where no segment covers it; a position-like channel
        holds its last value there (NaN before its first segment).
        """
        if rate_hz <= 0:
            raise ValueError("rate_hz must be positive")
        times_s = np.arange(0.0, self.duration_s, 1.0 / rate_hz)
        ids = channels if channels is not None else [c.id for c in self.device.channels]
        return times_s, {channel_id: self.values_at(channel_id, times_s) for channel_id in ids}

    def values_at(self, channel_id: str, times_s) -> np.ndarray:
        """Values of one channel at the given plan times (vectorised)."""
        channel = self.device.channel(channel_id)
        rows = self.channel_table(channel_id)
        times_s = np.asarray(times_s, dtype=np.float64)
        fallback = np.nan if channel.safe_default is None else channel.safe_default
        values = np.full(times_s.shape, fallback, dtype=np.float64)
        if len(rows) == 0:
            return values
        index = np.searchsorted(rows["start_s"], times_s, side="right") - 1
        before_first = index < 0
        index = np.clip(index, 0, len(rows) - 1)
        picked = rows[index]
        covered = ~before_first & (times_s < picked["start_s"] + picked["duration_s"])
        computed = segment_values(
            picked["start_s"], picked["duration_s"], picked["start_value"],
            picked["end_value"], picked["amplitude"], picked["period_s"], times_s,
        )
        values = np.where(covered, computed, values)
        if channel.safe_default is None:
            # Position-like: after a segment ends the drive stays where it stopped.
            last = segment_values(
                picked["start_s"], picked["duration_s"], picked["start_value"],
                picked["end_value"], picked["amplitude"], picked["period_s"],
                picked["start_s"] + picked["duration_s"],
            )
            values = np.where(~before_first & ~covered, last, values)
        return values

    def problems(self) -> list[str]:
        """Broken invariants (see the module docstring); empty for a well-formed plan."""
        found = []
        for index, channel in enumerate(self.device.channels):
            rows = self.table[self.table["channel"] == index]
            if len(rows) == 0:
                continue
            starts = rows["start_s"]
            ends = starts + rows["duration_s"]
            if abs(starts[0]) > TIME_EPSILON_S:
                found.append(f"{channel.id}: first segment starts at {starts[0]:.6f} s, not 0")
            gaps = np.abs(starts[1:] - ends[:-1]) > TIME_EPSILON_S
            for gap in np.flatnonzero(gaps):
                found.append(
                    f"{channel.id}: segment ends at {ends[gap]:.6f} s "
                    f"but the next starts at {starts[gap + 1]:.6f} s"
                )
            if abs(ends[-1] - self.duration_s) > TIME_EPSILON_S:
                found.append(
                    f"{channel.id}: last segment ends at {ends[-1]:.6f} s, "
                    f"plan ends at {self.duration_s:.6f} s"
                )
            too_long = rows["duration_s"] > channel.max_duration_s + TIME_EPSILON_S
            for row in rows[too_long]:
                found.append(
                    f"{channel.id}: segment at {row['start_s']:.3f} s lasts "
                    f"{row['duration_s']:.3f} s, longer than max_duration_s "
                    f"{channel.max_duration_s}"
                )
            if np.any(rows["duration_s"] <= 0):
                found.append(f"{channel.id}: a segment has no positive duration")
            oscillating = rows["amplitude"] != 0
            if np.any(oscillating & (rows["period_s"] <= 0)):
                found.append(f"{channel.id}: an oscillating segment has no positive period")
        # Imported here: plan_checks builds on this module's segment formula.
        from massagectl.routines.plan_checks import value_problems

        return found + value_problems(self)


def split_segment(segment: Segment, max_duration_s: float) -> list[Segment]:
    """Cut a segment into pieces no longer than `max_duration_s` that render identically.

    Oscillations are cut at whole periods so each piece starts at phase 0, as the board
    expects; a period longer than the limit cannot be cut and raises ValueError.
    """
    if segment.duration_s <= max_duration_s + TIME_EPSILON_S:
        return [segment]
    piece_s = max_duration_s
    if segment.amplitude != 0.0:
        periods = math.floor(max_duration_s / segment.period_s + 1e-9)
        if periods < 1:
            raise ValueError(
                f"period {segment.period_s} s is longer than max_duration_s {max_duration_s}"
            )
        piece_s = periods * segment.period_s
    pieces = []
    offset_s = 0.0
    while offset_s < segment.duration_s - TIME_EPSILON_S:
        length_s = min(piece_s, segment.duration_s - offset_s)
        fraction_start = offset_s / segment.duration_s
        fraction_end = (offset_s + length_s) / segment.duration_s
        span = segment.end_value - segment.start_value
        pieces.append(
            Segment(
                channel=segment.channel,
                start_s=segment.start_s + offset_s,
                duration_s=length_s,
                start_value=segment.start_value + span * fraction_start,
                end_value=segment.start_value + span * fraction_end,
                amplitude=segment.amplitude,
                period_s=segment.period_s,
                step=segment.step,
            )
        )
        offset_s += length_s
    return pieces
