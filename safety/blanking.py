"""Rewrite one channel's segments so it sits at its safe default over given time spans.

The channel ramps down to the safe default before each span and back up after it, at a rate
below its limits, so the rewritten channel stays continuous and within every rate limit (the
plan invariants of routines.plan and routines.plan_checks keep holding). Segments outside the
blanked regions are kept as they were; a segment cut after a region is cut at a whole period
of its oscillation, so it restarts at phase 0 as the board expects.

    value
      |  original ...\\                         /... original
      |               \\ ramp down    ramp up  /
      |________________\\____________________/________  safe default
                     t_down   span ...     t_up
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass

from massagectl.routines.plan import Segment, SegmentKind

# Pieces shorter than this are float dust from cutting at a boundary; the plan's time tolerance
# (routines.plan.TIME_EPSILON_S) is a thousand times larger.
MIN_PIECE_S = 1e-9


@dataclass(frozen=True)
class Region:
    """The channel follows straight lines between these (time, value) knots instead."""

    knots: tuple[tuple[float, float], ...]

    @property
    def start_s(self) -> float:
        return self.knots[0][0]

    @property
    def end_s(self) -> float:
        return self.knots[-1][0]

    def value_at(self, t_s: float) -> float:
        for (t0, v0), (t1, v1) in zip(self.knots, self.knots[1:]):
            if t_s <= t1:
                if t1 <= t0:
                    return v0
                value = v0 + (v1 - v0) * (t_s - t0) / (t1 - t0)
                return min(max(value, min(v0, v1)), max(v0, v1))  # no float overshoot
        return self.knots[-1][1]


def blank_spans(
    segments: list[Segment],
    spans: list[tuple[float, float]],
    safe: float,
    ramp_rate: float,
    duration_s: float,
    max_segment_s: float,
) -> tuple[list[Segment], list[Region]]:
    """Segments that hold `safe` over every span, and the regions that were rewritten.

    Consecutive holds of one step are joined up to `max_segment_s` (the channel's
    max_duration_s), so a long blanked stretch costs few segments on the wire.
    """
    if not segments or not spans:
        return segments, []
    peak = max(max(abs(s.upper_bound - safe), abs(s.lower_bound - safe)) for s in segments)
    ramp_s = peak / ramp_rate
    regions: list[Region] = []
    start_s, end_s = spans[0][0] - ramp_s, spans[0][1] + ramp_s
    for span_start, span_end in list(spans[1:]) + [(math.inf, math.inf)]:
        up_s = _aligned_end(segments, end_s, duration_s)
        if span_start - ramp_s <= up_s:
            end_s = max(end_s, span_end + ramp_s)
            continue
        regions.append(_region(segments, max(start_s, 0.0), up_s, safe, ramp_rate, duration_s))
        start_s, end_s = span_start - ramp_s, span_end + ramp_s
    starts = [region.start_s for region in regions]
    rewritten = []
    for segment in segments:
        # Only the regions that overlap this segment (both lists are in time order).
        first = max(bisect.bisect_right(starts, segment.start_s) - 1, 0)
        last = bisect.bisect_left(starts, segment.end_s)
        rewritten += _pieces(segment, regions[first:last])
    return _join_holds(rewritten, max_segment_s), regions


def _join_holds(segments: list[Segment], max_segment_s: float) -> list[Segment]:
    joined: list[Segment] = []
    for segment in segments:
        last = joined[-1] if joined else None
        if (last is not None and last.kind is SegmentKind.HOLD
                and segment.kind is SegmentKind.HOLD and last.step == segment.step
                and last.start_value == segment.start_value
                and last.duration_s + segment.duration_s <= max_segment_s):
            joined[-1] = Segment(last.channel, last.start_s, segment.end_s - last.start_s,
                                 last.start_value, last.end_value, step=last.step)
        else:
            joined.append(segment)
    return joined


def _aligned_end(segments: list[Segment], at_s: float, duration_s: float) -> float:
    """The first time at or after `at_s` where a cut segment can restart at phase 0."""
    if at_s >= duration_s - MIN_PIECE_S:
        return duration_s
    segment = _covering(segments, at_s)
    if segment.amplitude == 0.0 or at_s >= segment.end_s:
        return at_s
    periods = math.ceil((at_s - segment.start_s) / segment.period_s - 1e-9)
    return min(segment.start_s + periods * segment.period_s, segment.end_s)


def _region(segments, down_s, up_s, safe, ramp_rate, duration_s) -> Region:
    value_down = _value_at(segments, down_s)
    knots = [(down_s, value_down), (down_s + abs(value_down - safe) / ramp_rate, safe)]
    if up_s >= duration_s - MIN_PIECE_S:
        knots.append((duration_s, safe))
    else:
        segment = _covering(segments, up_s)
        if up_s >= segment.end_s:
            value_up = segment.value_at(segment.end_s)  # in a sub-microsecond gap
        else:
            value_up = _centre(segment, up_s)  # phase 0 here (_aligned_end): the centre
        knots += [(up_s - abs(value_up - safe) / ramp_rate, safe), (up_s, value_up)]
    return Region(tuple(knots))


def _covering(segments: list[Segment], t_s: float) -> Segment:
    """The last segment starting at or before `t_s` (the first if none does)."""
    found = segments[0]
    for segment in segments:
        if segment.start_s > t_s:
            break
        found = segment
    return found


def _value_at(segments: list[Segment], t_s: float) -> float:
    """The channel's value at `t_s`; in a sub-microsecond gap, where the segment before ended."""
    segment = _covering(segments, t_s)
    return segment.value_at(min(max(t_s, segment.start_s), segment.end_s))


def _pieces(segment: Segment, regions: list[Region]) -> list[Segment]:
    cuts = {segment.start_s, segment.end_s}
    for region in regions:
        cuts.update(t for t, _ in region.knots if segment.start_s < t < segment.end_s)
    times = sorted(cuts)
    pieces = []
    for t0, t1 in itertools.pairwise(times):
        if t1 - t0 < MIN_PIECE_S:
            continue
        middle = (t0 + t1) / 2
        covering = next((r for r in regions if r.start_s <= middle < r.end_s), None)
        if covering is not None:
            pieces.append(Segment(segment.channel, t0, t1 - t0, covering.value_at(t0),
                                  covering.value_at(t1), step=segment.step))
        else:
            pieces.append(Segment(segment.channel, t0, t1 - t0, _centre(segment, t0),
                                  _centre(segment, t1), segment.amplitude, segment.period_s,
                                  segment.step))
    return pieces


def _centre(segment: Segment, t_s: float) -> float:
    if t_s == segment.start_s:
        return segment.start_value
    if t_s == segment.end_s:
        return segment.end_value
    fraction = (t_s - segment.start_s) / segment.duration_s
    return segment.start_value + (segment.end_value - segment.start_value) * fraction
