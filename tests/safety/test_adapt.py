"""Adapt mode by example, and every built-in routine through admission in both modes."""

from __future__ import annotations

import pytest

from massagectl.routines.compiler import compile_routine
from massagectl.routines.device import load_device
from massagectl.routines.errors import InvalidFileError
from massagectl.routines.library import builtin_routine_names, load_builtin
from massagectl.routines.user import UserProfile
from massagectl.safety.admission import admit
from massagectl.safety.limits import DEFAULT_LIMITS
from massagectl.safety.verdicts import AdmittedPlan
from tests.safety.oracle import breaches
from tests.safety.plans import CHAIR, HOT_CHAIR, HOT_USER, lane, plan_of, squeeze
from tests.safety.test_admission import LOWER_BACK_MM, MID_BACK_MM, roller_plan


def adapted(plan, user, limits=DEFAULT_LIMITS) -> AdmittedPlan:
    verdict = admit(plan, CHAIR, user.model_copy(update={"on_precaution": "adapt"}), limits)
    assert isinstance(verdict, AdmittedPlan), str(verdict)
    again = admit(verdict.plan, CHAIR, user.model_copy(update={"on_precaution": "refuse"}),
                  limits)
    assert isinstance(again, AdmittedPlan), str(again)
    assert breaches(verdict.plan, verdict.limits) == []
    return verdict


def test_pregnancy_keeps_the_roller_off_the_lower_back_and_lowers_it_elsewhere():
    verdict = adapted(roller_plan(depth_mm=20), UserProfile(precautions={"pregnancy"}))
    _times, lanes = verdict.plan.render(1.0, ["roller_depth", "roller_position"])
    on_lower_back = lanes["roller_position"] <= LOWER_BACK_MM
    on_mid_back = lanes["roller_position"] >= MID_BACK_MM
    assert lanes["roller_depth"][on_lower_back].max() == 0.0
    assert 17.9 <= lanes["roller_depth"][on_mid_back].max() <= 18.0  # 60 % of the 30 mm cap
    whys = {change.why for change in verdict.changes}
    assert ("pregnancy: only light roller pressure on the lower back (roller on lower_back)"
            in whys)
    assert "pregnancy: intensity capped at about level 3" in whys
    assert all(change.channel == "roller_depth" for change in verdict.changes)


def test_a_hold_too_long_above_occlusion_pressure_is_lowered_below_it():
    verdict = adapted(plan_of(CHAIR, squeeze("airbag_calves", 12.0, 40.0)), UserProfile())
    assert verdict.plan.channel_table("airbag_calves")["end_value"].max() <= 8.0
    [hold] = [c for c in verdict.changes if c.step == "steps[1] (work)"]
    assert hold.before == "peaks at 12 kPa"
    assert hold.after.startswith("peaks at 7.99") and "scaled by 0.666" in hold.after
    assert hold.why == "held above 8 kPa longer than 30 s"


def test_heat_ends_early_when_its_dose_budget_would_run_out():
    plan = plan_of(CHAIR, lane("heat_calves", (10, 0, 44, 0), (25 * 60, 44, 44, 1),
                               (10, 44, 0, 2)))
    verdict = adapted(plan, HOT_USER, HOT_CHAIR)
    _times, lanes = verdict.plan.render(1.0, ["heat_calves"])
    heated_min = (lanes["heat_calves"] > 0).sum() / 60
    assert 16 <= heated_min <= 18  # a tenth of the 3 h burn time at 45 C
    [change] = [c for c in verdict.changes if c.step == "steps[1] (work)"]
    assert change.why == "heat timeout and thermal-dose budget"
    assert change.after == "held at 0 C, ramping at 4.5 C/s"


def _compiled(device_name: str, routine: str, user: UserProfile):
    device = load_device(device_name)
    try:
        return device, compile_routine(load_builtin(routine), device, user, intensity=5)
    except InvalidFileError:
        pytest.skip(f"{routine} needs zones the {device_name} lacks")


@pytest.mark.parametrize("device_name", ["chair", "pad"])
@pytest.mark.parametrize("routine", builtin_routine_names())
def test_built_in_routines_pass_unchanged_and_adapt_for_every_precaution(device_name, routine):
    device, plan = _compiled(device_name, routine, UserProfile())
    verdict = admit(plan, device, UserProfile())
    assert isinstance(verdict, AdmittedPlan) and verdict.changes == (), str(verdict)
    careful = UserProfile(precautions={"pregnancy", "dvt", "osteoporosis"},
                          injury_zones={"mid_back"}, on_precaution="adapt")
    device, plan = _compiled(device_name, routine, careful)
    rewritten = admit(plan, device, careful)
    assert isinstance(rewritten, AdmittedPlan), str(rewritten)
    assert isinstance(admit(rewritten.plan, device, careful, mode="refuse"), AdmittedPlan)
    assert breaches(rewritten.plan, rewritten.limits) == []
