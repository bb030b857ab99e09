"""The owner's lowered limits are a ceiling no user profile can raise; a partial owner setting
keeps the defaults of everything it leaves out."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from massagectl.routines.device import ChannelKind, Zone
from massagectl.routines.errors import InvalidFileError
from massagectl.routines.loading import validate_data
from massagectl.routines.user import UserProfile
from massagectl.safety.admission import admit
from massagectl.safety.channel_limits import check_user_limits, plan_limits
from massagectl.safety.limits import DEFAULT_AIRBAG_LIMITS, DEFAULT_LIMITS, SafetyLimits
from massagectl.safety.verdicts import AdmittedPlan, Refusal
from tests.safety.plans import CHAIR, lane, plan_of
from tests.safety.strategies import DEVICES, users

HOT_USER = UserProfile(name="hot", limits={"temperature_c": 45})


def owner(data: dict) -> SafetyLimits:
    """The `[limits]` table of a config file, validated as the config loader does."""
    return validate_data("cap.toml", data, SafetyLimits)


def heat_plan(peak_c: float):
    return plan_of(CHAIR, lane("heat_lower_back", (10, 0, peak_c, 0), (60, peak_c, peak_c, 1),
                               (10, peak_c, 0, 2)))


def test_an_owner_heat_cap_holds_against_a_users_higher_limit():
    # The acceptance finding: owner cap 38 C, user profile 45 C, a 44 C heat step.
    cap38 = owner({"heat": {"cap_c": 38}})
    limits = plan_limits(CHAIR, HOT_USER, cap38)
    heat = limits.channel("heat_lower_back")
    assert heat.cap.value == 38.0
    assert heat.cap.reason == "owner cap (config limits.heat.cap_c)"
    assert limits.notes == ("user profile limits.temperature_c (45 C) is above the owner cap "
                            "38 C (config limits.heat.cap_c); the owner's cap applies",)
    verdict = admit(heat_plan(44), CHAIR, HOT_USER, cap38)
    assert isinstance(verdict, Refusal)
    assert "above the limit of 38 C (owner cap (config limits.heat.cap_c))" in str(verdict)
    assert isinstance(admit(heat_plan(38), CHAIR, HOT_USER, cap38), AdmittedPlan)


@pytest.mark.parametrize(("config", "user_limits", "channel", "owner_value", "field"), [
    ({"heat": {"cap_c": 38}}, {"temperature_c": 45}, "heat_calves", 38.0,
     "limits.heat.cap_c"),
    ({"roller": {"depth_cap_mm": 15}}, {"depth_mm": 40}, "roller_depth", 15.0,
     "limits.roller.depth_cap_mm"),
    ({"airbag": {"calves": {"cap_kpa": 10}}}, {"pressure_kpa": {"calves": 25}}, "airbag_calves",
     10.0, "limits.airbag.calves.cap_kpa"),
])
def test_no_user_limit_raises_an_owner_cap(config, user_limits, channel, owner_value, field):
    user = UserProfile(limits=user_limits)
    assert check_user_limits(user, CHAIR) == []  # within the hard limits: a valid profile
    cap = plan_limits(CHAIR, user, owner(config)).channel(channel).cap
    assert (cap.value, cap.reason) == (owner_value, f"owner cap (config {field})")


@pytest.mark.parametrize(("config", "user_limits", "channel", "user_value", "field"), [
    ({"heat": {"cap_c": 38}}, {"temperature_c": 36}, "heat_calves", 36.0,
     "limits.temperature_c"),
    ({"roller": {"depth_cap_mm": 15}}, {"depth_mm": 10}, "roller_depth", 10.0,
     "limits.depth_mm"),
    ({"airbag": {"calves": {"cap_kpa": 10}}}, {"pressure_kpa": {"calves": 6}}, "airbag_calves",
     6.0, "limits.pressure_kpa.calves"),
])
def test_a_user_may_still_go_below_an_owner_cap(config, user_limits, channel, user_value, field):
    limits = plan_limits(CHAIR, UserProfile(limits=user_limits), owner(config))
    cap = limits.channel(channel).cap
    assert (cap.value, cap.reason) == (user_value, f"user profile {field}")
    assert limits.notes == ()


def test_without_an_owner_setting_a_user_may_exceed_the_default_and_it_is_labelled_default():
    limits = plan_limits(CHAIR, HOT_USER, owner({}))
    assert limits.channel("heat_calves").cap.value == 44.0  # hard 45 C less 1 C overshoot
    assert limits.notes == ("user profile limits.temperature_c (45 C) is above the default heat "
                            "cap 42 C; the user's limit applies",)
    plain = plan_limits(CHAIR, UserProfile(), owner({})).channel("heat_calves").cap
    assert (plain.value, plain.reason) == (42.0, "default heat cap")


def test_an_owner_tap_rate_cap_is_labelled_as_the_owners():
    cap = plan_limits(CHAIR, UserProfile(), owner({"roller": {"tap_cap_hz": 6}})).channel(
        "tap_rate").cap
    assert (cap.value, cap.reason) == (6.0, "owner cap (config limits.roller.tap_cap_hz)")


def _lowered(default: float) -> st.SearchStrategy[float]:
    """An owner value: often the default itself (not lowered), else anything below it."""
    return st.just(default) | st.floats(0, default)


@st.composite
def owner_limits(draw) -> SafetyLimits:
    zones = draw(st.lists(st.sampled_from(sorted(DEFAULT_AIRBAG_LIMITS)), unique=True,
                          max_size=4))
    defaults = DEFAULT_LIMITS
    return owner({
        "heat": {"cap_c": draw(st.just(defaults.heat.cap_c) | st.floats(1, defaults.heat.cap_c))},
        "roller": {"depth_cap_mm": draw(_lowered(defaults.roller.depth_cap_mm)),
                   "tap_cap_hz": draw(_lowered(defaults.roller.tap_cap_hz))},
        "airbag": {zone.value: {"cap_kpa": draw(_lowered(DEFAULT_AIRBAG_LIMITS[zone].cap_kpa))}
                   for zone in zones},
    })


def _owner_cap(limits: SafetyLimits, kind: ChannelKind, zone: Zone | None) -> float | None:
    return {
        ChannelKind.AIRBAG: lambda: limits.airbag_zone(zone).cap_kpa,
        ChannelKind.HEAT: lambda: limits.heat.cap_c,
        ChannelKind.DEPTH: lambda: limits.roller.depth_cap_mm,
        ChannelKind.TAP: lambda: limits.roller.tap_cap_hz,
    }.get(kind, lambda: None)()


@given(DEVICES, owner_limits(), users())
def test_no_channel_cap_exceeds_the_owners_cap_or_the_hard_limit(device, limits, user):
    folded = plan_limits(device, user, limits)
    for channel_limits in folded.channels:
        channel = channel_limits.channel
        cap = channel_limits.cap.value
        assert cap <= channel.max, channel.id
        owner_cap = _owner_cap(limits, channel.kind, channel.zone)
        default_cap = _owner_cap(DEFAULT_LIMITS, channel.kind, channel.zone)
        if owner_cap is not None and owner_cap < default_cap:
            assert cap <= owner_cap, (channel.id, channel_limits.cap.reason)
        assert all(z.value <= cap for z in channel_limits.zone_caps.values())


def test_a_partial_airbag_zone_keeps_the_defaults_of_the_fields_left_out():
    limits = owner({"airbag": {"calves": {"cap_kpa": 10}}})
    calves = limits.airbag_zone(Zone.CALVES)
    default = DEFAULT_AIRBAG_LIMITS[Zone.CALVES]
    assert calves.cap_kpa == 10
    assert (calves.occlusion_kpa, calves.max_hold_s, calves.max_rise_kpa_per_s) == (
        default.occlusion_kpa, default.max_hold_s, default.max_rise_kpa_per_s)
    assert limits.airbag_zone(Zone.FEET) == DEFAULT_AIRBAG_LIMITS[Zone.FEET]
    # The time-at-pressure budget the occupant's calves get is still the default one.
    calves_limits = plan_limits(CHAIR, UserProfile(), limits).channel("airbag_calves")
    assert calves_limits.cap.value == 10
    assert (calves_limits.hold.occlusion_kpa, calves_limits.hold.max_hold_s) == (8.0, 30.0)


def test_a_partial_airbag_zone_still_may_not_raise_a_field():
    with pytest.raises(InvalidFileError) as caught:
        owner({"airbag": {"calves": {"max_hold_s": 45}}})
    assert "airbag.calves.max_hold_s: 45 is above the default 30" in str(caught.value)
