"""The limit values, the owner's settings, the thermal dose and the user-profile check."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from massagectl.routines.device import Zone
from massagectl.routines.errors import InvalidFileError
from massagectl.routines.loading import validate_data
from massagectl.routines.user import UserProfile
from massagectl.safety.channel_limits import check_user_limits, plan_limits
from massagectl.safety.limits import (
    DEFAULT_LIMITS,
    HEAT_HARD_MAX_C,
    SESSION_HARD_MAX_MIN,
    SafetyLimits,
)
from massagectl.safety.thermal_dose import DoseMeter, burn_time_s, dose_rate_per_s, dose_rates_per_s
from tests.safety.plans import CHAIR, PAD


def test_defaults_follow_the_design_facts():
    assert HEAT_HARD_MAX_C == 45.0
    assert DEFAULT_LIMITS.heat.cap_c == 42.0
    assert DEFAULT_LIMITS.heat.max_on_s == 30 * 60
    assert DEFAULT_LIMITS.session.cap_min == 30 and SESSION_HARD_MAX_MIN == 60
    calves = DEFAULT_LIMITS.airbag_zone(Zone.CALVES)
    shoulders = DEFAULT_LIMITS.airbag_zone(Zone.SHOULDERS)
    # Calves and feet: a lower occlusion level and a shorter hold than the trunk; every cap
    # well below an arm cuff's 24 kPa.
    assert calves.occlusion_kpa < shoulders.occlusion_kpa
    assert calves.max_hold_s < shoulders.max_hold_s
    assert all(z.cap_kpa <= 20.0 for z in DEFAULT_LIMITS.airbag.values())


def test_owner_limits_can_only_lower_and_name_the_field():
    lowered = validate_data("chair.toml", {"heat": {"cap_c": 40},
                                           "airbag": {"calves": {"cap_kpa": 10, "occlusion_kpa": 6,
                                                                 "max_hold_s": 20,
                                                                 "max_rise_kpa_per_s": 3}}},
                            SafetyLimits)
    assert lowered.heat.cap_c == 40
    assert lowered.airbag_zone(Zone.CALVES).cap_kpa == 10
    assert lowered.airbag_zone(Zone.FEET) == DEFAULT_LIMITS.airbag_zone(Zone.FEET)
    with pytest.raises(InvalidFileError) as caught:
        validate_data("chair.toml", {"roller": {"depth_cap_mm": 35}}, SafetyLimits)
    assert "roller.depth_cap_mm: 35 is above the default 30" in str(caught.value)
    with pytest.raises(InvalidFileError) as caught:
        validate_data("chair.toml", {"heat": {"cap_c": 46}}, SafetyLimits)
    assert caught.value.problems[0].field == "heat.cap_c"


def test_owner_may_raise_the_session_cap_only_up_to_the_hard_maximum():
    assert validate_data("c.toml", {"session": {"cap_min": 60}}, SafetyLimits).session.cap_min == 60
    with pytest.raises(InvalidFileError) as caught:
        validate_data("c.toml", {"session": {"cap_min": 61}}, SafetyLimits)
    assert caught.value.problems[0].field == "session.cap_min"


def test_burn_times_match_moritz_and_henriques():
    assert burn_time_s(44.0) == pytest.approx(6 * 3600)
    assert burn_time_s(50.0) == pytest.approx(6 * 3600 / 64)  # about 6 min
    assert burn_time_s(45.0) == pytest.approx(3 * 3600)
    assert burn_time_s(37.0) == math.inf
    assert dose_rate_per_s(math.nan) == math.inf


@given(st.floats(-50, 120), st.floats(0, 5))
def test_dose_rate_never_falls_when_the_temperature_rises(temperature_c, rise_c):
    assert dose_rate_per_s(temperature_c + rise_c) >= dose_rate_per_s(temperature_c)
    assert dose_rates_per_s(np.array([temperature_c]))[0] == dose_rate_per_s(temperature_c)


def test_thermal_dose_budget_is_far_below_a_burn_at_the_default_cap():
    # 30 min at the 42 C default cap, through the meter at 20 Hz:
    meter = DoseMeter()
    for sample in range(30 * 60 * 20 + 1):
        meter.add(sample / 20, 42.0)
    assert meter.dose == pytest.approx(1800 / burn_time_s(42.0))
    assert meter.dose < DEFAULT_LIMITS.heat.dose_budget / 10
    # At the 45 C hard limit the budget ends heat after about 18 minutes.
    assert DEFAULT_LIMITS.heat.dose_budget * burn_time_s(45.0) == pytest.approx(18 * 60)


def test_user_limits_above_the_device_are_refused_with_the_field_named():
    user = UserProfile(limits={"pressure_kpa": {"calves": 40}, "depth_mm": 50})
    problems = check_user_limits(user, CHAIR)
    assert [p.field for p in problems] == ["limits.pressure_kpa.calves", "limits.depth_mm"]
    assert str(problems[0]) == ("user profile 'default': limits.pressure_kpa.calves: 40 is above "
                                "the device's hard limit of 25 kPa")
    # A zone the device has no airbag on is not a mistake: one profile serves chair and pad.
    assert check_user_limits(user, PAD) == []


def test_unknown_precaution_is_refused_never_ignored():
    user = UserProfile.model_construct(**{**UserProfile().__dict__,
                                          "precautions": frozenset({"epilepsy"})})
    [problem] = check_user_limits(user, CHAIR)
    assert problem.field == "precautions" and "'epilepsy' is not a known precaution" in str(problem)


def test_a_users_own_cap_replaces_the_default_up_to_the_hard_limit_and_is_noted():
    user = UserProfile(limits={"temperature_c": 44, "pressure_kpa": {"shoulders": 12}})
    limits = plan_limits(CHAIR, user)
    assert limits.channel("heat_calves").cap.value == 44.0
    assert plan_limits(CHAIR, UserProfile()).channel("heat_calves").cap.value == 42.0
    assert ("user profile limits.temperature_c (44 C) is above the default heat cap 42 C; the "
            "user's limit applies") in limits.notes
    assert limits.channel("airbag_shoulders").cap.value == 12.0
    shoulders = limits.channel("airbag_shoulders")
    assert shoulders.cap.reason == "user profile limits.pressure_kpa.shoulders"


def test_session_timer_is_the_users_choice_within_the_cap():
    assert plan_limits(CHAIR, UserProfile(limits={"session_min": 15})).auto_off_s == 900
    assert plan_limits(CHAIR, UserProfile()).auto_off_s == 1800
