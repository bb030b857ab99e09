"""Resuming a paused plan: the rest of it, preceded by a gentle ramp back to where it stopped.

A pause leaves the board safe: level channels at their safe default, drives stopped wherever
they were. The rest of the plan cannot simply start again mid-value (airbags would jump to
pressure, the roller would lunge), so the resume plan first ramps every used channel from where
it is now to the value the plan had at the pause, no faster than half its rated speed, then
continues with the plan from the pause on:

    plan:    |---- done ----|p---- rest ----|
    resume:  |ramp|---- rest (shifted) ----|

An oscillation cut at the pause would restart mid-swing, which the board cannot do (its
oscillations start at phase 0), so the part of it up to its next whole period follows the
oscillation's centre, and the swing starts again from there. The resume plan satisfies every
plan invariant and goes through admission like any other plan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from massagectl.routines.plan import TIME_EPSILON_S, Plan, Segment, segment_table, split_segment

# Ramps back in at half the rated speed of each channel: the pause was the person's choice, and
# the return should feel gentle.
RAMP_RATE_FRACTION = 0.5
# At least this long, so even a small step back in is a ramp and not a jolt.
MIN_RAMP_S = 2.0
# Ramp lengths are whole milliseconds, like every time in a compiled plan.
RAMP_GRID_S = 0.001


@dataclass(frozen=True)
class ResumePlan:
    plan: Plan
    ramp_s: float  # plan time at which the original plan's `from_s` falls
    from_s: float  # where in the original plan it continues


def rest_of_plan(plan: Plan, from_s: float, now_values: dict[str, float]) -> ResumePlan:
    """The plan from `from_s` on, after a ramp from `now_values` (channel id -> value now).

    Channels missing from `now_values` start from their safe default (level channels) or from
    the plan's own value at `from_s` (drives, whose position is then assumed unchanged).
    """
    from_s = min(max(0.0, from_s), plan.duration_s)
    rests: dict[str, list[Segment]] = {}
    starts: dict[str, float] = {}
    ramp_s = MIN_RAMP_S
    for channel_id in plan.used_channels():
        channel = plan.device.channel(channel_id)
        rest = _rest_of_channel(plan, channel_id, from_s)
        if not rest:
            continue
        target = rest[0].start_value
        fallback = channel.safe_default if channel.safe_default is not None else target
        start = now_values.get(channel_id, fallback)
        rests[channel_id], starts[channel_id] = rest, start
        ramp_s = max(ramp_s, abs(target - start) / (channel.max_rate_per_s * RAMP_RATE_FRACTION))
    ramp_s = math.ceil(ramp_s / RAMP_GRID_S - 1e-9) * RAMP_GRID_S
    shift_s = ramp_s - from_s
    segments: list[Segment] = []
    ramp_step = len(plan.steps)
    for channel_id, rest in rests.items():
        channel = plan.device.channel(channel_id)
        ramp = Segment(channel_id, 0.0, ramp_s, starts[channel_id], rest[0].start_value,
                       step=ramp_step)
        segments.extend(split_segment(ramp, channel.max_duration_s))
        segments.extend(_shifted(segment, shift_s) for segment in rest)
    duration_s = ramp_s + plan.duration_s - from_s
    resumed = Plan(
        routine=plan.routine,
        device=plan.device,
        duration_s=duration_s,
        table=segment_table(segments, plan.device),
        steps=plan.steps + ("resume (ramp back in)",),
        notes=plan.notes,
        intensity=plan.intensity,
    )
    return ResumePlan(resumed, ramp_s, from_s)


def _rest_of_channel(plan: Plan, channel_id: str, from_s: float) -> list[Segment]:
    rest = []
    for row in plan.channel_table(channel_id):
        start_s = float(row["start_s"])
        end_s = start_s + float(row["duration_s"])
        if end_s <= from_s + TIME_EPSILON_S:
            continue
        segment = Segment(channel_id, start_s, float(row["duration_s"]),
                          float(row["start_value"]), float(row["end_value"]),
                          float(row["amplitude"]), float(row["period_s"]), int(row["step"]))
        if start_s >= from_s - TIME_EPSILON_S:
            rest.append(segment)
        else:
            rest.extend(_cut(segment, from_s))
    return rest


def _centre_at(segment: Segment, t_s: float) -> float:
    fraction = (t_s - segment.start_s) / segment.duration_s
    return segment.start_value + (segment.end_value - segment.start_value) * fraction


def _cut(segment: Segment, from_s: float) -> list[Segment]:
    """The part of `segment` from `from_s` on, starting at phase 0 where it oscillates."""
    if segment.amplitude == 0.0:
        return [Segment(segment.channel, from_s, segment.end_s - from_s,
                        _centre_at(segment, from_s), segment.end_value, step=segment.step)]
    periods_done = math.ceil((from_s - segment.start_s) / segment.period_s - 1e-9)
    swing_from_s = min(segment.start_s + periods_done * segment.period_s, segment.end_s)
    pieces = []
    if swing_from_s - from_s > TIME_EPSILON_S:
        pieces.append(Segment(segment.channel, from_s, swing_from_s - from_s,
                              _centre_at(segment, from_s), _centre_at(segment, swing_from_s),
                              step=segment.step))
    if segment.end_s - swing_from_s > TIME_EPSILON_S:
        pieces.append(Segment(segment.channel, swing_from_s, segment.end_s - swing_from_s,
                              _centre_at(segment, swing_from_s), segment.end_value,
                              segment.amplitude, segment.period_s, segment.step))
    return pieces


def _shifted(segment: Segment, shift_s: float) -> Segment:
    return Segment(segment.channel, segment.start_s + shift_s, segment.duration_s,
                   segment.start_value, segment.end_value, segment.amplitude,
                   segment.period_s, segment.step)
