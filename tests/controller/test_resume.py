"""The rest of a paused plan: a valid plan that ramps back in gently and then is the original."""

from __future__ import annotations

from functools import cache

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from massagectl.controller.session.resume import MIN_RAMP_S, RAMP_RATE_FRACTION, rest_of_plan
from massagectl.routines.compiler import compile_routine
from massagectl.routines.device import load_device
from massagectl.routines.library import library_entries, load_builtin
from massagectl.routines.user import DEFAULT_USER
from massagectl.safety.admission import admit
from massagectl.safety.verdicts import AdmittedPlan

CASES = [(entry.name, device) for entry in library_entries() for device in entry.devices]


@cache
def compiled(routine_name: str, device_name: str):
    return compile_routine(load_builtin(routine_name), load_device(device_name), DEFAULT_USER,
                           intensity=5)


@given(case=st.sampled_from(CASES), fraction=st.floats(0.0, 1.0),
       roller_fraction=st.floats(0.0, 1.0))
def test_the_rest_of_a_plan_is_a_valid_plan_that_admission_accepts(case, fraction,
                                                                   roller_fraction):
    plan = compiled(*case)
    device = plan.device
    roller = device.channel("roller_position")
    now = {"roller_position": roller.min + roller_fraction * (roller.max - roller.min)}
    rest = rest_of_plan(plan, fraction * plan.duration_s, now)
    assert rest.plan.problems() == []
    assert isinstance(admit(rest.plan, device, DEFAULT_USER), AdmittedPlan)
    assert rest.ramp_s >= MIN_RAMP_S
    # Starts from where the board is: level channels at their safe default, the roller where
    # it stopped; and the ramp is no faster than half each channel's rated speed.
    for channel_id in rest.plan.used_channels():
        channel = device.channel(channel_id)
        first = rest.plan.channel_table(channel_id)[0]
        if channel_id in now or channel.safe_default is not None:
            assert first["start_value"] == now.get(channel_id, channel.safe_default)
        ramp = rest.plan.channel_table(channel_id)
        ramp = ramp[ramp["start_s"] < rest.ramp_s]
        slopes = np.abs(ramp["end_value"] - ramp["start_value"]) / ramp["duration_s"]
        assert np.all(slopes <= channel.max_rate_per_s * RAMP_RATE_FRACTION + 1e-9)


@given(case=st.sampled_from(CASES), fraction=st.floats(0.05, 0.95))
def test_after_the_ramp_and_a_swing_the_rest_is_the_original_plan(case, fraction):
    plan = compiled(*case)
    from_s = fraction * plan.duration_s
    rest = rest_of_plan(plan, from_s, {})
    # Oscillations restart at their next whole period; allow the longest period plus a moment.
    settle_s = float(plan.table["period_s"].max()) + 0.01
    times = np.linspace(from_s + settle_s, plan.duration_s, 200, endpoint=False)
    times = times[times < plan.duration_s]
    for channel_id in plan.used_channels():
        original = plan.values_at(channel_id, times)
        resumed = rest.plan.values_at(channel_id, times - from_s + rest.ramp_s)
        np.testing.assert_allclose(resumed, original, atol=1e-6, err_msg=channel_id)
