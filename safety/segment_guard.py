"""The second tier's segment check: one outgoing segment against the admitted limits and what
the board already holds. It does not trust admission: it recomputes every bound itself.

Checked per segment (board seconds): well formed (finite, positive duration and period, not
longer than the channel's max_duration_s, not overlapping the previous one); hard range, cap and
floor; rate and rise; no rise at once from what the board holds; the roller's zone caps (from
the carriage positions already sent, and for a new carriage segment, every roller segment it
moves under); the airbag's time above its occlusion-risk pressure, continued across segments;
heat on-time and planned thermal dose of the session (`safety.chair_time`: every plan of one
session adds to the same records, so a resume starts from what was spent, not from zero).
"""

from __future__ import annotations

import math

from massagectl.routines.plan import TIME_EPSILON_S
from massagectl.safety.body_map import BackZoneMap
from massagectl.safety.chair_time import HeatSpent
from massagectl.safety.channel_limits import (
    ChannelLimits,
    HeatBudget,
    PlanLimits,
    PressureHold,
)
from massagectl.safety.committed import CommittedSchedule, Sent
from massagectl.safety.plan_audit import JUMP_TOLERANCE, VALUE_EPSILON
from massagectl.safety.segment_math import above_span, rate_bound, rise_bound
from massagectl.safety.thermal_dose import dose_rate_per_s
from massagectl.safety.verdicts import Violation
from massagectl.safety.verdicts import ViolationKind as Kind


class SegmentGuard:
    """Checks and then records outgoing segments (`check`, then `commit` if it passed)."""

    def __init__(self, limits: PlanLimits, schedule: CommittedSchedule,
                 heat_spent: dict[int, HeatSpent] | None = None) -> None:
        self.limits = limits
        self.schedule = schedule
        self._stretch: dict[int, tuple[float, float]] = {}  # airbag: (start_s, above until)
        # Per heat channel, what the session spent (shared with its ChairTime); sent segments
        # count in full when committed. Cool channels keep their cooling time here too.
        self.heat_spent = heat_spent if heat_spent is not None else {}

    def after_stop(self, safe_from_s: float | None = None) -> None:
        """The board dropped everything: bags vent, so no pressure stretch continues. Call it
        before the schedule is cleared; with `safe_from_s` (board seconds by which the board
        was seen safe), the heat sent for after that moment never ran and is given back."""
        self._stretch.clear()
        if safe_from_s is None:
            return
        for index, spent in self.heat_spent.items():
            limits = self.limits.channels[index]
            for sent in self.schedule.sent[index]:
                unrun_s = sent.end_s - max(sent.start_s, safe_from_s)
                if unrun_s <= 0:
                    continue
                if limits.cold is not None and sent.lower < limits.safe_value:
                    spent.on_s -= unrun_s
                elif limits.heat is not None and sent.upper > limits.safe_value + VALUE_EPSILON:
                    spent.on_s -= unrun_s
                    spent.dose -= dose_rate_per_s(sent.upper + limits.heat.overshoot_c) * unrun_s

    def check(self, index: int, segment: Sent, label: str) -> list[Violation]:
        channels = self.limits.channels
        if not 0 <= index < len(channels):
            return [Violation(Kind.MALFORMED, label, f"channel index {index} does not exist on "
                              f"device {self.limits.device.name!r}")]
        limits = channels[index]
        found = _form_violations(limits, segment, label, self.schedule.last(index))
        if found:
            return found
        found += _value_violations(limits, segment, label)
        found += self._jump_violations(index, limits, segment, label)
        # Zone caps need the body map, which a device without a roller track has not (as in
        # plan_audit); the carriage's own channel exists only on a device with a track.
        back_map = self.limits.back_map
        if limits.is_roller_work and limits.zone_caps and back_map is not None:
            found += self._zone_violations(limits, back_map, segment, label)
        if index == self.schedule.position_index and back_map is not None:
            found += self._moves_under(index, back_map, segment, label)
        if limits.hold is not None:
            found += self._hold_violations(index, limits, limits.hold, segment, label)
        if limits.heat is not None:
            found += self._heat_violations(index, limits, limits.heat, segment,
                                           segment.start_s, label)
        if limits.cold is not None:
            on_s = self._cold_after(index, limits, segment)
            if on_s > limits.cold.max_on_s + VALUE_EPSILON:
                found.append(_violation(Kind.COLD_TIME, limits, label, on_s,
                                        limits.cold.max_on_s, "one cold application", unit=""))
        return found

    def commit(self, index: int, segment: Sent) -> None:
        limits = self.limits.channels[index]
        if limits.hold is not None:
            stretch = self._stretch_with(index, limits, limits.hold, segment)
            if stretch is not None:
                self._stretch[index] = stretch
        if limits.heat is not None:
            spent = self.heat_spent.setdefault(index, HeatSpent())
            spent.on_s, spent.dose = self._heat_after(index, limits, limits.heat,
                                                      segment.start_s, segment)
        if limits.cold is not None:
            self.heat_spent.setdefault(index, HeatSpent()).on_s = self._cold_after(
                index, limits, segment)
        self.schedule.add(index, segment)

    def _cold_after(self, index, limits: ChannelLimits, segment: Sent) -> float:
        """Cooling time of the session with `segment` added (the board holding the last value
        until it starts counts too)."""
        spent = self.heat_spent.get(index)
        on_s = 0.0 if spent is None else spent.on_s
        off = limits.safe_value - VALUE_EPSILON
        last = self.schedule.last(index)
        if last is not None and last.value_at(last.end_s) < off:
            on_s += _held(last, limits, segment.start_s)
        return on_s + (segment.duration_s if segment.lower < off else 0.0)

    def _jump_violations(self, index, limits: ChannelLimits, segment: Sent, label):
        if limits.max_rise_per_s is None:
            return []
        last = self.schedule.last(index)
        held = limits.safe_value
        # Only a segment that follows at once starts from where the last one ended; after any
        # gap the board has put the channel in its safe state (hardware.md 4.10).
        if last is not None and segment.start_s - last.end_s <= TIME_EPSILON_S:
            held = last.value_at(last.end_s)
        jump = segment.start_value - held
        if jump <= JUMP_TOLERANCE:
            return []
        return [_violation(Kind.JUMP, limits, label, jump, limits.max_rise_per_s,
                           "values may not rise at once")]

    def _zone_violations(self, limits: ChannelLimits, back_map: BackZoneMap, segment: Sent,
                         label) -> list[Violation]:
        low, high = self.schedule.position_range(segment.start_s, segment.end_s)
        cap, zone = limits.cap_on(back_map.zones_touching(low, high))
        if segment.upper <= cap.value + VALUE_EPSILON:
            return []
        return [_violation(Kind.ABOVE_CAP, limits, label, segment.upper, cap.value, cap.reason,
                           zone=zone)]

    def _moves_under(self, position_index: int, back_map: BackZoneMap, segment: Sent,
                     label) -> list[Violation]:
        """A carriage move must not bring the roller onto a zone whose cap its work exceeds."""
        found: list[Violation] = []
        positions = self.schedule.sent[position_index]
        positions.append(segment)  # as if sent, then taken back
        try:
            for limits in self.limits.channels:
                if not (limits.is_roller_work and limits.zone_caps):
                    continue
                for work in self.schedule.sent[limits.index]:
                    if work.end_s > segment.start_s:
                        found += self._zone_violations(limits, back_map, work, label)
        finally:
            positions.pop()
        return found

    def _stretch_with(self, index, limits: ChannelLimits, hold: PressureHold, segment: Sent):
        """The pressure stretch this segment continues or starts, or None if it stays below."""
        from_s, to_s = above_span(segment.start_s, segment.duration_s, segment.start_value,
                                  segment.end_value, segment.amplitude, hold.occlusion_kpa)
        if math.isnan(from_s):
            return None
        previous = self._stretch.get(index)
        if previous is None:
            return float(from_s), float(to_s)
        above_until = self._above_until(index, limits, hold, previous, segment.start_s)
        if from_s - above_until < hold.release_s:
            return previous[0], float(to_s)
        return float(from_s), float(to_s)

    def _above_until(self, index, limits: ChannelLimits, hold: PressureHold, stretch,
                     until_s: float) -> float:
        """End of the stretch, counting the board holding the last value above the level."""
        last = self.schedule.last(index)
        if last is not None and last.value_at(last.end_s) > hold.occlusion_kpa:
            return max(stretch[1], last.end_s + _held(last, limits, until_s))
        return stretch[1]

    def _hold_violations(self, index, limits: ChannelLimits, hold: PressureHold, segment: Sent,
                         label):
        stretch = self._stretch_with(index, limits, hold, segment)
        if stretch is None:
            return []
        return self._hold_over(limits, hold, stretch[1] - stretch[0], label)

    def _hold_over(self, limits: ChannelLimits, hold: PressureHold, held_s: float,
                   label) -> list[Violation]:
        if held_s <= hold.max_hold_s + VALUE_EPSILON:
            return []
        return [_violation(Kind.HOLD, limits, label, held_s, hold.max_hold_s,
                           f"time above the occlusion-risk pressure of "
                           f"{round(hold.occlusion_kpa, 1):g} kPa", unit="")]

    def _heat_after(self, index, limits: ChannelLimits, heat: HeatBudget, until_s: float,
                    segment: Sent | None = None) -> tuple[float, float]:
        """Heat on-time and planned dose up to `until_s`, with `segment` added if given."""
        spent = self.heat_spent.get(index)
        on_s, dose = (spent.on_s, spent.dose) if spent is not None else (0.0, 0.0)
        safe = limits.safe_value
        last = self.schedule.last(index)
        if last is not None:
            held_value = last.value_at(last.end_s)
            if held_value > safe + VALUE_EPSILON:  # the board holds it until then
                held_s = _held(last, limits, until_s)
                on_s += held_s
                dose += dose_rate_per_s(held_value + heat.overshoot_c) * held_s
        if segment is not None and segment.upper > safe + VALUE_EPSILON:
            on_s += segment.duration_s
            dose += dose_rate_per_s(segment.upper + heat.overshoot_c) * segment.duration_s
        return on_s, dose

    def _heat_violations(self, index, limits: ChannelLimits, heat: HeatBudget,
                         segment: Sent | None, until_s: float, label):
        on_s, dose = self._heat_after(index, limits, heat, until_s, segment)
        found = []
        if on_s > heat.max_on_s + VALUE_EPSILON:
            found.append(_violation(Kind.HEAT_TIME, limits, label, on_s, heat.max_on_s,
                                    "heat timeout", unit=""))
        if dose > heat.dose_budget:
            found.append(_violation(Kind.THERMAL_DOSE, limits, label, dose,
                                    heat.dose_budget, "planned thermal dose", unit=""))
        return found

    def overdue(self, board_s: float) -> list[Violation]:
        """Budgets the board is breaking now by holding a last value with nothing after it.

        Segments are sent a few seconds ahead; a session that stops sending (a hang, a pause
        that left a bag inflated) leaves the board holding the last value for up to the
        channel's max_duration_s. The supervisor calls this on its timer.
        """
        found = []
        for limits in self.limits.channels:
            last = self.schedule.last(limits.index)
            if last is None or board_s <= last.end_s:
                continue
            label = f"{limits.id} held after its last segment"
            stretch = self._stretch.get(limits.index)
            if limits.hold is not None and stretch is not None:
                above_until = self._above_until(limits.index, limits, limits.hold, stretch,
                                                board_s)
                found += self._hold_over(limits, limits.hold, above_until - stretch[0], label)
            if limits.heat is not None:
                found += self._heat_violations(limits.index, limits, limits.heat, None, board_s,
                                               label)
        return found


def _held(last: Sent, limits: ChannelLimits, until_s: float) -> float:
    """How long the board holds `last`'s final value until `until_s` (up to max_duration_s)."""
    if limits.channel.safe_default is None:
        return 0.0
    return max(0.0, min(until_s, last.end_s + limits.channel.max_duration_s) - last.end_s)


def _form_violations(limits: ChannelLimits, segment: Sent, label, last: Sent | None):
    numbers = (segment.start_s, segment.duration_s, segment.start_value, segment.end_value,
               segment.amplitude, segment.period_s)
    channel = limits.channel
    problem = None
    if not all(math.isfinite(x) for x in numbers):
        problem = "a value is not a finite number"
    elif segment.duration_s <= 0:
        problem = "the segment has no positive duration"
    elif segment.amplitude != 0 and segment.period_s <= 0:
        problem = "an oscillation needs a positive period"
    elif segment.duration_s > channel.max_duration_s + TIME_EPSILON_S:
        problem = (f"lasts {segment.duration_s:g} s, longer than the channel's max_duration_s "
                   f"{channel.max_duration_s:g}")
    elif last is not None and segment.start_s < last.end_s - TIME_EPSILON_S:
        problem = (f"starts at {segment.start_s:.3f} s, before the previous {channel.id} segment "
                   f"ends at {last.end_s:.3f} s")
    if problem is None:
        return []
    return [Violation(Kind.MALFORMED, label, f"{channel.id}: {problem}", channel=channel.id,
                      zone=channel.zone)]


def _value_violations(limits: ChannelLimits, segment: Sent, label) -> list[Violation]:
    channel = limits.channel
    found = []
    upper, lower = segment.upper, segment.lower
    hard = f"hard limit of {channel.id} (device profile)"
    if upper > channel.max:
        found.append(_violation(Kind.HARD_RANGE, limits, label, upper, channel.max, hard))
    elif upper > limits.cap.value + VALUE_EPSILON:
        found.append(_violation(Kind.ABOVE_CAP, limits, label, upper, limits.cap.value,
                                limits.cap.reason))
    if lower < channel.min:
        found.append(_violation(Kind.HARD_RANGE, limits, label, lower, channel.min, hard))
    elif lower < limits.floor.value - VALUE_EPSILON:
        found.append(_violation(Kind.BELOW_FLOOR, limits, label, lower, limits.floor.value,
                                limits.floor.reason))
    shape = (segment.start_value, segment.end_value, segment.amplitude, segment.duration_s,
             segment.period_s)
    rate = float(rate_bound(*shape))
    if rate > limits.max_rate_per_s * (1 + VALUE_EPSILON):
        found.append(_violation(Kind.RATE, limits, label, rate, limits.max_rate_per_s,
                                "how fast the channel may change"))
    if limits.max_rise_per_s is not None:
        rise = float(rise_bound(*shape))
        if rise > limits.max_rise_per_s * (1 + VALUE_EPSILON):
            found.append(_violation(Kind.RISE, limits, label, rise, limits.max_rise_per_s,
                                    "fastest inflation or pressing allowed"))
    return found


def _violation(kind, limits: ChannelLimits, label, value, limit, reason, zone=None,
               unit=None) -> Violation:
    return Violation(kind, label, reason, channel=limits.id,
                     zone=zone if zone is not None else limits.channel.zone,
                     value=float(value), limit=float(limit),
                     unit=str(limits.channel.unit) if unit is None else unit)
