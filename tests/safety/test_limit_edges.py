"""Every limit the segment guard applies, at its edge: just under passes, just over trips with
the limit's own violation. The guard is fed board-timeline segments as the supervisor sends
them; the chair's defaults are the limits (airbag calves: cap 16 kPa, rise 4 kPa/s, rate 8 kPa/s,
8 kPa held at most 30 s; knead: 60 cycles/min, 60 per s; heat: 42 C, 30 min, dose 0.1)."""

from __future__ import annotations

import pytest

from massagectl.routines.device import Channel, ChannelKind
from massagectl.routines.user import UserProfile
from massagectl.safety.admission import admit
from massagectl.safety.channel_limits import plan_limits
from massagectl.safety.committed import CommittedSchedule, Sent
from massagectl.safety.limits import SafetyLimits
from massagectl.safety.segment_guard import SegmentGuard
from massagectl.safety.verdicts import AdmittedPlan
from massagectl.safety.verdicts import ViolationKind as Kind
from tests.safety.plans import CHAIR, HOT_CHAIR, HOT_USER, lane, plan_of

CALVES = CHAIR.channel_index("airbag_calves")
FEET = CHAIR.channel_index("airbag_feet")
DEPTH = CHAIR.channel_index("roller_depth")
POSITION = CHAIR.channel_index("roller_position")
MID_BACK_MM = 300.0  # the carriage on the default occupant's mid back
KNEAD = CHAIR.channel_index("knead_speed")
HEAT = CHAIR.channel_index("heat_calves")
# Just over a limit: well past the guard's float tolerances (1e-9 relative, 1e-6 absolute),
# far below anything a person could feel.
OVER = 1e-5


def guard(user: UserProfile | None = None, limits=None) -> SegmentGuard:
    folded = plan_limits(CHAIR, user or UserProfile(), *(() if limits is None else (limits,)))
    return SegmentGuard(folded, CommittedSchedule(CHAIR))


def send(segment_guard: SegmentGuard, index: int, *segments: Sent) -> set[Kind]:
    """Check and commit each segment in turn; the kinds of the first refusal (empty: none)."""
    for segment in segments:
        found = segment_guard.check(index, segment, "edge")
        if found:
            return {violation.kind for violation in found}
        segment_guard.commit(index, segment)
    return set()


# (what, channel, segments just under, segments just over, the violation just over, and the
# reason it gives)
EDGES = [
    ("calves cap 16 kPa", CALVES,
     [Sent(0, 4, 0, 16)], [Sent(0, 4, 0, 16 + OVER)], Kind.ABOVE_CAP,
     "default cap for calves airbags"),
    ("knead hard max 60 cycles/min", KNEAD,
     [Sent(0, 1, 0, 60)], [Sent(0, 1.1, 0, 60 + OVER)], Kind.HARD_RANGE,
     "hard limit of knead_speed (device profile)"),
    ("airbag hard min 0 kPa", CALVES,
     [Sent(0, 1, 0, 0)], [Sent(0, 1, 0, -OVER)], Kind.HARD_RANGE,
     "hard limit of airbag_calves (device profile)"),
    ("knead rate 60 per s", KNEAD,
     [Sent(0, 1, 0, 60)], [Sent(0, 1 - OVER, 0, 60)], Kind.RATE,
     "how fast the channel may change"),
    ("knead rate of an oscillation: 2 pi A / p", KNEAD,
     [Sent(0, 10, 30, 30, 10, 2 * 3.141592653589793 * 10 / 60)],
     [Sent(0, 10, 30, 30, 10, 2 * 3.141592653589793 * 10 / 60 * (1 - OVER))], Kind.RATE,
     "how fast the channel may change"),
    ("calves rise 4 kPa/s", CALVES,
     [Sent(0, 1, 0, 4)], [Sent(0, 1 - OVER, 0, 4)], Kind.RISE,
     "fastest inflation or pressing allowed"),
    ("no rise at once after a segment", CALVES,
     [Sent(0, 1, 0, 4), Sent(1, 1, 4 + 1e-7, 4)], [Sent(0, 1, 0, 4), Sent(1, 1, 4 + OVER, 4)],
     Kind.JUMP, "values may not rise at once"),
    ("no rise at once from the safe state after a gap", CALVES,
     [Sent(5, 1, 0, 4)], [Sent(5, 1, OVER, 4)], Kind.JUMP, "values may not rise at once"),
    ("a segment no longer than max_duration_s (120 s)", KNEAD,
     [Sent(0, 120, 0, 0)], [Sent(0, 120 + OVER, 0, 0)], Kind.MALFORMED,
     "knead_speed: lasts 120 s, longer than the channel's max_duration_s 120"),
    ("a segment does not start before the previous ends", KNEAD,
     [Sent(0, 10, 0, 0), Sent(10 - 1e-7, 1, 0, 0)], [Sent(0, 10, 0, 0), Sent(10 - OVER, 1, 0, 0)],
     Kind.MALFORMED, "knead_speed: starts at 10.000 s, before the previous knead_speed segment "
     "ends at 10.000 s"),
    # Above 8 kPa from 2.0 s (rising at 4 kPa/s) until 0.25 s into the fall from 9 kPa.
    ("calves above 8 kPa at most 30 s", CALVES,
     [Sent(0, 2.25, 0, 9), Sent(2.25, 29.5, 9, 9), Sent(31.75, 2.25, 9, 0)],
     [Sent(0, 2.25, 0, 9), Sent(2.25, 29.5 + OVER, 9, 9), Sent(31.75 + OVER, 2.25, 9, 0)],
     Kind.HOLD, "time above the occlusion-risk pressure of 8 kPa"),
    ("heat on at most 30 min", HEAT,
     [Sent(300 * i, 300, 40, 40) for i in range(6)],
     [*(Sent(300 * i, 300, 40, 40) for i in range(6)), Sent(1800, OVER, 40, 40)],
     Kind.HEAT_TIME, "heat timeout"),
    ("heat cap 42 C", HEAT,
     [Sent(0, 10, 42, 42)], [Sent(0, 10, 42 + OVER, 42)], Kind.ABOVE_CAP, "default heat cap"),
]


@pytest.mark.parametrize(("what", "index", "under", "over", "kind", "reason"), EDGES,
                         ids=[edge[0] for edge in EDGES])
def test_each_limit_passes_at_its_edge_and_trips_just_over(what, index, under, over, kind,
                                                           reason):
    assert send(guard(), index, *under) == set(), what
    over_guard = guard()
    *before, last = over
    assert send(over_guard, index, *before) == set()
    found = [v for v in over_guard.check(index, last, "steps[1] (work)") if v.kind is kind]
    assert found, what
    assert all(str(v).startswith("steps[1] (work)") for v in found), what
    assert any(v.reason == reason for v in found), [v.reason for v in found]


def test_a_channel_index_the_device_lacks_is_malformed():
    [violation] = guard().check(len(CHAIR.channels), Sent(0, 1, 0, 0), "segment 7")
    assert (violation.kind, str(violation)) == (
        Kind.MALFORMED, f"segment 7: channel index {len(CHAIR.channels)} does not exist on "
        "device 'chair'")


def test_a_cooler_on_an_injured_zone_stays_at_its_off_value():
    # Cooling is off at the top of its range: an injured zone's cooler is held there, and a
    # set point a hundredth of a degree below it is refused as below the floor.
    cool = Channel(id="cool_calves", kind=ChannelKind.COOL, zone="calves", min=10.0, max=35.0,
                   safe_default=35.0, max_rate_per_s=2.0, max_duration_s=300.0)
    pad = CHAIR.model_copy(update={"channels": (*CHAIR.channels, cool)})
    limits = plan_limits(pad, UserProfile(injury_zones={"calves"}))
    index = len(CHAIR.channels)
    at_off = SegmentGuard(limits, CommittedSchedule(pad))
    assert at_off.check(index, Sent(0, 10, 35, 35), "x") == []
    below = SegmentGuard(limits, CommittedSchedule(pad))
    [violation] = below.check(index, Sent(0, 10, 34.99, 34.99), "steps[0] (cool)")
    assert violation.kind is Kind.BELOW_FLOOR
    assert str(violation) == ("steps[0] (cool): cool_calves on calves goes down to 34.99 C, "
                              "below the limit of 35 C (injury zone calves: skipped)")


def test_a_zone_cap_under_the_roller_at_its_edge_named_in_the_refusal():
    # An injured mid back: the roller's depth there is held at its safe default, 0 mm.
    injured = UserProfile(injury_zones={"mid_back"})
    carriage = Sent(0, 10, MID_BACK_MM, MID_BACK_MM)
    at_cap = guard(injured)
    assert send(at_cap, POSITION, carriage) == set()
    assert send(at_cap, DEPTH, Sent(0, 1, 0, 0)) == set()
    over = guard(injured)
    send(over, POSITION, carriage)
    [violation] = over.check(DEPTH, Sent(0, 1, 0, OVER), "steps[3] (knead)")
    assert (violation.kind, violation.zone) == (Kind.ABOVE_CAP, "mid_back")
    assert str(violation) == ("steps[3] (knead): roller_depth on mid_back reaches 1e-05 mm, above "
                              "the limit of 0 mm (injury zone mid_back: skipped)")


def test_a_violation_names_its_step_value_limit_reason_and_unit():
    [rate] = guard().check(KNEAD, Sent(0, 0.5, 0, 60), "steps[0] (warm up)")
    assert str(rate) == ("steps[0] (warm up): knead_speed changes at 120 cycles/min/s, faster "
                         "than 60 cycles/min/s (how fast the channel may change)")
    assert (rate.channel, rate.value, rate.limit, rate.unit) == ("knead_speed", 120.0, 60.0,
                                                                  "cycles/min")
    # A time budget's value and limit are seconds, not the channel's unit.
    calves = guard()
    send(calves, CALVES, Sent(0, 2.25, 0, 9))
    [hold] = calves.check(CALVES, Sent(2.25, 40, 9, 9), "x")
    assert str(hold) == ("x: airbag_calves on calves stays high for 40.25 s, longer than 30 s "
                         "(time above the occlusion-risk pressure of 8 kPa)")
    assert hold.unit == ""


def test_a_jump_refusal_names_the_step_the_rise_and_the_limit():
    calves = guard()
    send(calves, CALVES, Sent(0, 1, 0, 4))
    [jump] = calves.check(CALVES, Sent(1, 1, 6, 6), "steps[2] (press)")
    assert str(jump) == ("steps[2] (press): airbag_calves on calves rises by 2 kPa at once; it may "
                         "rise at most 4 kPa/s (values may not rise at once)")


def test_moving_the_carriage_under_pressing_work_names_every_channel_it_would_break():
    # Depth and kneading both run while the carriage moves onto an injured mid back.
    injured = guard(UserProfile(injury_zones={"mid_back"}))
    assert send(injured, POSITION, Sent(0, 4, 100, 100)) == set()  # on the lower back
    assert send(injured, DEPTH, Sent(0, 1, 0, 5), Sent(1, 9, 5, 5)) == set()
    assert send(injured, KNEAD, Sent(0, 1, 0, 20), Sent(1, 9, 20, 20)) == set()
    found = injured.check(POSITION, Sent(4, 4, 100, MID_BACK_MM), "steps[5] (stroke)")
    assert {(v.channel, v.zone) for v in found} == {("roller_depth", "mid_back"),
                                                   ("knead_speed", "mid_back")}
    assert all(str(v).startswith("steps[5] (stroke): ") for v in found)


@pytest.mark.parametrize(("below_s", "refused"), [(9.99, True), (10.0, False)])
def test_a_pressure_stretch_ends_only_after_release_s_below_the_level(below_s, refused):
    # 25 s above 8 kPa, then below it for `below_s`, then above again for 20 s: a release
    # shorter than 10 s continues the stretch (45 s > 30 s), a full one starts a new one.
    calves = guard()
    first = [Sent(0, 2.25, 0, 9), Sent(2.25, 24.75, 9, 9), Sent(27, 2.25, 9, 0)]
    assert send(calves, CALVES, *first) == set()
    back = 27.25 + below_s - 2.0  # the next rise passes 8 kPa 2 s after it starts
    again = [Sent(back, 2.25, 0, 9), Sent(back + 2.25, 20, 9, 9)]
    assert (send(calves, CALVES, *again) == {Kind.HOLD}) is refused


def test_a_bag_held_at_the_occlusion_level_itself_is_not_above_it():
    # The last segment ends at exactly 8 kPa and the board holds it for 15 s: not above the
    # level, so the stretch ended with the fall to it, and the next squeeze starts a new one.
    calves = guard()
    squeeze = [Sent(0, 2.25, 0, 9), Sent(2.25, 20, 9, 9), Sent(22.25, 0.25, 9, 8)]
    assert send(calves, CALVES, *squeeze) == set()
    assert send(calves, CALVES, Sent(37.5, 2.25, 0, 9), Sent(39.75, 20, 9, 9)) == set()


def test_overdue_names_every_channel_the_board_is_holding_too_long():
    both = guard()
    for index in (CALVES, FEET):
        assert send(both, index, Sent(0, 2.25, 0, 9), Sent(2.25, 20, 9, 9)) == set()
    assert send(both, HEAT, *(Sent(300 * i, 300, 40, 40) for i in range(6))) == set()
    found = both.overdue(1800.1)
    assert sorted((v.channel, v.kind) for v in found) == [
        ("airbag_calves", Kind.HOLD), ("airbag_feet", Kind.HOLD), ("heat_calves", Kind.HEAT_TIME)]
    hold = next(v for v in found if v.channel == "airbag_calves")
    assert str(hold).startswith("airbag_calves held after its last segment: ")
    # A bag that stayed below its occlusion level has no stretch to judge.
    low = guard()
    assert send(low, CALVES, Sent(0, 1, 0, 4), Sent(1, 20, 4, 4)) == set()
    assert low.overdue(100.0) == []


def test_the_thermal_dose_budget_at_its_edge():
    # At 44 C (45 C with the thermostat's overshoot) a burn takes 3 h; a tenth of it is 1080 s.
    heat_for = [Sent(300 * i, 300, 44, 44) for i in range(3)]
    assert send(guard(HOT_USER, HOT_CHAIR), HEAT, *heat_for, Sent(900, 179.9, 44, 44)) == set()
    over = send(guard(HOT_USER, HOT_CHAIR), HEAT, *heat_for, Sent(900, 180.1, 44, 44))
    assert over == {Kind.THERMAL_DOSE}


def test_heat_at_its_off_value_counts_as_off_sent_or_held():
    # 25 min at 40 C, then off: segments at 0 C and a board holding 0 C add no heat time, so
    # another 4.5 min of heat later still fits the 30 min timeout.
    heat = guard()
    on = [Sent(300 * i, 300, 40, 40) for i in range(5)]
    off = [Sent(1500, 8, 40, 0), Sent(1508, 300, 0, 0), Sent(1808, 300, 0, 0)]
    assert send(heat, HEAT, *on, *off) == set()
    [timeout] = heat.check(HEAT, Sent(2408, 292.1, 40, 40), "steps[9] (heat)")
    assert send(heat, HEAT, Sent(2408, 284, 40, 40)) == set()  # after a 300 s gap, held at 0
    assert str(timeout) == ("steps[9] (heat): heat_calves on calves heats for 30.0 min, longer "
                            "than 30 min (heat timeout)")
    assert (timeout.value, timeout.limit, timeout.unit) == (pytest.approx(1800.1), 1800.0, "")


def test_a_held_hot_value_counts_its_dose_at_the_set_point_plus_overshoot():
    # 44 C set, 45 C with the thermostat's overshoot: a tenth of a burn after 1080 s, 900 s of
    # them sent and the rest held by the board after the last segment.
    hot = guard(HOT_USER, HOT_CHAIR)
    assert send(hot, HEAT, *(Sent(300 * i, 300, 44, 44) for i in range(3))) == set()
    assert hot.overdue(1079.9) == []
    [dose] = hot.overdue(1080.1)
    assert dose.kind is Kind.THERMAL_DOSE and dose.value == pytest.approx(0.1, rel=1e-3)
    assert str(dose) == ("heat_calves held after its last segment: heat_calves on calves reaches "
                         "10.0% of a burn dose, above the 10% budget (planned thermal dose)")
    assert (dose.limit, dose.unit) == (0.1, "")


def test_a_held_last_value_counts_against_the_budgets_until_max_duration():
    # Heat on for 1700 s, then the board holds 40 C after the last segment: 100 s more of it
    # is the whole heat timeout, and the guard says so when the board is past it.
    heat = guard()
    assert send(heat, HEAT, *(Sent(300 * i, 300, 40, 40) for i in range(5)),
                Sent(1500, 200, 40, 40)) == set()
    assert heat.overdue(1800.0) == []
    assert {v.kind for v in heat.overdue(1800.0 + 1e-3)} == {Kind.HEAT_TIME}
    # Pressure: above 8 kPa from 2.0 s, the last segment holds 9 kPa from 22.25 s on.
    calves = guard()
    assert send(calves, CALVES, Sent(0, 2.25, 0, 9), Sent(2.25, 20, 9, 9)) == set()
    assert calves.overdue(32.0) == []
    assert {v.kind for v in calves.overdue(32.0 + 1e-3)} == {Kind.HOLD}


# --- admission, the first tier: the same limits over a whole plan ----------------------------

def admission_kinds(*lanes, user=None, limits=None) -> set[Kind]:
    verdict = admit(plan_of(CHAIR, *lanes), CHAIR, user or UserProfile(),
                    *(() if limits is None else (limits,)))
    return set() if isinstance(verdict, AdmittedPlan) else {v.kind for v in verdict.violations}


ADMISSION_EDGES = [
    ("calves cap 16 kPa",
     lane("airbag_calves", (4, 0, 16, 0), (4, 16, 0, 2)),
     lane("airbag_calves", (4, 0, 16 + OVER, 0), (4, 16 + OVER, 0, 2)), Kind.ABOVE_CAP),
    ("calves rise 4 kPa/s",
     lane("airbag_calves", (2, 0, 8, 0), (2, 8, 0, 2)),
     lane("airbag_calves", (2 - OVER, 0, 8, 0), (2, 8, 0, 2)), Kind.RISE),
    # Plan times are whole milliseconds: just over is a millisecond shorter. (The owner lowers
    # the travel speed to 40 mm/s below; a plan past the device's own rate is malformed.)
    ("travel speed 40 mm/s",
     lane("roller_position", (1, 100, 140, 1)),
     lane("roller_position", (0.999, 100, 140, 1)), Kind.RATE),
    # Above 8 kPa from 2.0 s (rising at 4 kPa/s) until 0.25 s into the fall from 9 kPa.
    ("calves above 8 kPa at most 30 s",
     lane("airbag_calves", (2.25, 0, 9, 0), (29.5, 9, 9, 1), (2.25, 9, 0, 2)),
     lane("airbag_calves", (2.25, 0, 9, 0), (29.6, 9, 9, 1), (2.25, 9, 0, 2)), Kind.HOLD),
    # On from the first millisecond of the ramp up to the last of the ramp down.
    ("heat on at most 30 min (in a 60 min session)",
     lane("heat_calves", (8, 0, 40, 0), (1784, 40, 40, 1), (8, 40, 0, 2)),
     lane("heat_calves", (8, 0, 40, 0), (1784.001, 40, 40, 1), (8, 40, 0, 2)), Kind.HEAT_TIME),
]


@pytest.mark.parametrize(("what", "under", "over", "kind"), ADMISSION_EDGES,
                         ids=[edge[0] for edge in ADMISSION_EDGES])
def test_admission_passes_each_limit_at_its_edge_and_refuses_just_over(what, under, over, kind):
    long_sessions = SafetyLimits(session={"cap_min": 60},
                                 roller={"travel_speed_mm_per_s": 40})
    assert admission_kinds(under, limits=long_sessions) == set(), what
    assert kind in admission_kinds(over, limits=long_sessions), what


def test_the_session_cap_at_its_edge_names_the_config_key_and_the_maximum():
    assert admission_kinds(lane("knead_speed", (30 * 60, 0, 0, 1))) == set()
    verdict = admit(plan_of(CHAIR, lane("knead_speed", (30 * 60 + 0.001, 0, 0, 1))), CHAIR,
                    UserProfile())
    [violation] = verdict.violations
    assert violation.kind is Kind.SESSION
    assert str(violation) == ("plan at 1800.0 s: lasts 30.0 min, longer than the 30 min session "
                              "cap (the owner may raise it up to 60 min in the config: "
                              "[limits.session] cap_min)")


@pytest.mark.parametrize(("segment", "problem"), [
    (Sent(0, 1, float("nan"), 0), "a value is not a finite number"),
    (Sent(0, 0, 0, 0), "the segment has no positive duration"),
    (Sent(0, 1, 10, 10, 5, 0), "an oscillation needs a positive period"),
])
def test_a_malformed_segment_says_what_is_wrong_with_it(segment, problem):
    [violation] = guard().check(KNEAD, segment, "x")
    assert (violation.kind, violation.channel) == (Kind.MALFORMED, "knead_speed")
    assert violation.reason == f"knead_speed: {problem}"
    [on_calves] = guard().check(CALVES, segment, "x")  # a zone's channel names its zone
    assert (on_calves.channel, on_calves.zone) == ("airbag_calves", "calves")
    # A short period is no mistake: kneading may swing twice a second within its rate.
    assert guard().check(KNEAD, Sent(0, 1, 10, 10, 1, 0.5), "x") == []


def test_a_session_whose_whole_heat_allowance_is_one_segment():
    # An owner who allows 5 min of heat: the first 5 min segment uses all of it.
    owner = SafetyLimits(heat={"max_on_s": 300})
    assert send(guard(limits=owner), HEAT, Sent(0, 300, 40, 40)) == set()
    assert send(guard(limits=owner), HEAT, Sent(0, 300, 40, 40), Sent(300, 0.01, 40, 40)) == \
        {Kind.HEAT_TIME}


def test_a_segment_both_too_fast_and_on_a_capped_zone_is_refused_for_both():
    injured = guard(UserProfile(injury_zones={"mid_back"}))
    send(injured, POSITION, Sent(0, 10, MID_BACK_MM, MID_BACK_MM))
    found = injured.check(DEPTH, Sent(0, 0.1, 0, 5), "x")  # 50 mm/s, and on the mid back
    assert {v.kind for v in found} >= {Kind.RATE, Kind.ABOVE_CAP}
