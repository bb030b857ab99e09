"""Check a whole plan against `PlanLimits`, vectorised per channel, and name every violation.

Every check uses the conservative bounds of `safety.segment_math`, so a plan that passes never
exceeds a limit at any instant, whatever the rate it is rendered or executed at. Offending rows
are reported per step: one violation per (kind, channel, step, zone), at the first time it
happens, with the worst value found in that step.
"""

from __future__ import annotations

import numpy as np

from massagectl.routines.device import ChannelKind, Zone
from massagectl.routines.plan import Plan
from massagectl.safety.channel_limits import (
    ChannelLimits,
    ColdBudget,
    HeatBudget,
    PlanLimits,
    PressureHold,
)
from massagectl.safety.limits import SESSION_HARD_MAX_MIN, config_key
from massagectl.safety.roller_track import position_ranges
from massagectl.safety.segment_math import (
    above_span,
    end_value,
    lower_bound,
    rate_bound,
    rise_bound,
    upper_bound,
)
from massagectl.safety.thermal_dose import dose_rates_per_s
from massagectl.safety.verdicts import Violation, ViolationKind

# Float slack when comparing values computed from the same inputs in different orders: far
# below any sensor resolution, far above float64 rounding.
VALUE_EPSILON = 1e-9
# Two segments of one channel are continuous when they meet within this (a jump otherwise).
JUMP_TOLERANCE = 1e-6
ZONES = tuple(Zone)  # row_caps names the zone of a row's cap by its index here


def audit_plan(plan: Plan, limits: PlanLimits) -> list[Violation]:
    """Every limit the plan breaks (an empty list: it is within every limit at every instant)."""
    table = plan.table
    numbers = [table[name] for name in table.dtype.names or () if name not in ("channel", "step")]
    if not all(np.all(np.isfinite(column)) for column in numbers):
        return [Violation(ViolationKind.MALFORMED, "plan", "a segment holds a value that is not "
                          "a finite number")]
    found: list[Violation] = []
    position = _position_rows(plan)
    for channel_limits in limits.channels:
        rows = table[table["channel"] == channel_limits.index]
        if len(rows) == 0:
            continue
        found += _value_violations(plan, channel_limits, rows, position, limits)
        found += _rate_violations(plan, channel_limits, rows)
        if channel_limits.hold is not None:
            found += _hold_violations(plan, channel_limits, rows, channel_limits.hold)
        if channel_limits.heat is not None:
            found += _heat_violations(plan, channel_limits, rows, channel_limits.heat)
        if channel_limits.cold is not None:
            found += _cold_violations(plan, channel_limits, rows, channel_limits.cold)
    found += _heat_and_cold(plan, limits)
    if plan.duration_s > limits.session_cap_s:
        found.append(Violation(
            ViolationKind.SESSION, "plan", f"the owner may raise it up to "
            f"{SESSION_HARD_MAX_MIN} min in the config: {config_key('limits.session.cap_min')}",
            time_s=limits.session_cap_s, value=plan.duration_s, limit=limits.session_cap_s,
            unit="s",
        ))
    return found


def _position_rows(plan: Plan) -> np.ndarray:
    indices = [i for i, c in enumerate(plan.device.channels) if c.kind is ChannelKind.POSITION]
    if not indices:
        return plan.table[:0]
    return plan.table[plan.table["channel"] == indices[0]]


def row_caps(
    limits: ChannelLimits, rows: np.ndarray, position: np.ndarray, plan_limits: PlanLimits
) -> tuple[np.ndarray, np.ndarray]:
    """Cap of each row, and the index into BACKZONES order of the zone it comes from (-1: none)."""
    caps = np.full(len(rows), limits.cap.value)
    zone_of_cap = np.full(len(rows), -1)
    if limits.is_roller_work and limits.zone_caps and plan_limits.back_map is not None:
        low, high = position_ranges(position, rows["start_s"], rows["start_s"] + rows["duration_s"])
        masks = plan_limits.back_map.touching_masks(low, high)
        for zone, cap in limits.zone_caps.items():
            lower = masks[zone] & (cap.value < caps)
            caps[lower] = cap.value
            zone_of_cap[lower] = ZONES.index(zone)
    return caps, zone_of_cap



def _value_violations(plan, limits: ChannelLimits, rows, position, plan_limits) -> list[Violation]:
    channel = limits.channel
    upper = upper_bound(rows["start_value"], rows["end_value"], rows["amplitude"])
    lower = lower_bound(rows["start_value"], rows["end_value"], rows["amplitude"])
    caps, zone_of_cap = row_caps(limits, rows, position, plan_limits)
    hard = f"hard limit of {channel.id} (device profile)"
    found = _per_step(plan, limits, rows, ViolationKind.HARD_RANGE, upper > channel.max,
                      upper, channel.max, hard)
    found += _per_step(plan, limits, rows, ViolationKind.HARD_RANGE, lower < channel.min,
                       lower, channel.min, hard, worst=np.argmin)
    over = (upper > caps + VALUE_EPSILON) & ~(upper > channel.max)
    for zone_index in np.unique(zone_of_cap[over]):
        here = over & (zone_of_cap == zone_index)
        if zone_index < 0:
            cap, zone = limits.cap, channel.zone
        else:
            zone = ZONES[zone_index]
            cap = limits.zone_caps[zone]
        found += _per_step(plan, limits, rows, ViolationKind.ABOVE_CAP, here, upper, cap.value,
                           cap.reason, zone=zone)
    under = (lower < limits.floor.value - VALUE_EPSILON) & ~(lower < channel.min)
    found += _per_step(plan, limits, rows, ViolationKind.BELOW_FLOOR, under, lower,
                       limits.floor.value, limits.floor.reason, worst=np.argmin)
    return found


def _rate_violations(plan, limits: ChannelLimits, rows) -> list[Violation]:
    args = (rows["start_value"], rows["end_value"], rows["amplitude"], rows["duration_s"],
            rows["period_s"])
    rate = rate_bound(*args)
    found = _per_step(plan, limits, rows, ViolationKind.RATE,
                      rate > limits.max_rate_per_s * (1 + VALUE_EPSILON), rate,
                      limits.max_rate_per_s, "how fast the channel may change")
    if limits.max_rise_per_s is None:
        return found
    rise = rise_bound(*args)
    found += _per_step(plan, limits, rows, ViolationKind.RISE,
                       rise > limits.max_rise_per_s * (1 + VALUE_EPSILON), rise,
                       limits.max_rise_per_s, "fastest inflation or pressing allowed")
    # A rise at a boundary is instantaneous: from the safe default into the first row, and
    # from each row's end into the next row's start.
    before = np.concatenate(([limits.safe_value], end_value(*_shifted(rows))))
    jump = rows["start_value"] - before
    found += _per_step(plan, limits, rows, ViolationKind.JUMP, jump > JUMP_TOLERANCE, jump,
                       limits.max_rise_per_s, "values may not rise at once")
    return found


def _shifted(rows):
    head = rows[:-1]
    return (head["start_value"], head["end_value"], head["amplitude"], head["duration_s"],
            head["period_s"])


def _hold_violations(plan, limits: ChannelLimits, rows, hold: PressureHold) -> list[Violation]:
    from_s, to_s = above_span(rows["start_s"], rows["duration_s"], rows["start_value"],
                              rows["end_value"], rows["amplitude"], hold.occlusion_kpa)
    keep = ~np.isnan(from_s)
    starts, ends = from_s[keep], to_s[keep]
    found: list[Violation] = []
    for stretch_start, stretch_end in merge_spans(starts, ends, hold.release_s):
        if stretch_end - stretch_start <= hold.max_hold_s + VALUE_EPSILON:
            continue
        at_s = stretch_start + hold.max_hold_s
        found.append(_violation(plan, limits, rows, ViolationKind.HOLD, at_s,
                                stretch_end - stretch_start, hold.max_hold_s,
                                f"time above the occlusion-risk pressure of "
                                f"{round(hold.occlusion_kpa, 1):g} kPa", unit=""))
    return found


def merge_spans(
    starts: np.ndarray, ends: np.ndarray, release_s: float
) -> list[tuple[float, float]]:
    """Join spans (in time order) separated by less than `release_s`."""
    if len(starts) == 0:
        return []
    new_group = np.concatenate(([True], starts[1:] - ends[:-1] >= release_s))
    group_end = np.maximum.reduceat(ends, np.flatnonzero(new_group))
    return list(zip(starts[new_group].tolist(), group_end.tolist()))


def _heat_violations(plan, limits: ChannelLimits, rows, budget: HeatBudget) -> list[Violation]:
    upper = upper_bound(rows["start_value"], rows["end_value"], rows["amplitude"])
    durations = rows["duration_s"]
    on = upper > limits.safe_value + VALUE_EPSILON
    found: list[Violation] = []
    on_s = np.cumsum(np.where(on, durations, 0.0))
    if on_s[-1] > budget.max_on_s + VALUE_EPSILON:
        row = int(np.argmax(on_s > budget.max_on_s))
        at_s = rows["start_s"][row] + durations[row] - (on_s[row] - budget.max_on_s)
        found.append(_violation(plan, limits, rows, ViolationKind.HEAT_TIME, at_s,
                                float(on_s[-1]), budget.max_on_s, "heat timeout", unit=""))
    dose = np.cumsum(planned_dose_rates(limits, budget, upper) * durations)
    if dose[-1] > budget.dose_budget:
        row = int(np.argmax(dose > budget.dose_budget))
        found.append(_violation(plan, limits, rows, ViolationKind.THERMAL_DOSE,
                                float(rows["start_s"][row]), float(dose[-1]), budget.dose_budget,
                                f"thermal dose at set point + {budget.overshoot_c:g} C "
                                "thermostat overshoot", unit=""))
    return found


def cooling(limits: ChannelLimits, lower: np.ndarray) -> np.ndarray:
    """Rows of a cool channel whose set point goes below its off value (the module cools)."""
    return lower < limits.safe_value - VALUE_EPSILON


def _cold_violations(plan, limits: ChannelLimits, rows, cold: ColdBudget) -> list[Violation]:
    lower = lower_bound(rows["start_value"], rows["end_value"], rows["amplitude"])
    durations = rows["duration_s"]
    on_s = np.cumsum(np.where(cooling(limits, lower), durations, 0.0))
    max_on_s = cold.max_on_s
    if on_s[-1] <= max_on_s + VALUE_EPSILON:
        return []
    row = int(np.argmax(on_s > max_on_s))
    at_s = rows["start_s"][row] + durations[row] - (on_s[row] - max_on_s)
    return [_violation(plan, limits, rows, ViolationKind.COLD_TIME, at_s, float(on_s[-1]),
                       max_on_s, "one cold application per zone, then a rest of at least "
                       "30-40 min", unit="")]


def _heat_and_cold(plan: Plan, limits: PlanLimits) -> list[Violation]:
    """A zone's heat and cool channels are one thermoelectric module: never both at once."""
    table = plan.table
    found = []
    by_zone: dict[Zone, dict[ChannelKind, ChannelLimits]] = {}
    for channel_limits in limits.channels:
        channel = channel_limits.channel
        if channel.kind in (ChannelKind.HEAT, ChannelKind.COOL) and channel.zone is not None:
            by_zone.setdefault(channel.zone, {})[channel.kind] = channel_limits
    for zone, kinds in by_zone.items():
        if len(kinds) < 2:
            continue
        heat, cool = kinds[ChannelKind.HEAT], kinds[ChannelKind.COOL]
        heat_rows = table[table["channel"] == heat.index]
        cool_rows = table[table["channel"] == cool.index]
        heat_on = heat_rows[upper_bound(heat_rows["start_value"], heat_rows["end_value"],
                                        heat_rows["amplitude"])
                            > heat.safe_value + VALUE_EPSILON]
        cool_on = cool_rows[cooling(cool, lower_bound(cool_rows["start_value"],
                                                      cool_rows["end_value"],
                                                      cool_rows["amplitude"]))]
        for row in cool_on:
            start_s, end_s = row["start_s"], row["start_s"] + row["duration_s"]
            overlap = (heat_on["start_s"] < end_s) & (
                heat_on["start_s"] + heat_on["duration_s"] > start_s)
            if np.any(overlap):
                found.append(Violation(
                    ViolationKind.HEAT_AND_COLD, plan.step_label(int(row["step"])),
                    f"{heat.id} and {cool.id} drive one module: heat or cold, never both",
                    channel=cool.id, zone=zone, time_s=float(start_s)))
                break
    return found


def planned_dose_rates(limits: ChannelLimits, budget: HeatBudget,
                       upper: np.ndarray) -> np.ndarray:
    """Dose per second of heat rows whose set point reaches `upper` (0 while the heat is off)."""
    on = upper > limits.safe_value + VALUE_EPSILON
    return np.where(on, dose_rates_per_s(upper + budget.overshoot_c), 0.0)


def _per_step(plan, limits, rows, kind, mask, values, limit, reason, zone=None,
              worst=np.argmax) -> list[Violation]:
    """One violation per step among the rows in `mask`: first time, worst value."""
    found: list[Violation] = []
    if not np.any(mask):
        return found
    zone = limits.channel.zone if zone is None else zone
    steps = rows["step"][mask]
    times = rows["start_s"][mask]
    picked = values[mask]
    for step in np.unique(steps):
        here = steps == step
        found.append(Violation(
            kind, plan.step_label(int(step)), reason, channel=limits.id, zone=zone,
            time_s=float(times[here].min()), value=float(picked[here][worst(picked[here])]),
            limit=float(limit), unit=str(limits.channel.unit),
        ))
    return found


def _violation(plan, limits, rows, kind, at_s, value, limit, reason, unit) -> Violation:
    row = max(int(np.searchsorted(rows["start_s"], at_s, side="right")) - 1, 0)
    return Violation(kind, plan.step_label(int(rows["step"][row])), reason, channel=limits.id,
                     zone=limits.channel.zone, time_s=float(at_s), value=float(value),
                     limit=float(limit), unit=unit)
