"""Cold therapy on the pad's thermoelectric zone: the cold floor and the application time at
admission and at run time, heat and cold never at once, and a cooler stuck on."""

from __future__ import annotations

import pytest

from massagectl.firmware_bridge.messages import DeviceState
from massagectl.routines.user import UserProfile
from massagectl.safety.admission import admit
from massagectl.safety.detectors import UNDER_TEMPERATURE_MARGIN_C
from massagectl.safety.faults import FaultCause
from massagectl.safety.limits import COLD_UNDERSHOOT_C, DEFAULT_LIMITS
from massagectl.safety.supervisor import SegmentRefusedError
from massagectl.safety.verdicts import AdmittedPlan, Refusal, ViolationKind
from massagectl.sim.faults import FaultKind
from tests.safety.plans import PAD, lane, plan_of
from tests.safety.rig import Rig
from tests.safety.sim_rig import SimRig

FLOOR_C = DEFAULT_LIMITS.cold.floor_c
MAX_ON_S = DEFAULT_LIMITS.cold.max_on_s
OFF_C = PAD.channel("cool_lower_back").safe_default


def cold_plan(set_point_c: float = FLOOR_C, on_s: float = 600.0, ramp_s: float = 10.0):
    """Cool the lower back to `set_point_c`, cooling for `on_s` in all (ramps included)."""
    return plan_of(PAD, lane("cool_lower_back", (ramp_s, OFF_C, set_point_c, 0),
                             (on_s - 2 * ramp_s, set_point_c, set_point_c, 1),
                             (ramp_s, set_point_c, OFF_C, 2), (30.0, OFF_C, OFF_C, 2)))


def kinds(verdict) -> set[ViolationKind]:
    return {v.kind for v in verdict.violations} if isinstance(verdict, Refusal) else set()


@pytest.mark.parametrize("set_point_c, refused", [(FLOOR_C, False), (FLOOR_C - 0.1, True)])
def test_the_cold_floor_at_admission(set_point_c, refused):
    verdict = admit(cold_plan(set_point_c), PAD, UserProfile())
    assert (ViolationKind.BELOW_FLOOR in kinds(verdict)) is refused
    if refused:
        assert "cold relieves pain at a skin temperature of 13-15 C" in str(verdict.error())


@pytest.mark.parametrize("on_s, refused", [(MAX_ON_S, False), (MAX_ON_S + 1.0, True)])
def test_one_cold_application_at_admission(on_s, refused):
    verdict = admit(cold_plan(on_s=on_s), PAD, UserProfile())
    assert (ViolationKind.COLD_TIME in kinds(verdict)) is refused
    assert isinstance(verdict, AdmittedPlan) is not refused


def test_heat_and_cold_on_one_module_at_once_are_refused():
    both = plan_of(PAD, lane("heat_lower_back", (10, 0, 38, 0), (280, 38, 38, 1), (10, 38, 0, 2)),
                   lane("cool_lower_back", (100, OFF_C, OFF_C, 0), (10, OFF_C, 20, 1),
                        (90, 20, 20, 1), (10, 20, OFF_C, 2), (90, OFF_C, OFF_C, 2)))
    verdict = admit(both, PAD, UserProfile())
    assert ViolationKind.HEAT_AND_COLD in kinds(verdict)
    one_after_the_other = plan_of(
        PAD, lane("heat_lower_back", (10, 0, 38, 0), (80, 38, 38, 1), (10, 38, 0, 2),
                  (200, 0, 0, 2)),
        lane("cool_lower_back", (100, OFF_C, OFF_C, 0), (10, OFF_C, 20, 1), (180, 20, 20, 1),
             (10, 20, OFF_C, 2)))
    assert isinstance(admit(one_after_the_other, PAD, UserProfile()), AdmittedPlan)


def test_the_segment_guard_ends_cold_after_one_application(run_virtual_time):
    async def scenario():
        rig = Rig(cold_plan(on_s=MAX_ON_S), device=PAD)
        rig.begin()
        last_end_s = rig.admitted.plan.duration_s
        more = lane("cool_lower_back", (10.0, OFF_C, 20.0, 1))[0]
        late = more.__class__(more.channel, last_end_s, 10.0, OFF_C, 20.0, 0.0, 0.0, 1)
        with pytest.raises(SegmentRefusedError) as refused:
            rig.supervisor.check_segment(late)
        await rig.stopped()  # the refusal stopped the board
        return refused.value, rig

    refused, rig = run_virtual_time(scenario())
    assert {v.kind for v in refused.violations} == {ViolationKind.COLD_TIME}
    assert rig.supervisor.latch.faults[0].cause is FaultCause.SEGMENT_REFUSED


@pytest.mark.parametrize("below_c, trips", [(-0.05, False), (0.05, True)])
def test_a_surface_colder_than_the_floor_stops_the_session(below_c, trips, run_virtual_time):
    lowest = FLOOR_C - COLD_UNDERSHOOT_C - UNDER_TEMPERATURE_MARGIN_C

    async def scenario():
        rig = Rig(cold_plan(), device=PAD)
        rig.begin()
        await rig.run(5.0, {"temp_lower_back": lowest - below_c}, until=rig.stop_seen,
                      frozen=("temp_lower_back",))
        return rig

    rig = run_virtual_time(scenario())
    faults = rig.supervisor.latch.faults
    assert bool(faults) is trips
    if trips:
        assert faults[0].cause is FaultCause.UNDER_TEMPERATURE


async def stuck_cooler(after_s: float, then_off: bool):
    async with SimRig(PAD) as rig:
        plan = cold_plan(on_s=after_s - 5.0) if then_off else cold_plan(on_s=MAX_ON_S)
        rig.start(rig.admit(plan))
        await rig.run_for(after_s)
        assert not rig.stop_seen(), [str(f) for f in rig.supervisor.latch.faults]
        stuck_s = rig.loop.time()
        rig.board.inject_fault(FaultKind.HEATER_STUCK_ON, "cool_lower_back", now_s=stuck_s)
        outcome = await rig.until_stopped(limit_s=600.0)
        safe_s = rig.loop.time() - stuck_s
        await rig.run_for(600.0)
        trace = rig.board.trace
        coldest = float(trace.actual("cool_lower_back")[trace.times_s >= stuck_s].min())
        return rig.supervisor.latch.faults[0], outcome, safe_s, coldest, rig.board.state


@pytest.mark.parametrize("after_s, then_off", [
    (500.0, False),  # stuck while the thermostat holds 15 C
    (605.0, True),  # stuck as the cold has ended and the surface should warm again
])
def test_a_cooler_stuck_on_is_caught_and_the_cut_off_keeps_the_skin_from_freezing(
        after_s, then_off, run_virtual_time):
    fault, outcome, safe_s, coldest, state = run_virtual_time(stuck_cooler(after_s, then_off))
    assert fault.cause in (FaultCause.COOLER_STUCK_ON, FaultCause.UNDER_TEMPERATURE), str(fault)
    assert outcome.confirmation is not None and state is DeviceState.SHUTDOWN
    assert coldest > 10.0  # the hard floor: the cold cut-off ends it above
    print(f"\ncooler stuck ({'after' if then_off else 'during'} cold): {fault.cause} confirmed "
          f"safe after {safe_s:.1f} s, coldest {coldest:.1f} C")
