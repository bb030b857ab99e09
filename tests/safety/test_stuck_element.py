"""A welded heater relay, on the real link against the simulated chair: caught while it is
harmless, the person told to get up and unplug, and the thermal cut-off ends it below 45 C."""

from __future__ import annotations

import pytest

from massagectl.firmware_bridge.messages import DeviceState
from massagectl.routines.user import UserProfile
from massagectl.safety.element_watch import HEAT_LOST_AFTER_S, HEAT_PROGRESS_C
from massagectl.safety.faults import FaultCause
from massagectl.safety.limits import HEAT_HARD_MAX_C
from massagectl.sim.faults import FaultKind
from tests.safety.plans import CHAIR, HOT_CHAIR, lane, plan_of
from tests.safety.rig import Rig
from tests.safety.sim_rig import SimRig

WARM_S = 500.0  # long enough for the thermostat to hold the lower back at its set point


def heat_plan(set_point_c: float, then_c: float | None = None, total_s: float = 1000.0):
    """Warm the lower back to `set_point_c`; from WARM_S on, hold `then_c` (lower, or off)."""
    then_c = set_point_c if then_c is None else then_c
    pieces = [(10, 0, set_point_c, 0), (WARM_S - 10, set_point_c, set_point_c, 1),
              (10, set_point_c, then_c, 1), (total_s - WARM_S - 20, then_c, then_c, 1),
              (10, then_c, 0, 2)]
    return plan_of(CHAIR, lane("heat_lower_back", *pieces), duration_s=total_s)


async def weld_and_wait(set_point_c: float, then_c: float | None, weld_at_s: float):
    async with SimRig(CHAIR, HOT_CHAIR) as rig:  # an owner who allows heat up to 44 C
        user = UserProfile(limits={"temperature_c": 44})
        rig.start(rig.admit(heat_plan(set_point_c, then_c), user))
        await rig.run_for(weld_at_s)
        assert not rig.stop_seen(), rig.supervisor.latch.faults
        welded_s = rig.loop.time()
        rig.board.inject_fault(FaultKind.HEATER_STUCK_ON, "heat_lower_back", now_s=welded_s)
        outcome = await rig.until_stopped(limit_s=300.0)
        safe_s = rig.loop.time()
        await rig.run_for(600.0)  # the surface after STOP: only the cut-off can end the heat
        trace = rig.board.trace
        after = trace.times_s >= safe_s
        return {
            "fault": rig.supervisor.latch.faults[0],
            "confirmed_s": outcome.confirmation is not None and safe_s - welded_s,
            "peak_after_stop_c": float(trace.actual("heat_lower_back")[after].max()),
            "peak_c": float(trace.actual("heat_lower_back")[trace.times_s >= welded_s].max()),
            "state": rig.board.state,
            "cutoff_open": rig.board.plant.zones[CHAIR.channel_index("heat_lower_back")]
            .cutoff_open,
        }


@pytest.mark.parametrize("set_point_c, then_c, weld_at_s, cause, within_s", [
    # Welded while the thermostat holds 42 C.
    (42.0, None, WARM_S + 100.0, FaultCause.HEATER_STUCK_ON, 45.0),
    # Welded just after the set point was lowered, or the heat switched off.
    (42.0, 38.0, WARM_S + 15.0, FaultCause.HEATER_STUCK_ON, 45.0),
    (42.0, 0.0, WARM_S + 15.0, FaultCause.HEATER_STUCK_ON, 45.0),
    # At the highest set point a user may choose the cut-off, 0.5 C above, opens first and
    # the board reports it.
    (44.0, None, WARM_S + 100.0, FaultCause.HEATER_STUCK_ON, 90.0),
])
def test_a_welded_heater_relay_is_caught_and_the_cut_off_keeps_the_surface_below_45_c(
        set_point_c, then_c, weld_at_s, cause, within_s, run_virtual_time):
    seen = run_virtual_time(weld_and_wait(set_point_c, then_c, weld_at_s))
    fault = seen["fault"]
    assert fault.cause is cause, str(fault)
    assert "get up from the chair and unplug it" in fault.detail.lower()
    assert "cannot be switched off" in fault.detail
    assert seen["confirmed_s"] is not False and seen["confirmed_s"] < within_s
    assert seen["state"] is DeviceState.SHUTDOWN
    assert seen["cutoff_open"]
    assert seen["peak_c"] < HEAT_HARD_MAX_C
    print(f"\nwelded at {set_point_c:g} C (then {then_c}): {cause}, confirmed safe after "
          f"{seen['confirmed_s']:.1f} s, peak {seen['peak_c']:.2f} C "
          f"({seen['peak_after_stop_c']:.2f} C after STOP)")


@pytest.mark.parametrize("rise_c, trips", [
    (HEAT_PROGRESS_C + 0.05, False),  # warming, if slowly: the heat arrives
    (HEAT_PROGRESS_C - 0.05, True),  # not warming with the thermostat surely on
])
def test_heat_that_does_not_warm_the_surface_is_a_fault(rise_c, trips, run_virtual_time):
    async def scenario():
        rig = Rig(plan_of(CHAIR, lane("heat_lower_back", (10, 0, 40, 0), (170, 40, 40, 1),
                                      (10, 40, 0, 2))))
        rig.begin()
        await rig.run(10, {"temp_lower_back": 30.0})
        # The thermostat is surely on from here (30 C against 40 C).
        took = await rig.run(1.5 * HEAT_LOST_AFTER_S, lambda t: {
            "temp_lower_back": 30.0 + rise_c * t / HEAT_LOST_AFTER_S}, until=rig.stop_seen)
        return rig, took

    rig, took = run_virtual_time(scenario())
    faults = rig.supervisor.latch.faults
    if not trips:
        assert faults == []
        return
    assert faults[0].cause is FaultCause.HEATER_NOT_HEATING, [str(f) for f in faults]
    assert "unplug" in faults[0].detail
    assert took == pytest.approx(HEAT_LOST_AFTER_S, abs=2.0)
