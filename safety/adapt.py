"""Rewrite a plan within its limits, and say exactly what changed and why.

Two rewrites, both only ever lowering what a channel does:
- holding it at its safe default: a whole channel (a zone a precaution forbids or an injured
  zone), the roller's work while the carriage is on a restricted back zone, and heat after its
  timeout or thermal-dose budget (`safety.blanking`, with ramps at a safe rate);
- scaling it toward its safe default by one factor for the whole channel (like the intensity
  setting), just enough to meet its caps, rate limits and time-at-pressure budget.

`skip_injury_zones` runs in both admission modes (an injured zone is never touched);
`adapt_plan` runs only when the user profile chose `on_precaution = "adapt"`. Position-like
channels (carriage, width) have no safe value to lower toward: what they break is refused.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict

import numpy as np

from massagectl.routines.device import BACK_ZONES, ChannelKind, Zone
from massagectl.routines.plan import SEGMENT_DTYPE, Plan, Segment, freeze_table
from massagectl.safety.blanking import Region, blank_spans
from massagectl.safety.channel_limits import ChannelLimits, HeatBudget, PlanLimits, PressureHold
from massagectl.safety.plan_audit import (
    VALUE_EPSILON,
    ZONES,
    merge_spans,
    planned_dose_rates,
    row_caps,
)
from massagectl.safety.roller_track import spans_on_band
from massagectl.safety.segment_math import above_span, rate_bound, rise_bound
from massagectl.safety.verdicts import Change

# Ramps the rewrite inserts run at this share of the channel's allowed rate, so float rounding
# never puts them at the very limit.
RAMP_RATE_SHARE = 0.9
# Spans on a restricted zone are widened by this much beyond the zone's own margin, so a ramp
# that ends where the widened band starts is clear of the band the check uses.
BLANK_EXTRA_MARGIN_MM = 5.0
# Scale factors are rounded down to this many decimals: readable in the report, and always on
# the safe side of the exact factor.
SCALE_DECIMALS = 4


class _Work:
    """The plan's segments per channel while it is being rewritten."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.index_of = {c.id: i for i, c in enumerate(plan.device.channels)}
        self.by_channel: dict[int, list[Segment]] = defaultdict(list)
        for segment in plan.segments():
            self.by_channel[self.index_of[segment.channel]].append(segment)

    def rows(self, index: int) -> np.ndarray:
        return self._table(self.by_channel.get(index, []))

    def position_rows(self) -> np.ndarray:
        positions = [i for i, c in enumerate(self.plan.device.channels)
                     if c.kind is ChannelKind.POSITION]
        return self.rows(positions[0]) if positions else self._table([])

    def result(self) -> Plan:
        segments = [s for index in sorted(self.by_channel) for s in self.by_channel[index]]
        return Plan(self.plan.routine, self.plan.device, self.plan.duration_s,
                    self._table(segments), self.plan.steps)

    def _table(self, segments: list[Segment]) -> np.ndarray:
        """segment_table, without looking each channel up in the profile again."""
        table = np.array(
            [(self.index_of[s.channel], s.start_s, s.duration_s, s.start_value, s.end_value,
              s.amplitude, s.period_s, s.step) for s in segments], dtype=SEGMENT_DTYPE)
        return freeze_table(table)


def skip_injury_zones(plan: Plan, limits: PlanLimits) -> tuple[Plan, list[Change]]:
    """Hold every channel on an injured zone at its safe default (the roller while on it)."""
    injured = [z for z in limits.user.injury_zones if z in BACK_ZONES]
    if not injured and all(c.skipped is None for c in limits.channels):
        return plan, []
    work = _Work(plan)
    changes: list[Change] = []
    for channel_limits in limits.channels:
        if channel_limits.skipped is not None:
            changes += _hold_whole(work, channel_limits, channel_limits.skipped)
        elif channel_limits.is_roller_work and injured:
            for zone in injured:
                changes += _blank_on_zone(work, limits, channel_limits, zone, only_if_over=False)
    return (work.result(), changes) if changes else (plan, [])


def adapt_plan(plan: Plan, limits: PlanLimits) -> tuple[Plan, list[Change]]:
    """Lower what breaks a limit (see the module docstring); the caller audits the result."""
    work = _Work(plan)
    changes: list[Change] = []
    for channel_limits in limits.channels:
        safe = channel_limits.channel.safe_default
        if safe is None or not work.by_channel.get(channel_limits.index):
            continue
        if channel_limits.cap.value <= safe and channel_limits.floor.value >= safe:
            changes += _hold_whole(work, channel_limits, channel_limits.cap.reason)
            continue
        if channel_limits.is_roller_work:
            for zone in channel_limits.zone_caps:
                changes += _blank_on_zone(work, limits, channel_limits, zone, only_if_over=True)
        if channel_limits.heat is not None:
            changes += _end_heat_early(work, channel_limits, channel_limits.heat)
        changes += _scale(work, limits, channel_limits)
    return (work.result(), changes) if changes else (plan, [])


def _hold_whole(work: _Work, limits: ChannelLimits, why: str) -> list[Change]:
    segments = work.by_channel.get(limits.index, [])
    safe = limits.safe_value
    active = [s for s in segments if s.upper_bound > safe or s.lower_bound < safe]
    if not active:
        return []
    work.by_channel[limits.index] = []  # no segments: the board keeps it at its safe default
    after = f"off (held at {safe:g} {limits.channel.unit})"
    return _changes_per_step(work, limits, active, after, why)


def _blank_on_zone(work, plan_limits: PlanLimits, limits: ChannelLimits, zone: Zone,
                   only_if_over) -> list[Change]:
    if zone not in limits.zone_caps or plan_limits.back_map is None:
        # The channel's own cap is already as low (e.g. forbidden everywhere), or the device
        # has no roller track to place the zone on (plan_audit checks no zone caps there).
        return []
    band_low, band_high = plan_limits.back_map.bands_mm[zone]
    spans = spans_on_band(work.position_rows(), work.plan.duration_s,
                          band_low - BLANK_EXTRA_MARGIN_MM, band_high + BLANK_EXTRA_MARGIN_MM)
    cap = limits.zone_caps[zone]
    segments = work.by_channel.get(limits.index, [])
    if only_if_over:
        spans = [span for span in spans if any(s.upper_bound > cap.value + VALUE_EPSILON
                                               for s in _within(segments, *span))]
    return _blank(work, limits, spans, f"{cap.reason} (roller on {zone})")


def _end_heat_early(work: _Work, limits: ChannelLimits, budget: HeatBudget) -> list[Change]:
    rows = work.rows(limits.index)
    upper = np.maximum(rows["start_value"], rows["end_value"]) + np.abs(rows["amplitude"])
    ramp_s = (upper.max() - limits.safe_value) / _ramp_rate(limits)
    on_rate = (upper > limits.safe_value + VALUE_EPSILON).astype(float)
    dose_rate = planned_dose_rates(limits, budget, upper)
    # The ramp down may add up to ramp_s of heat at the highest set point: keep room for it.
    cut_s = min(
        _crossing(rows, on_rate, budget.max_on_s - ramp_s),
        _crossing(rows, dose_rate, budget.dose_budget - dose_rate.max() * ramp_s),
    )
    if cut_s >= work.plan.duration_s:
        return []
    why = "heat timeout and thermal-dose budget"
    return _blank(work, limits, [(max(cut_s, 0.0), work.plan.duration_s)], why)


def _crossing(rows: np.ndarray, rate: np.ndarray, limit: float) -> float:
    """Time at which the running integral of `rate` over the rows reaches `limit` (inf: never)."""
    if limit <= 0:
        return 0.0
    total = np.cumsum(rate * rows["duration_s"])
    if total[-1] <= limit:
        return math.inf
    row = int(np.argmax(total > limit))
    before = total[row] - rate[row] * rows["duration_s"][row]
    return float(rows["start_s"][row] + (limit - before) / rate[row])


def _blank(work: _Work, limits: ChannelLimits, spans, why: str) -> list[Change]:
    segments = work.by_channel.get(limits.index, [])
    if not spans or not segments:
        return []
    safe = limits.safe_value
    rewritten, regions = blank_spans(segments, spans, safe, _ramp_rate(limits),
                                     work.plan.duration_s, limits.channel.max_duration_s)
    work.by_channel[limits.index] = rewritten
    changes = []
    after = f"held at {safe:g} {limits.channel.unit}, ramping at {_ramp_rate(limits):g} " \
            f"{limits.channel.unit}/s"
    for region in regions:
        touched = [s for s in _within(segments, region.start_s, region.end_s)
                   if s.upper_bound > safe or s.lower_bound < safe]
        changes += _changes_per_step(work, limits, touched, after, why, region)
    return changes


def _scale(work: _Work, plan_limits: PlanLimits, limits: ChannelLimits) -> list[Change]:
    rows = work.rows(limits.index)
    factor, why = _scale_factor(rows, limits, work.position_rows(), plan_limits)
    if factor >= 1.0:
        return []
    safe = limits.safe_value
    before = work.by_channel[limits.index]
    work.by_channel[limits.index] = [
        Segment(s.channel, s.start_s, s.duration_s, safe + (s.start_value - safe) * factor,
                safe + (s.end_value - safe) * factor, s.amplitude * factor, s.period_s, s.step)
        for s in before
    ]
    changed = [s for s in before if s.upper_bound > safe or s.lower_bound < safe]
    after = f"scaled by {factor:g} toward {safe:g} {limits.channel.unit}"
    return _changes_per_step(work, limits, changed, after, why, factor=factor)


def _scale_factor(rows, limits: ChannelLimits, position, plan_limits) -> tuple[float, str]:
    """The largest factor toward the safe default that meets every scalable limit."""
    safe = limits.safe_value
    upper = np.maximum(rows["start_value"], rows["end_value"]) + np.abs(rows["amplitude"])
    lower = np.minimum(rows["start_value"], rows["end_value"]) - np.abs(rows["amplitude"])
    caps, zone_of_cap = row_caps(limits, rows, position, plan_limits)
    caps = np.minimum(caps, limits.channel.max)
    candidates = [(1.0, "")]
    over = np.flatnonzero(upper > caps + VALUE_EPSILON)
    if len(over):
        ratios = (caps[over] - safe) / (upper[over] - safe)
        binding = over[np.argmin(ratios)]
        zone = zone_of_cap[binding]
        reason = limits.cap.reason if zone < 0 else limits.zone_caps[ZONES[zone]].reason
        candidates.append((float(ratios.min()), reason))
    floor = max(limits.floor.value, limits.channel.min)
    under = lower < floor - VALUE_EPSILON
    if np.any(under):
        candidates.append((float(np.min((safe - floor) / (safe - lower[under]))),
                           limits.floor.reason))
    args = (rows["start_value"], rows["end_value"], rows["amplitude"], rows["duration_s"],
            rows["period_s"])
    rate = float(np.max(rate_bound(*args)))
    if rate > limits.max_rate_per_s:
        candidates.append((limits.max_rate_per_s / rate, "how fast the channel may change"))
    if limits.max_rise_per_s is not None:
        rise = float(np.max(rise_bound(*args)))
        if rise > limits.max_rise_per_s:
            candidates.append((limits.max_rise_per_s / rise, "fastest inflation allowed"))
    if limits.hold is not None:
        candidates += _hold_factors(rows, upper, limits, limits.hold)
    factor, why = min(candidates)
    rounding = 10**SCALE_DECIMALS
    return max(math.floor(factor * rounding) / rounding, 0.0), why


def _hold_factors(rows, upper, limits: ChannelLimits,
                  hold: PressureHold) -> list[tuple[float, str]]:
    safe = limits.safe_value
    from_s, to_s = above_span(rows["start_s"], rows["duration_s"], rows["start_value"],
                              rows["end_value"], rows["amplitude"], hold.occlusion_kpa)
    above = ~np.isnan(from_s)
    found = []
    for start_s, end_s in merge_spans(from_s[above], to_s[above], hold.release_s):
        if end_s - start_s <= hold.max_hold_s + VALUE_EPSILON:
            continue
        in_stretch = above & (from_s >= start_s - VALUE_EPSILON) & (to_s <= end_s + VALUE_EPSILON)
        peak = float(upper[in_stretch].max())
        found.append(((hold.occlusion_kpa - safe) / (peak - safe),
                      f"held above {round(hold.occlusion_kpa, 1):g} kPa longer than "
                      f"{hold.max_hold_s:g} s"))
    return found


def _ramp_rate(limits: ChannelLimits) -> float:
    rate = limits.max_rate_per_s
    if limits.max_rise_per_s is not None:
        rate = min(rate, limits.max_rise_per_s)
    return rate * RAMP_RATE_SHARE


def _within(segments: list[Segment], start_s: float, end_s: float) -> list[Segment]:
    """The segments (in time order, contiguous) overlapping `start_s..end_s`."""
    first = max(bisect.bisect_right(segments, start_s, key=_start) - 1, 0)
    last = bisect.bisect_left(segments, end_s, key=_start)
    return [s for s in segments[first:last] if s.start_s < end_s and s.end_s > start_s]


def _start(segment: Segment) -> float:
    return segment.start_s


def _changes_per_step(work, limits: ChannelLimits, segments, after, why,
                      region: Region | None = None, factor: float | None = None) -> list[Change]:
    by_step: dict[int, list[Segment]] = defaultdict(list)
    for segment in segments:
        by_step[segment.step].append(segment)
    unit = limits.channel.unit
    safe = limits.safe_value
    changes = []
    for step, group in sorted(by_step.items()):
        peak = max(s.upper_bound for s in group)
        start_s = min(s.start_s for s in group)
        end_s = max(s.end_s for s in group)
        if region is not None:
            start_s, end_s = max(start_s, region.start_s), min(end_s, region.end_s)
        text_after = after
        if factor is not None:
            text_after = f"peaks at {safe + (peak - safe) * factor:g} {unit} ({after})"
        changes.append(Change(work.plan.step_label(step), limits.id, start_s, end_s,
                              f"peaks at {peak:g} {unit}", text_after, why))
    return changes
