"""Layers only lower what is above them: ceiling >= device hard limit >= the chair's cap (the
default, or the owner's) >= the user's own cap. A partial owner setting keeps the defaults of
everything it leaves out."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from massagectl.routines.device import ChannelKind, Zone
from massagectl.routines.errors import InvalidFileError
from massagectl.routines.loading import validate_data
from massagectl.routines.user import UserProfile
from massagectl.safety.admission import admit
from massagectl.safety.channel_limits import check_owner_limits, check_user_limits, plan_limits
from massagectl.safety.limits import (
    DEFAULT_AIRBAG_LIMITS,
    DEFAULT_LIMITS,
    SafetyLimits,
    config_key,
)
from massagectl.safety.verdicts import AdmittedPlan, Refusal
from tests.safety.plans import CHAIR, PAD, lane, plan_of
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
    assert heat.cap.reason == "owner cap (config [limits.heat] cap_c)"
    assert limits.notes == ("user profile limits.temperature_c (45 C) is above the chair's cap "
                            "38 C (owner cap (config [limits.heat] cap_c)); the chair's cap "
                            "applies: only the owner may raise it, in the config ([limits.heat] "
                            "cap_c)",)
    verdict = admit(heat_plan(44), CHAIR, HOT_USER, cap38)
    assert isinstance(verdict, Refusal)
    assert "above the limit of 38 C (owner cap (config [limits.heat] cap_c))" in str(verdict)
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
    assert (cap.value, cap.reason) == (owner_value, f"owner cap (config {config_key(field)})")


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


@pytest.mark.parametrize(("user_limits", "channel", "default", "key"), [
    ({"temperature_c": 45}, "heat_calves", 42.0, "[limits.heat] cap_c"),
    ({"depth_mm": 40}, "roller_depth", 30.0, "[limits.roller] depth_cap_mm"),
    ({"pressure_kpa": {"calves": 25}}, "airbag_calves", 16.0, "[limits.airbag.calves] cap_kpa"),
])
def test_a_user_profile_never_raises_the_default_cap(user_limits, channel, default, key):
    # The finding: calves at 25 kPa from a user profile on the built-in chair, 25.1 kPa measured.
    user = UserProfile(limits=user_limits)
    limits = plan_limits(CHAIR, user, owner({}))
    assert limits.channel(channel).cap.value == default
    [note] = limits.notes
    assert note.endswith(f"the chair's cap applies: only the owner may raise it, in the config "
                         f"({key})")


@pytest.mark.parametrize(("config", "channel", "pinned"), [
    ({"heat": {"cap_c": 42}}, "heat_calves", 42.0),
    ({"airbag": {"calves": {"cap_kpa": 16}}}, "airbag_calves", 16.0),
    ({"roller": {"depth_cap_mm": 30}}, "roller_depth", 30.0),
])
def test_an_owner_value_equal_to_the_default_pins_it(config, channel, pinned):
    greedy = UserProfile(limits={"temperature_c": 45, "depth_mm": 40,
                                 "pressure_kpa": {"calves": 25}})
    assert plan_limits(CHAIR, greedy, owner(config)).channel(channel).cap.value == pinned


def test_only_the_owner_raises_a_cap_and_never_past_the_device():
    raised = owner({"airbag": {"calves": {"cap_kpa": 20}}, "heat": {"cap_c": 45}})
    user = UserProfile(limits={"pressure_kpa": {"calves": 25}, "temperature_c": 45})
    limits = plan_limits(CHAIR, user, raised)
    assert limits.channel("airbag_calves").cap.value == 20.0
    assert limits.channel("heat_calves").cap.value == 44.0  # hard 45 C less the 1 C overshoot
    # 25 kPa is the chair's hard limit on calves: an owner may reach it, not pass it.
    at_device = owner({"airbag": {"calves": {"cap_kpa": 25}}})
    assert check_owner_limits(at_device, CHAIR) == []
    past = owner({"airbag": {"calves": {"cap_kpa": 25.5}}})
    [problem] = check_owner_limits(past, CHAIR)
    assert str(problem) == ("config: [limits.airbag.calves] cap_kpa: 25.5 kPa is above the "
                            "device's hard limit of 25 kPa; an owner may raise a cap up to it, "
                            "not past it")
    verdict = admit(heat_plan(40), CHAIR, UserProfile(), past)
    assert isinstance(verdict, Refusal) and "[limits.airbag.calves] cap_kpa" in str(verdict)
    # The pad has no airbags: a raised calf cap is no mistake there.
    assert check_owner_limits(past, PAD) == []


def test_an_owner_tap_rate_cap_is_labelled_as_the_owners():
    cap = plan_limits(CHAIR, UserProfile(), owner({"roller": {"tap_cap_hz": 6}})).channel(
        "tap_rate").cap
    assert (cap.value, cap.reason) == (6.0, "owner cap (config [limits.roller] tap_cap_hz)")


def _owner_value(default: float, ceiling: float) -> st.SearchStrategy[float]:
    """An owner value: often the default itself, else anything up to the ceiling."""
    return st.just(default) | st.floats(0, default) | st.floats(default, ceiling)


@st.composite
def owner_limits(draw) -> SafetyLimits:
    zones = draw(st.lists(st.sampled_from(sorted(DEFAULT_AIRBAG_LIMITS)), unique=True,
                          max_size=4))
    defaults = DEFAULT_LIMITS
    return owner({
        "heat": {"cap_c": draw(_owner_value(defaults.heat.cap_c, 45).filter(lambda c: c > 0))},
        "roller": {"depth_cap_mm": draw(_owner_value(defaults.roller.depth_cap_mm, 40)),
                   "tap_cap_hz": draw(_owner_value(defaults.roller.tap_cap_hz, 12))},
        "airbag": {zone.value: {"cap_kpa": draw(_owner_value(DEFAULT_AIRBAG_LIMITS[zone].cap_kpa,
                                                             30))}
                   for zone in zones},
    })


# The ceilings as written in DESIGN.md's facts and safety/limits.py, restated here so that a
# changed ceiling in the code fails this test.
ABSOLUTE_CEILING = {ChannelKind.AIRBAG: 30.0, ChannelKind.DEPTH: 40.0, ChannelKind.KNEAD: 60.0,
                    ChannelKind.TAP: 12.0, ChannelKind.HEAT: 45.0}


def _user_cap(user: UserProfile, kind: ChannelKind, zone: Zone | None) -> float | None:
    return {
        ChannelKind.AIRBAG: lambda: user.limits.pressure_kpa.get(zone),
        ChannelKind.HEAT: lambda: user.limits.temperature_c,
        ChannelKind.DEPTH: lambda: user.limits.depth_mm,
    }.get(kind, lambda: None)()


def _owner_cap(limits: SafetyLimits, kind: ChannelKind, zone: Zone | None) -> float | None:
    return {
        ChannelKind.AIRBAG: lambda: limits.airbag_zone(zone).cap_kpa,
        ChannelKind.HEAT: lambda: limits.heat.cap_c,
        ChannelKind.DEPTH: lambda: limits.roller.depth_cap_mm,
        ChannelKind.TAP: lambda: limits.roller.tap_cap_hz,
    }.get(kind, lambda: None)()


@given(DEVICES, owner_limits(), users())
def test_no_channel_cap_exceeds_any_layer_above_it(device, limits, user):
    folded = plan_limits(device, user, limits)
    for channel_limits in folded.channels:
        channel = channel_limits.channel
        cap = channel_limits.cap.value
        assert cap <= channel.max, channel.id
        assert cap <= ABSOLUTE_CEILING.get(channel.kind, cap), channel.id
        owner_cap = _owner_cap(limits, channel.kind, channel.zone)
        if owner_cap is not None:
            assert cap <= owner_cap, (channel.id, channel_limits.cap.reason)
        mine = _user_cap(user, channel.kind, channel.zone)
        if mine is not None:
            assert cap <= mine, (channel.id, channel_limits.cap.reason)
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
    assert "can only lower a budget" in str(caught.value)


def test_owner_caps_past_a_smaller_device_are_named_head_to_toe_with_their_config_keys():
    small = CHAIR.model_copy(update={"channels": tuple(
        c.model_copy(update={"max": {"heat": 43.0, "depth": 32.0}.get(c.kind, c.max)})
        for c in CHAIR.channels)})
    raised = owner({"heat": {"cap_c": 44}, "roller": {"depth_cap_mm": 35, "tap_cap_hz": 11},
                    "airbag": {"shoulders": {"cap_kpa": 28}, "arms": {"cap_kpa": 26},
                               "feet": {"cap_kpa": 26}}})
    # Shoulders at 28 kPa is within their 30 kPa bag; arms and feet pass their 25 kPa.
    assert [p.field for p in check_owner_limits(raised, small)] == [
        "[limits.airbag.arms] cap_kpa", "[limits.airbag.feet] cap_kpa", "[limits.heat] cap_c",
        "[limits.roller] depth_cap_mm"]  # 11 Hz of tapping is within the chair's 12 Hz
    [tap] = check_owner_limits(raised, PAD)  # the pad's tapping stops at 8 Hz
    assert str(tap) == ("config: [limits.roller] tap_cap_hz: 11 Hz is above the device's hard "
                        "limit of 8 Hz; an owner may raise a cap up to it, not past it")
