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


def test_owner_limits_raise_caps_up_to_their_ceiling_lower_budgets_and_name_the_field():
    lowered = validate_data("chair.toml", {"heat": {"cap_c": 40},
                                           "airbag": {"calves": {"cap_kpa": 10, "occlusion_kpa": 6,
                                                                 "max_hold_s": 20,
                                                                 "max_rise_kpa_per_s": 3}}},
                            SafetyLimits)
    assert lowered.heat.cap_c == 40
    assert lowered.airbag_zone(Zone.CALVES).cap_kpa == 10
    assert lowered.airbag_zone(Zone.FEET) == DEFAULT_LIMITS.airbag_zone(Zone.FEET)
    # A cap the owner raises, explicitly, up to its absolute ceiling: 40 mm of depth.
    raised = validate_data("chair.toml", {"roller": {"depth_cap_mm": 40}}, SafetyLimits)
    assert raised.roller.depth_cap_mm == 40
    with pytest.raises(InvalidFileError) as caught:
        validate_data("chair.toml", {"roller": {"depth_cap_mm": 40.1}}, SafetyLimits)
    assert ("roller.depth_cap_mm: 40.1 is above the absolute ceiling of 40 mm (the 3D travel of "
            "a chair's roller heads;") in str(caught.value)
    with pytest.raises(InvalidFileError) as caught:
        validate_data("chair.toml", {"roller": {"travel_speed_mm_per_s": 61}}, SafetyLimits)
    assert ("roller.travel_speed_mm_per_s: 61 is above the absolute ceiling of 60 mm/s "
            "(commercial L-track carriages travel at 30-60 mm/s)") in str(caught.value)
    with pytest.raises(InvalidFileError) as caught:
        validate_data("chair.toml", {"heat": {"max_on_s": 1801}}, SafetyLimits)
    assert ("heat.max_on_s: 1801 is above the default 1800; owner limits can only lower a "
            "budget") in str(caught.value)
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


def test_a_users_own_cap_only_lowers_the_chairs_cap_and_a_higher_one_is_noted():
    user = UserProfile(limits={"temperature_c": 44, "pressure_kpa": {"shoulders": 12}})
    limits = plan_limits(CHAIR, user)
    assert limits.channel("heat_calves").cap.value == 42.0
    assert ("user profile limits.temperature_c (44 C) is above the chair's cap 42 C (default "
            "heat cap); the chair's cap applies: only the owner may raise it, in the config "
            "([limits.heat] cap_c)") in limits.notes
    # Where the owner raised the cap, the user's own 44 C applies.
    raised = plan_limits(CHAIR, user, SafetyLimits(heat={"cap_c": 45}))
    assert raised.channel("heat_calves").cap.value == 44.0 and raised.notes == ()
    assert limits.channel("airbag_shoulders").cap.value == 12.0
    shoulders = limits.channel("airbag_shoulders")
    assert shoulders.cap.reason == "user profile limits.pressure_kpa.shoulders"


def test_session_timer_is_the_users_choice_within_the_cap():
    assert plan_limits(CHAIR, UserProfile(limits={"session_min": 15})).auto_off_s == 900
    assert plan_limits(CHAIR, UserProfile()).auto_off_s == 1800


def test_between_two_readings_the_dose_meter_counts_the_hotter_one():
    # 1 s from 40 C to 50 C counts a second at 50 C, rising or falling: never less than the
    # skin got. 50 C: 6 h halved six times (Moritz & Henriques), 337.5 s to a burn.
    rising, falling = DoseMeter(), DoseMeter()
    for meter, readings in ((rising, (40.0, 50.0)), (falling, (50.0, 40.0))):
        meter.add(0.0, readings[0])
        meter.add(1.0, readings[1])
        assert meter.dose == pytest.approx(1 / 337.5)
    # A reading from the past (out of order) adds nothing and moves nothing back.
    assert rising.add(0.5, 60.0) == pytest.approx(1 / 337.5)
    assert rising.add(2.0, 50.0) == pytest.approx(2 / 337.5)


def test_a_users_cap_at_the_chairs_cap_applies_silently_and_just_over_is_noted():
    at = plan_limits(CHAIR, UserProfile(limits={"pressure_kpa": {"calves": 16}}))
    assert at.channel("airbag_calves").cap.value == 16 and at.notes == ()
    over = plan_limits(CHAIR, UserProfile(limits={"pressure_kpa": {"calves": 16.01}}))
    assert over.channel("airbag_calves").cap.value == 16
    assert over.channel("airbag_calves").cap.reason == "default cap for calves airbags"
    assert len(over.notes) == 1
    below = plan_limits(CHAIR, UserProfile(limits={"pressure_kpa": {"calves": 15.99}}))
    assert below.channel("airbag_calves").cap.value == 15.99


def test_a_fraction_rule_keeps_that_fraction_above_the_channels_off_value():
    # A bag that rests at 1 kPa: osteoporosis halves the pressure above that, 1 + (16 - 1) / 2.
    resting = CHAIR.model_copy(update={"channels": tuple(
        c.model_copy(update={"min": 1.0, "safe_default": 1.0}) if c.id == "airbag_calves" else c
        for c in CHAIR.channels)})
    user = UserProfile(precautions={"osteoporosis"})
    assert plan_limits(resting, user).channel("airbag_calves").cap.value == 8.5
    assert plan_limits(CHAIR, user).channel("airbag_calves").cap.value == 8.0


@pytest.mark.parametrize("temperature_c", [36.9, 37.0, 37.1, 43.0, 43.9, 44.0, 44.5, 45.0, 50.0,
                                           250.0, 1000.0])
def test_dose_rates_at_the_model_edges_match_the_source(temperature_c):
    # Moritz & Henriques: 6 h at 44 C, halving per degree above; CEM43's quartering below; none
    # at body temperature; far above, the rate stops growing (2**200) so it stays finite.
    if temperature_c <= 37.0:
        expected = 0.0
    elif temperature_c >= 44.0:
        expected = 2.0 ** min(temperature_c - 44.0, 200.0) / 21600
    else:
        expected = 4.0 ** (temperature_c - 44.0) / 21600
    assert dose_rate_per_s(temperature_c) == pytest.approx(expected, rel=1e-12)
    assert dose_rates_per_s(np.array([temperature_c]))[0] == pytest.approx(expected, rel=1e-12)


def test_an_unknown_temperature_counts_as_a_burn_now():
    assert dose_rate_per_s(math.nan) == math.inf
    assert list(dose_rates_per_s(np.array([math.nan, 40.0]))) == [math.inf, 4.0**-4 / 21600]


def test_every_user_limit_the_device_cannot_take_is_named():
    user = UserProfile.model_construct(**{
        **UserProfile().__dict__, "name": "kim",
        "precautions": frozenset({"flu", "epilepsy"}),
        "limits": UserProfile().limits.model_copy(update={
            "pressure_kpa": {Zone.SHOULDERS: 28.0, Zone.ARMS: 26.0, Zone.SEAT: math.nan,
                             Zone.CALVES: -1.0, Zone.FEET: 0.0},
            "temperature_c": 45.5, "depth_mm": 41.0, "session_min": 25}),
    })
    problems = [str(p) for p in check_user_limits(user, CHAIR)]
    known = ", ".join(["pregnancy", "dvt", "osteoporosis", "cancer"])
    assert problems == [
        f"user profile 'kim': precautions: 'epilepsy' is not a known precaution; known: {known}",
        f"user profile 'kim': precautions: 'flu' is not a known precaution; known: {known}",
        "user profile 'kim': limits.pressure_kpa.arms: 26 is above the device's hard limit of "
        "25 kPa",
        "user profile 'kim': limits.pressure_kpa.seat: nan is not a pressure in kPa",
        "user profile 'kim': limits.pressure_kpa.calves: -1.0 is not a pressure in kPa",
        "user profile 'kim': limits.temperature_c: 45.5 is above the hard limit of 45 C",
        "user profile 'kim': limits.depth_mm: 41 is above the device's hard limit of 40 mm",
        "user profile 'kim': limits.session_min: 25 is not one of 10, 15, 20, 30 min",
    ]
    # At each edge: 45 C and 40 mm are the hard limits themselves, 0 kPa a pressure.
    edge = UserProfile(limits={"temperature_c": 45, "depth_mm": 40, "pressure_kpa": {
        "shoulders": 30, "feet": 0}})
    assert check_user_limits(edge, CHAIR) == []


def test_a_users_heat_is_judged_against_this_devices_heaters():
    cooler = CHAIR.model_copy(update={"channels": tuple(
        c.model_copy(update={"max": 43.0}) if c.kind == "heat" else c for c in CHAIR.channels)})
    [problem] = check_user_limits(UserProfile(limits={"temperature_c": 44}), cooler)
    assert str(problem).endswith("limits.temperature_c: 44 is above the hard limit of 43 C")


def test_every_channel_but_a_drive_has_a_safe_value_the_budgets_start_from():
    limits = plan_limits(CHAIR, UserProfile())
    for channel_limits in limits.channels:
        if channel_limits.channel.kind.holds_position:
            with pytest.raises(ValueError, match="no safe default"):
                _ = channel_limits.safe_value
        else:
            assert channel_limits.safe_value == channel_limits.channel.safe_default
