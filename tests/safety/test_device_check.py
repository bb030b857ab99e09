"""Device profiles against the absolute ceilings and the off value of every safe default: at
each ceiling's edge a profile passes, just over it the profile is refused, naming file and
field."""

from __future__ import annotations

from pathlib import Path

import pytest

from massagectl.routines.device import BUILTIN_DEVICE_DIR, Channel, ChannelKind, DeviceProfile
from massagectl.routines.errors import InvalidFileError
from massagectl.routines.user import UserProfile
from massagectl.safety.admission import admit
from massagectl.safety.channel_limits import plan_limits
from massagectl.safety.device_check import ceiling_problems, load_checked_device
from massagectl.safety.verdicts import Refusal, ViolationKind
from tests.safety.plans import CHAIR, PAD, lane, plan_of

# (kind, zone, ceiling of the hard max or None, ceiling of max_rate_per_s), as DESIGN.md's
# facts and safety/limits.py give them, restated so a changed ceiling fails here.
CEILING_EDGES = [
    (ChannelKind.AIRBAG, "shoulders", 30.0, 10.0),
    (ChannelKind.DEPTH, None, 40.0, 20.0),
    (ChannelKind.KNEAD, None, 60.0, 60.0),
    (ChannelKind.TAP, None, 12.0, 24.0),
    (ChannelKind.POSITION, None, None, 60.0),
    (ChannelKind.WIDTH, None, None, 40.0),
    (ChannelKind.HEAT, "lower_back", 45.0, None),
]
JUST_OVER = 0.01


def one_channel(kind: ChannelKind, zone: str | None, high: float, rate: float) -> DeviceProfile:
    fields = {"id": "out", "kind": kind, "zone": zone, "min": 0.0, "max": high,
              "max_rate_per_s": rate, "max_duration_s": 60.0}
    if not kind.holds_position:
        fields["safe_default"] = 0.0
    track = {"base_above_seat_mm": 60} if kind is ChannelKind.POSITION else None
    return DeviceProfile(name="edge", description="one channel", track=track,
                         channels=(Channel(**fields),))


@pytest.mark.parametrize(("kind", "zone", "value_ceiling", "rate_ceiling"), CEILING_EDGES)
def test_every_ceiling_passes_at_its_edge_and_refuses_just_over(kind, zone, value_ceiling,
                                                                 rate_ceiling):
    high = value_ceiling if value_ceiling is not None else 500.0
    rate = rate_ceiling if rate_ceiling is not None else 5.0
    assert ceiling_problems(one_channel(kind, zone, high, rate), "edge.toml") == []
    if value_ceiling is not None:
        [problem] = ceiling_problems(one_channel(kind, zone, high + JUST_OVER, rate), "edge.toml")
        assert (problem.source, problem.field) == ("edge.toml", "channels[0].max")
        assert f"above the absolute ceiling of {value_ceiling:g}" in problem.message
    if rate_ceiling is not None:
        [problem] = ceiling_problems(one_channel(kind, zone, high, rate + JUST_OVER), "edge.toml")
        assert (problem.source, problem.field) == ("edge.toml", "channels[0].max_rate_per_s")
        assert f"above the absolute ceiling of {rate_ceiling:g}" in problem.message


def test_a_kind_without_ceilings_does_not_end_the_check():
    cool = Channel(id="cool", kind=ChannelKind.COOL, zone="calves", min=10.0, max=35.0,
                   safe_default=35.0, max_rate_per_s=2.0, max_duration_s=60.0)
    strong = one_channel(ChannelKind.AIRBAG, "calves", 100.0, 5.0).channels[0]
    device = DeviceProfile(name="mixed", description="x", channels=(cool, strong))
    assert [p.field for p in ceiling_problems(device, "m.toml")] == ["channels[1].max"]


def test_an_unchecked_profile_still_gets_no_cap_past_a_ceiling():
    fast = CHAIR.model_copy(update={"channels": tuple(
        c.model_copy(update={"max": 600.0}) if c.id == "knead_speed" else c
        for c in CHAIR.channels)})
    cap = plan_limits(fast, UserProfile()).channel("knead_speed").cap
    assert (cap.value, cap.reason) == (60.0, "absolute ceiling for a knead channel")
    plain = plan_limits(CHAIR, UserProfile()).channel("knead_speed").cap
    assert (plain.value, plain.reason) == (60.0, "hard limit of knead_speed (device profile)")


def test_the_built_in_profiles_are_within_every_ceiling():
    assert ceiling_problems(CHAIR, "chair.toml") == []
    assert ceiling_problems(PAD, "pad.toml") == []
    assert load_checked_device("chair") == CHAIR


def _chair_file_with(tmp_path: Path, **channel_updates) -> Path:
    """The built-in chair as a file, with the shoulder airbag's fields changed."""
    body = (BUILTIN_DEVICE_DIR / "chair.toml").read_text()
    shoulders = body.index('id = "airbag_shoulders"')
    for field, value in channel_updates.items():
        start = body.index(f"\n{field} = ", shoulders) + 1
        end = body.index("\n", start)
        body = body[:start] + f"{field} = {value}" + body[end:]
    path = tmp_path / "strong.toml"
    path.write_text(body)
    return path


def test_a_profile_past_a_ceiling_is_refused_at_load_naming_file_and_field(tmp_path):
    # The finding: a 100 kPa shoulder airbag passed `validate` and `run` sent 75 kPa.
    path = _chair_file_with(tmp_path, max=100)
    with pytest.raises(InvalidFileError) as caught:
        load_checked_device(path)
    assert caught.value.source == str(path)
    [problem] = caught.value.problems
    assert str(problem).startswith(f"{path}: channels[5].max: 100 kPa on 'airbag_shoulders' is "
                                   "above the absolute ceiling of 30 kPa for airbag channels")
    assert str(problem).endswith("; lower it")


def test_admission_refuses_a_device_past_a_ceiling_and_names_the_plans_own_problems_too():
    strong = CHAIR.model_copy(update={"channels": tuple(
        c.model_copy(update={"max": 100.0}) if c.id == "airbag_shoulders" else c
        for c in CHAIR.channels)})
    plan = plan_of(strong, lane("airbag_shoulders", (10, 0, 25, 0), (20, 25, 25, 1),
                                (10, 25, 0, 2)))
    verdict = admit(plan, strong, UserProfile())
    assert isinstance(verdict, Refusal)
    kinds = {v.kind for v in verdict.violations}
    assert kinds >= {ViolationKind.DEVICE, ViolationKind.ABOVE_CAP}
    # Even unchecked, no cap reaches past the ceiling.
    assert plan_limits(strong, UserProfile()).channel("airbag_shoulders").cap.value <= 30.0


@pytest.mark.parametrize(("kind", "zone", "low", "high", "off"), [
    (ChannelKind.AIRBAG, "calves", 0.0, 25.0, 0.0),
    (ChannelKind.HEAT, "lower_back", 0.0, 45.0, 0.0),
    (ChannelKind.COOL, "lower_back", 10.0, 35.0, 35.0),
    (ChannelKind.KNEAD, None, 0.0, 60.0, 0.0),
    (ChannelKind.TAP, None, 0.0, 12.0, 0.0),
])
def test_a_safe_default_must_be_the_channels_off_value(kind, zone, low, high, off):
    fields = {"id": "out", "kind": kind, "zone": zone, "min": low, "max": high,
              "max_rate_per_s": 5.0, "max_duration_s": 60.0}
    assert Channel(**fields, safe_default=off).safe_default == off
    on = off + 1.0 if off == low else off - 1.0  # just inside the range, and not off
    with pytest.raises(ValueError, match=f"is not the off value of a {kind} channel"):
        Channel(**fields, safe_default=on)
