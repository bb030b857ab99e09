"""The compiler: properties over any valid routine, and what an owner would notice."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from massagectl.routines.compiler import compile_routine
from massagectl.routines.errors import InputError, InvalidFileError
from massagectl.routines.intensity import intensity_factor
from massagectl.routines.plan_checks import rate_bounds
from massagectl.routines.user import UserProfile
from tests.routines.strategies import (
    CHAIR,
    DEVICES,
    PAD,
    cases,
    expected_duration_ms,
    routine_from,
    routines,
    wild_routines,
)


@given(cases())
def test_any_valid_routine_compiles_to_a_plan_within_every_limit(case):
    routine, device, user = case
    plan = compile_routine(routine, device, user)
    assert plan.problems() == []
    assert round(plan.duration_s * 1000) == routine.duration_ms
    for index, channel in enumerate(device.channels):
        rows = plan.table[plan.table["channel"] == index]
        if len(rows) == 0:
            continue
        swing = np.abs(rows["amplitude"])
        assert np.all(np.maximum(rows["start_value"], rows["end_value"]) + swing
                      <= channel.max + 1e-9), channel.id
        assert np.all(np.minimum(rows["start_value"], rows["end_value"]) - swing
                      >= channel.min - 1e-9), channel.id
        assert np.all(rows["duration_s"] <= channel.max_duration_s + 1e-9), channel.id
        assert np.all(rate_bounds(rows) <= channel.max_rate_per_s * (1 + 1e-9)), channel.id


@given(st.sampled_from(sorted(DEVICES)).flatmap(
    lambda name: st.tuples(st.just(name), routines(name))))
def test_plan_lasts_warm_up_plus_the_steps_plus_cool_down(drawn):
    device, data = drawn
    plan = compile_routine(routine_from(data), DEVICES[device])
    assert round(plan.duration_s * 1000) == expected_duration_ms(data)


@given(cases())
def test_compiling_twice_gives_identical_plans(case):
    routine, device, user = case
    assert compile_routine(routine, device, user) == compile_routine(routine, device, user)


@given(cases())
def test_timelines_rendered_at_two_rates_agree_and_end_at_rest(case):
    routine, device, user = case
    plan = compile_routine(routine, device, user)
    used = plan.used_channels()
    _, slow = plan.render(2.0, used)
    _, fast = plan.render(10.0, used)
    for channel in map(device.channel, used):
        shared = fast[channel.id][::5][: len(slow[channel.id])]
        np.testing.assert_allclose(slow[channel.id], shared, atol=1e-6, err_msg=channel.id)
        assert np.all(fast[channel.id] <= channel.max + 1e-9)
        assert np.all(fast[channel.id] >= channel.min - 1e-9)
        if channel.safe_default is not None:
            end = plan.values_at(channel.id, [plan.duration_s - 1e-9])
            assert end[0] == pytest.approx(channel.safe_default, abs=1e-6), channel.id


@given(cases(), st.integers(1, 5))
def test_intensity_level_equals_level_5_scaled_as_the_board_does(case, level):
    routine, device, user = case
    strongest = compile_routine(routine, device, user, intensity=5)
    chosen = compile_routine(routine, device, user, intensity=level)
    scale = intensity_factor(level) / intensity_factor(5)
    assert np.array_equal(strongest.table[["channel", "start_s", "duration_s", "period_s", "step"]],
                          chosen.table[["channel", "start_s", "duration_s", "period_s", "step"]])
    for index, channel in enumerate(device.channels):
        rows = strongest.table["channel"] == index
        for column in ("start_value", "end_value", "amplitude"):
            expected = strongest.table[column][rows]
            if channel.kind.scaled_by_intensity:
                offset = 0.0 if column == "amplitude" else channel.safe_default
                expected = offset + (expected - offset) * scale
            np.testing.assert_allclose(chosen.table[column][rows], expected, atol=1e-9)


def test_intensity_comes_from_the_call_then_routine_then_user():
    data = {"name": "x", "description": "y", "steps": [
        {"kind": "knead", "duration_s": 60, "speed_cpm": 20, "band": "mid_back", "depth_mm": 9}]}
    keen = UserProfile(preferred_intensity=4)
    assert compile_routine(routine_from(data), CHAIR, keen).intensity == 4
    assert compile_routine(routine_from({**data, "intensity": 2}), CHAIR, keen).intensity == 2
    assert compile_routine(routine_from({**data, "intensity": 2}), CHAIR, keen, 5).intensity == 5
    with pytest.raises(InputError, match="use 1, 2, 3, 4 or 5"):
        compile_routine(routine_from(data), CHAIR, keen, 6)


def test_written_values_are_felt_at_level_3():
    data = {"name": "x", "description": "y", "steps": [
        {"kind": "press", "zones": ["seat"], "pressure_kpa": 12, "ramp_in_s": 20, "hold_s": 60,
         "release_s": 20}]}
    at = {level: compile_routine(routine_from(data), CHAIR, intensity=level) for level in (3, 5)}
    peaks = {level: at[level].channel_table("airbag_seat")["end_value"].max() for level in at}
    assert peaks == {3: pytest.approx(12.0), 5: pytest.approx(16.0)}


def test_a_zone_the_device_lacks_names_the_step():
    data = {"name": "x", "description": "y", "steps": [
        {"kind": "pause", "duration_s": 5},
        {"kind": "heat", "zone": "calves", "temperature_c": 40, "duration_s": 60}]}
    with pytest.raises(InvalidFileError) as caught:
        compile_routine(routine_from(data), PAD)
    [problem] = caught.value.problems
    assert (problem.source, problem.field) == ("drawn.toml", "steps[1].zone")
    data["steps"][1]["optional"] = True
    plan = compile_routine(routine_from(data), PAD)
    assert plan.used_channels() == []
    assert plan.notes == ("steps[1] (heat): skipped zone 'calves': device 'pad' has none "
                          "(the step is optional)",)


def test_positions_map_through_the_body_and_beyond_reach_are_clamped_with_a_note():
    data = {"name": "x", "description": "y", "warm_up_s": 0, "steps": [
        {"kind": "trigger_point", "position_pct": 50, "hold_s": 30}]}
    tall = UserProfile(shoulder_height_mm=700, back_length_mm=500)
    plan = compile_routine(routine_from(data), CHAIR, tall)
    # 50 % of a 500 mm back below a 700 mm shoulder line: 450 mm above the seat, 390 mm of track.
    assert plan.values_at("roller_position", [20.0])[0] == pytest.approx(390.0)
    assert plan.notes == ()
    on_pad = compile_routine(routine_from({**data, "steps": [
        {"kind": "trigger_point", "position_pct": 0, "hold_s": 30}]}), PAD, tall)
    assert on_pad.values_at("roller_position", [20.0])[0] == 260.0  # the pad's top end
    [note] = on_pad.notes
    assert note.startswith("steps[0] (trigger_point): the point at 0 % lies wholly above the "
                           "reach of device 'pad'")
    assert note.endswith("the roller works at 64 % instead, the nearest it gets")


def test_a_band_partly_out_of_reach_says_which_part_and_what_the_roller_covers():
    data = {"name": "x", "description": "y", "warm_up_s": 0, "steps": [
        {"kind": "knead", "band": [40, 70], "duration_s": 60, "speed_cpm": 20}]}
    [note] = compile_routine(routine_from(data), PAD).notes
    assert note == ("steps[0] (knead): band at 40 % to 70 %: the part above 49 % is beyond the "
                    "reach of device 'pad' for user 'default' (49 % to 107 %); the roller "
                    "covers 49 % to 70 % of it")


def test_a_users_trigger_point_moves_the_roller():
    data = {"name": "x", "description": "y", "warm_up_s": 0, "steps": [
        {"kind": "trigger_point", "point": "rhomboid", "hold_s": 30}]}
    standard = compile_routine(routine_from(data), CHAIR)
    mine = compile_routine(routine_from(data), CHAIR, UserProfile(
        trigger_points=[{"name": "rhomboid", "position_pct": 30}]))
    assert standard.values_at("roller_position", [20.0])[0] == pytest.approx(600 - 0.24 * 450 - 60)
    assert mine.values_at("roller_position", [20.0])[0] == pytest.approx(600 - 0.30 * 450 - 60)


def test_the_pad_runs_depth_and_width_steps_and_says_what_it_ignores():
    data = {"name": "x", "description": "y", "steps": [
        {"kind": "knead", "duration_s": 60, "speed_cpm": 20, "band": "lower_back",
         "depth_mm": 8, "width_mm": 100},
        {"kind": "stroke", "duration_s": 60, "band": [70, 100], "speed_mm_s": 10, "depth_mm": 5}]}
    plan = compile_routine(routine_from(data), PAD)
    assert "roller_depth" not in [c.id for c in PAD.channels]
    assert plan.notes == (
        "depth_mm not honoured: device 'pad' has no depth control (2 steps: steps[0], steps[1])",
        "width_mm not honoured: device 'pad' has no width control (1 step: steps[0])",
    )


def test_trigger_point_sinks_in_only_after_the_roller_arrives_and_lifts_before_the_end():
    data = {"name": "x", "description": "y", "warm_up_s": 0, "steps": [
        {"kind": "trigger_point", "position_pct": 0, "depth_mm": 9, "hold_s": 40,
         "press_s": 6, "release_s": 6}]}
    plan = compile_routine(routine_from(data), CHAIR)
    position = plan.channel_table("roller_position")
    travel_s = position["duration_s"][0]  # park (0 mm) to the shoulder line at 30 mm/s
    assert travel_s == pytest.approx(540 / 30)
    depth = plan.channel_table("roller_depth")
    assert depth["start_s"][1] == pytest.approx(travel_s) and depth["end_value"][1] == 9.0
    assert plan.values_at("roller_depth", [52.0 - 1e-6])[0] == pytest.approx(0.0, abs=1e-3)


def test_heat_preheats_during_the_warm_up_and_everything_rests_after_the_cool_down():
    data = {"name": "x", "description": "y", "warm_up_s": 30, "cool_down_s": 20, "steps": [
        {"kind": "heat", "zone": "lower_back", "temperature_c": 40, "duration_s": 600}]}
    plan = compile_routine(routine_from(data), CHAIR)
    heat = plan.channel_table("heat_lower_back")
    assert (heat["start_s"][0], heat["duration_s"][0], heat["end_value"][0]) == (0.0, 30.0, 40.0)
    assert plan.step_label(int(heat["step"][0])) == "warm_up_s (warm-up)"
    assert plan.step_label(int(heat["step"][-1])) == "cool_down_s (cool-down)"
    assert plan.values_at("heat_lower_back", [plan.duration_s - 1e-6])[0] < 0.01


def test_an_eight_hour_routine_compiles_in_whole_periods_and_pieces():
    knead = {"kind": "knead", "duration_s": 1800, "speed_cpm": 20, "band": [0, 100]}
    plan = compile_routine(routine_from({"name": "x", "description": "y", "steps": [
        {"kind": "repeat", "count": 16, "steps": [knead]}]}), CHAIR)
    assert plan.duration_s == 20 + 8 * 3600 + 20
    assert plan.problems() == []


@given(st.sampled_from(sorted(DEVICES)), wild_routines())
def test_any_routine_is_refused_by_name_or_compiles_within_every_limit(device_name, data):
    device = DEVICES[device_name]
    try:
        routine = routine_from(data)
        plan = compile_routine(routine, device)
    except InvalidFileError as error:
        assert error.problems and all(p.source == "drawn.toml" for p in error.problems)
        event("refused")
        return
    event("compiled")
    assert plan.problems() == []
