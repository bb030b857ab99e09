"""The shared vocabulary: device profiles, user profiles, plans, and the virtual clock."""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from massagectl.routines.device import ChannelKind, Zone, builtin_device_names, load_device
from massagectl.routines.errors import InvalidFileError, UnknownNameError
from massagectl.routines.plan import Plan, Segment, segment_table, split_segment
from massagectl.routines.user import load_user


def test_builtin_devices_load_and_describe_their_channels():
    assert builtin_device_names() == ["chair", "pad"]
    chair = load_device("chair")
    assert chair.zones >= {Zone.SHOULDERS, Zone.ARMS, Zone.SEAT, Zone.CALVES, Zone.FEET}
    assert chair.has_seat_sensor
    assert all(c.max <= 45 for c in chair.channels_of(ChannelKind.HEAT))
    pad = load_device("pad")
    assert not pad.channels_of(ChannelKind.AIRBAG)
    assert len(pad.channels_of(ChannelKind.HEAT)) == 1


def test_unknown_device_names_close_matches():
    with pytest.raises(UnknownNameError) as caught:
        load_device("chiar")
    assert "chair" in str(caught.value)


def test_device_file_with_bad_safe_default_names_the_field(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name = "heater"\ndescription = "one heat pad"\n'
        '[[channels]]\nid = "heat"\nkind = "heat"\nzone = "lower_back"\n'
        "min = 0\nmax = 45\nsafe_default = 50\nmax_rate_per_s = 5\nmax_duration_s = 300\n"
    )
    with pytest.raises(InvalidFileError) as caught:
        load_device(bad)
    [problem] = caught.value.problems
    assert problem.field == "channels[0]"
    assert problem.message == ("safe_default 50 is not the off value of a heat channel: its safe "
                               "state is off, its min (0 C)")


def test_user_profile_refuses_unknown_precaution(tmp_path: Path):
    path = tmp_path / "me.toml"
    path.write_text('precautions = ["dvt", "flu"]\n')
    with pytest.raises(InvalidFileError) as caught:
        load_user(path)
    assert [p.field for p in caught.value.problems] == ["precautions[1]"]


def test_toml_syntax_error_names_the_line(tmp_path: Path):
    path = tmp_path / "me.toml"
    path.write_text('name = "x"\nshoulder_height_mm = \n')
    with pytest.raises(InvalidFileError) as caught:
        load_user(path)
    assert "line 2" in str(caught.value)


values = st.floats(min_value=0, max_value=30, allow_nan=False)


@given(
    start=values, end=values, amplitude=st.floats(0, 5), period=st.floats(0.5, 20),
    duration=st.floats(1, 1000), limit=st.floats(30, 120),
)
def test_split_segment_renders_identically(start, end, amplitude, period, duration, limit):
    chair = load_device("chair")
    whole = Segment("airbag_seat", 0.0, duration, start, end, amplitude,
                    period if amplitude else 0.0)
    pieces = split_segment(whole, limit)
    assert all(p.duration_s <= limit + 1e-6 for p in pieces)
    assert math.isclose(sum(p.duration_s for p in pieces), duration, rel_tol=1e-9)
    table_whole = segment_table([whole], chair)
    table_split = segment_table(pieces, chair)
    plan_whole = Plan("x", chair, duration, table_whole)
    plan_split = Plan("x", chair, duration, table_split)
    times = np.linspace(0, duration, 97, endpoint=False)
    np.testing.assert_allclose(
        plan_whole.values_at("airbag_seat", times), plan_split.values_at("airbag_seat", times),
        atol=1e-6,
    )


def test_plan_render_uses_safe_default_and_holds_position():
    chair = load_device("chair")
    segments = [
        Segment("roller_position", 0.0, 10.0, 100.0, 300.0),
        Segment("airbag_calves", 0.0, 5.0, 0.0, 8.0),
    ]
    plan = Plan("x", chair, 10.0, segment_table(segments, chair))
    _times, lanes = plan.render(rate_hz=2)
    assert lanes["roller_position"][0] == 100.0 and lanes["roller_position"][-1] == 290.0
    assert lanes["airbag_calves"][8] == pytest.approx(6.4)  # t = 4 s
    assert lanes["airbag_calves"][12] == 0.0  # after the segment: safe default
    assert lanes["heat_calves"].max() == 0.0
    problem = "airbag_calves: last segment ends at 5.000000 s, plan ends at 10.000000 s"
    assert problem in plan.problems()


def test_virtual_time_skips_idle_time(run_virtual_time):
    async def an_hour_of_waiting():
        loop = asyncio.get_running_loop()
        start = loop.time()
        await asyncio.sleep(3600)
        return loop.time() - start

    assert run_virtual_time(an_hour_of_waiting()) == pytest.approx(3600)


def test_virtual_time_reaches_a_deadline_a_rounding_error_away(run_virtual_time):
    """Waiting 'until the deadline' in a loop must end, even when float rounding leaves a few
    ulps to go: the clock has to reach timers that asyncio runs early."""

    async def wait_until(deadline_s):
        loop = asyncio.get_running_loop()
        wakeups = 0
        while loop.time() < deadline_s:
            wakeups += 1
            assert wakeups < 100, "the clock stopped moving"
            try:  # the shape of a wait that also wakes on an event
                await asyncio.wait_for(asyncio.Event().wait(), deadline_s - loop.time())
            except TimeoutError:
                pass
        return wakeups

    async def scenario():
        loop = asyncio.get_running_loop()
        await asyncio.sleep(1.0102430555555555)
        return await wait_until(loop.time() + 2.220446049250313e-16)

    assert run_virtual_time(scenario()) <= 2


def test_a_paced_clock_never_runs_more_than_n_times_faster_than_the_wall_clock(run_virtual_time):
    async def five_seconds():
        loop = asyncio.get_running_loop()
        start_s, wall_start_s = loop.time(), time.monotonic()
        await asyncio.sleep(5.0)
        return loop.time() - start_s, time.monotonic() - wall_start_s

    virtual_s, wall_s = run_virtual_time(five_seconds(), speed=50)
    assert virtual_s == pytest.approx(5.0)
    # Pacing promises "no faster than 50x": a loaded machine may only make it slower, so how
    # much slower is a benchmark's question, not a test's.
    assert wall_s >= 0.09


@pytest.mark.parametrize("speed", [None, 100.0])
def test_time_stands_still_while_a_callback_works(speed, run_virtual_time):
    """A slow moment of the machine must not look, to the simulated chair, like seconds of
    silence: its watchdog would trip."""

    async def busy_for_20_ms():
        loop = asyncio.get_running_loop()
        before_s = loop.time()
        deadline = time.monotonic() + 0.02
        while time.monotonic() < deadline:
            pass
        return loop.time() - before_s

    assert run_virtual_time(busy_for_20_ms(), speed=speed) == 0.0
