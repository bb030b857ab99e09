"""Admission by example: what is refused, how a refusal reads, and what is skipped."""

from __future__ import annotations

import pytest

from massagectl.routines.errors import RefusedError
from massagectl.routines.user import UserProfile
from massagectl.safety.admission import admit
from massagectl.safety.limits import SafetyLimits
from massagectl.safety.verdicts import AdmittedPlan, Refusal, ViolationKind
from tests.safety.plans import CHAIR, HOT_CHAIR, HOT_USER, PAD, lane, plan_of, squeeze, travel

LOWER_BACK_MM = 100.0  # track mm on the lower back of the default occupant (chair)
MID_BACK_MM = 300.0


def refused(verdict) -> Refusal:
    assert isinstance(verdict, Refusal), getattr(verdict, "report", lambda: verdict)()
    return verdict


def admitted(verdict) -> AdmittedPlan:
    assert isinstance(verdict, AdmittedPlan), str(verdict)
    return verdict


def kinds(verdict: Refusal) -> set[ViolationKind]:
    return {v.kind for v in verdict.violations}


def roller_plan(depth_mm: float = 20.0, tap_hz: float = 0.0):
    """Roller on the lower back for 30 s, then on the mid back for 30 s, pressing throughout."""
    position = travel([LOWER_BACK_MM, LOWER_BACK_MM, MID_BACK_MM, MID_BACK_MM], leg_s=20)
    depth = lane("roller_depth", (4, 0, depth_mm, 0), (52, depth_mm, depth_mm, 1),
                 (4, depth_mm, 0, 2))
    lanes = [position, depth]
    if tap_hz:
        lanes.append(lane("tap_rate", (2, 0, tap_hz, 0), (56, tap_hz, tap_hz, 1),
                          (2, tap_hz, 0, 2)))
    return plan_of(CHAIR, *lanes)


def test_a_plain_plan_for_a_default_user_is_admitted_unchanged():
    plan = plan_of(CHAIR, squeeze("airbag_shoulders", 15.0, 30.0), travel([0, 200, 0], 20))
    verdict = admitted(admit(plan, CHAIR, UserProfile()))
    assert verdict.plan is plan and verdict.changes == ()
    assert verdict.auto_off_s == 30 * 60


def test_a_refusal_names_step_zone_time_value_limit_and_reason():
    plan = plan_of(CHAIR, squeeze("airbag_calves", 12.0, 20.0))
    verdict = refused(admit(plan, CHAIR, UserProfile(precautions={"dvt"})))
    assert {v.step for v in verdict.violations} == {"steps[0] (warm up)", "steps[1] (work)",
                                                    "steps[2] (cool down)"}
    work = next(v for v in verdict.violations if v.step == "steps[1] (work)")
    assert (work.channel, work.zone, work.time_s, work.value, work.limit, work.unit) == (
        "airbag_calves", "calves", 5.0, 12.0, 0.0, "kPa")
    assert str(work) == (
        "steps[1] (work) at 5.0 s: airbag_calves on calves reaches 12 kPa, above the limit of "
        "0 kPa (deep vein thrombosis: no compression or kneading of calves and feet, which can "
        "dislodge a clot)"
    )
    with pytest.raises(RefusedError) as caught:
        raise verdict.error()
    assert "airbag_calves on calves reaches 12 kPa" in str(caught.value)


def test_an_oscillation_peak_between_in_range_endpoints_is_caught():
    # Centre 12 kPa on the arms, swinging +-5: the ends are within the 16 kPa cap, the peaks
    # (17 kPa) are not.
    arms = lane("airbag_arms", (3, 0, 12, 0), (10, 12, 12, 5, 10, 1), (3, 12, 0, 2))
    verdict = refused(admit(plan_of(CHAIR, arms), CHAIR, UserProfile()))
    [violation] = verdict.violations
    assert violation.kind is ViolationKind.ABOVE_CAP and violation.value == 17.0
    assert violation.limit == 16.0


def test_time_at_occlusion_pressure_is_budgeted_across_short_releases():
    # Calves: 8 kPa occlusion level, 30 s budget, a stretch ends after 10 s below.
    ok = plan_of(CHAIR, squeeze("airbag_calves", 10.0, 20.0))
    admitted(admit(ok, CHAIR, UserProfile()))
    too_long = plan_of(CHAIR, squeeze("airbag_calves", 10.0, 40.0))
    [violation] = refused(admit(too_long, CHAIR, UserProfile())).violations
    assert violation.kind is ViolationKind.HOLD and violation.limit == 30.0
    # Two 20 s squeezes with a 4 s dip below 8 kPa between them count as one 44 s stretch.
    twice = lane("airbag_calves", (5, 0, 10, 0), (20, 10, 10, 1), (2, 10, 6, 1), (2, 6, 10, 1),
                 (20, 10, 10, 1), (5, 10, 0, 2))
    assert kinds(refused(admit(plan_of(CHAIR, twice), CHAIR, UserProfile()))) == {
        ViolationKind.HOLD}


def test_inflating_faster_than_the_rise_limit_is_refused():
    # 6 kPa/s is within the pump's 8 kPa/s but above the 4 kPa/s allowed on calves.
    fast = lane("airbag_calves", (2, 0, 12, 0), (5, 12, 12, 1), (6, 12, 0, 2))
    assert ViolationKind.RISE in kinds(refused(admit(plan_of(CHAIR, fast), CHAIR,
                                                     UserProfile())))


def test_heat_cap_timeout_and_thermal_dose():
    def heat(peak: float, hold_s: float):
        return plan_of(CHAIR, lane("heat_calves", (10, 0, peak, 0), (hold_s, peak, peak, 1),
                                   (10, peak, 0, 2)))

    assert kinds(refused(admit(heat(44, 60), CHAIR, UserProfile()))) == {ViolationKind.ABOVE_CAP}
    owner = SafetyLimits(session={"cap_min": 60})
    long_heat = refused(admit(heat(40, 35 * 60), CHAIR, UserProfile(), owner))
    assert kinds(long_heat) == {ViolationKind.HEAT_TIME}
    # An owner may raise the heat cap, and a user choose it, up to the 45 C contact hard limit:
    # set points up to 44 C (the thermostat overshoots by 1 C). There the dose budget, a tenth
    # of a burn, ends heat after ~18 min.
    too_hot = refused(admit(heat(45, 60), CHAIR, HOT_USER, HOT_CHAIR))
    assert "contact-surface hard limit 45 C" in str(too_hot)
    admitted(admit(heat(44, 15 * 60), CHAIR, HOT_USER, HOT_CHAIR))
    dose = refused(admit(heat(44, 20 * 60), CHAIR, HOT_USER, HOT_CHAIR))
    assert kinds(dose) == {ViolationKind.THERMAL_DOSE}
    assert "of a burn dose, above the 10% budget" in str(dose)


def test_a_plan_longer_than_the_session_cap_is_refused_unless_the_owner_raised_it():
    long_plan = plan_of(CHAIR, lane("knead_speed", (10, 0, 30, 0), (31 * 60, 30, 30, 1),
                                    (10, 30, 0, 2)))
    [violation] = refused(admit(long_plan, CHAIR, UserProfile())).violations
    assert violation.kind is ViolationKind.SESSION
    assert "the 30 min session cap" in str(violation)
    admitted(admit(long_plan, CHAIR, UserProfile(), SafetyLimits(session={"cap_min": 45})))


def test_pregnancy_forbids_heat_and_strong_pressure_on_the_lower_back():
    user = UserProfile(precautions={"pregnancy"})
    heat = plan_of(CHAIR, lane("heat_lower_back", (10, 0, 40, 0), (60, 40, 40, 1),
                               (10, 40, 0, 2)))
    assert "pregnancy: no heat" in str(refused(admit(heat, CHAIR, user)))
    verdict = refused(admit(roller_plan(depth_mm=15), CHAIR, user))
    assert {(v.zone, v.limit) for v in verdict.violations} == {("lower_back", 5.0)}
    # On the mid back alone, 15 mm is within the capped intensity (60 % of 30 mm).
    mid_only = plan_of(CHAIR, travel([MID_BACK_MM, MID_BACK_MM], 60),
                       lane("roller_depth", (4, 0, 15, 0), (52, 15, 15, 1), (4, 15, 0, 2)))
    admitted(admit(mid_only, CHAIR, user))


def test_osteoporosis_forbids_percussion_and_lowers_depth_and_pressure():
    user = UserProfile(precautions={"osteoporosis"})
    verdict = refused(admit(roller_plan(depth_mm=12, tap_hz=6), CHAIR, user))
    assert {(v.channel, v.limit) for v in verdict.violations} == {("roller_depth", 10.0),
                                                                  ("tap_rate", 0.0)}
    shoulders = plan_of(CHAIR, squeeze("airbag_shoulders", 12.0, 20.0))
    assert refused(admit(shoulders, CHAIR, user)).violations[0].limit == 10.0


def test_cancer_needs_a_recorded_clearance():
    plan = plan_of(CHAIR, lane("knead_speed", (5, 0, 20, 0), (30, 20, 20, 1), (5, 20, 0, 2)))
    verdict = refused(admit(plan, CHAIR, UserProfile(precautions={"cancer"})))
    assert kinds(verdict) == {ViolationKind.CLEARANCE}
    assert "medical_clearance = true" in str(verdict)
    # adapt cannot make this decision for a doctor
    assert isinstance(admit(plan, CHAIR, UserProfile(precautions={"cancer"}), mode="adapt"),
                      Refusal)
    cleared = UserProfile(precautions={"cancer"}, medical_clearance=True)
    admitted(admit(plan, CHAIR, cleared))


def test_injured_zones_are_skipped_in_refuse_mode_and_the_report_says_so():
    user = UserProfile(injury_zones={"shoulders", "lower_back"})
    plan = plan_of(CHAIR, squeeze("airbag_shoulders", 12.0, 20.0, total_s=60),
                   roller_plan(depth_mm=20).segments())
    verdict = admitted(admit(plan, CHAIR, user))
    assert verdict.plan.channel_table("airbag_shoulders").size == 0
    assert verdict.plan.problems() == []
    times, lanes = verdict.plan.render(1.0, ["roller_depth"])
    depth = dict(zip(times.tolist(), lanes["roller_depth"].tolist()))
    assert depth[15.0] == 0.0  # on the (injured) lower back: retracted
    assert depth[50.0] == 20.0  # on the mid back: as planned
    whys = {change.why for change in verdict.changes}
    assert "injury zone shoulders: skipped" in whys
    assert "injury zone lower_back: skipped (roller on lower_back)" in whys
    shoulders = [c for c in verdict.changes if c.channel == "airbag_shoulders"]
    assert len(shoulders) == 3  # one per step: inflate, hold, release
    assert str(shoulders[1]) == ("steps[1] (work), 5.0-25.0 s: airbag_shoulders peaks at 12 kPa -> "
                              "off (held at 0 kPa) (injury zone shoulders: skipped)")


def test_a_plan_for_another_device_or_a_bad_profile_is_refused_first():
    plan = plan_of(PAD, lane("knead_speed", (5, 0, 20, 0), (5, 20, 0, 2)))
    [violation] = refused(admit(plan, CHAIR, UserProfile())).violations
    assert violation.kind is ViolationKind.DEVICE and "'pad'" in str(violation)
    bad_user = UserProfile(limits={"depth_mm": 45})
    [violation] = refused(admit(roller_plan(), CHAIR, bad_user)).violations
    assert "limits.depth_mm: 45 is above the device's hard limit of 40 mm" in str(violation)
