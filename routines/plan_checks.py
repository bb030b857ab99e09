"""Value invariants of a plan: hard ranges, continuity, rate of change, safe start and end.

`Plan.problems` checks the timing invariants itself and adds these. Each check uses the
conservative bounds of the segment formula (`Segment.upper_bound`/`lower_bound` and the rate
bound `|slope| + 2*pi*|amplitude|/period`), so a plan that passes can never exceed a limit at
any instant, whatever the sample rate.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from massagectl.routines.device import Channel
from massagectl.routines.plan import TIME_EPSILON_S, segment_values

if TYPE_CHECKING:
    from massagectl.routines.plan import Plan

# Values are computed in float64 from a handful of operations; anything above this is a real
# difference, far below the resolution of any sensor in a device profile.
VALUE_EPSILON = 1e-6
# Relative slack on rate checks, for float rounding of slopes computed as difference / duration.
RATE_REL_EPSILON = 1e-9


def value_problems(plan: Plan) -> list[str]:
    """Every value invariant broken by `plan`, one line each naming channel, step and time."""
    found: list[str] = []
    for index, channel in enumerate(plan.device.channels):
        rows = plan.table[plan.table["channel"] == index]
        if len(rows) == 0:
            continue
        found += _range_problems(plan, channel, rows)
        found += _rate_problems(plan, channel, rows)
        found += _continuity_problems(plan, channel, rows)
    return found


def end_values(rows: np.ndarray) -> np.ndarray:
    """The value each row reaches at the end of its span."""
    return segment_values(
        rows["start_s"], rows["duration_s"], rows["start_value"], rows["end_value"],
        rows["amplitude"], rows["period_s"], rows["start_s"] + rows["duration_s"],
    )


def _where(plan: Plan, channel: Channel, row: np.void) -> str:
    return f"{channel.id}: {plan.step_label(int(row['step']))} at {row['start_s']:.3f} s"


def _range_problems(plan: Plan, channel: Channel, rows: np.ndarray) -> list[str]:
    amplitude = np.abs(rows["amplitude"])
    upper = np.maximum(rows["start_value"], rows["end_value"]) + amplitude
    lower = np.minimum(rows["start_value"], rows["end_value"]) - amplitude
    found = []
    above = upper > channel.max + VALUE_EPSILON
    for row, bound in zip(rows[above], upper[above]):
        found.append(
            f"{_where(plan, channel, row)} reaches {bound:g} {channel.unit}, "
            f"above the hard limit {channel.max:g}"
        )
    below = lower < channel.min - VALUE_EPSILON
    for row, bound in zip(rows[below], lower[below]):
        found.append(
            f"{_where(plan, channel, row)} reaches {bound:g} {channel.unit}, "
            f"below the hard limit {channel.min:g}"
        )
    return found


def rate_bounds(rows: np.ndarray) -> np.ndarray:
    """Fastest change within each row, unit/s: ramp slope plus the oscillation's peak slope."""
    slope = np.abs(rows["end_value"] - rows["start_value"]) / rows["duration_s"]
    safe_period = np.where(rows["period_s"] > 0, rows["period_s"], 1.0)
    swing = np.where(rows["period_s"] > 0, 2 * math.pi * np.abs(rows["amplitude"]) / safe_period, 0)
    return slope + swing


def _rate_problems(plan: Plan, channel: Channel, rows: np.ndarray) -> list[str]:
    positive = rows[rows["duration_s"] > 0]  # zero durations are reported by Plan.problems
    rates = rate_bounds(positive)
    too_fast = rates > channel.max_rate_per_s * (1 + RATE_REL_EPSILON) + VALUE_EPSILON
    return [
        f"{_where(plan, channel, row)} changes at {rate:g} {channel.unit}/s, "
        f"faster than max_rate_per_s {channel.max_rate_per_s:g}"
        for row, rate in zip(positive[too_fast], rates[too_fast])
    ]


def _continuity_problems(plan: Plan, channel: Channel, rows: np.ndarray) -> list[str]:
    found = []
    # Boundaries within a time tolerance may hide a change of up to rate * tolerance.
    tolerance = VALUE_EPSILON + channel.max_rate_per_s * TIME_EPSILON_S
    ends = end_values(rows)
    jumps = np.abs(rows["start_value"][1:] - ends[:-1]) > tolerance
    for position in np.flatnonzero(jumps):
        row = rows[position + 1]
        found.append(
            f"{_where(plan, channel, row)} starts at {row['start_value']:g} {channel.unit} "
            f"but the segment before ends at {ends[position]:g}: a jump"
        )
    if channel.safe_default is not None:
        # The board holds a level channel at its safe default outside a plan, so a plan starts
        # and ends there; a position-like channel simply stops where it is.
        if abs(rows["start_value"][0] - channel.safe_default) > tolerance:
            found.append(
                f"{_where(plan, channel, rows[0])} starts at {rows['start_value'][0]:g} "
                f"{channel.unit}, not at the safe default {channel.safe_default:g}"
            )
        if abs(ends[-1] - channel.safe_default) > tolerance:
            found.append(
                f"{channel.id}: the plan ends with the channel at {ends[-1]:g} {channel.unit}, "
                f"not at its safe default {channel.safe_default:g}"
            )
    return found
