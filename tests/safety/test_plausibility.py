"""Sensors that lie, on the real link against the simulated chair: a seat switch stuck at
"occupied" on an empty seat, frozen motor speeds and loads, a pressure frozen while the pump
fills. Each ends in a confirmed STOP with its cause."""

from __future__ import annotations

import pytest

from massagectl.firmware_bridge.messages import DeviceState
from massagectl.safety.faults import FaultCause
from massagectl.safety.plausibility import (
    EMPTY_LOAD_MAX_A,
    FOLLOW_CONFIRM_S,
    FOLLOW_TOLERANCE_OF_SPAN,
    FROZEN_PUMPING_READINGS,
    PRESSING_DEPTH_MM,
    RETRACTED_LOAD_MAX_A,
    SEAT_EVIDENCE_S,
    SHALLOW_PRESSING_DEPTH_MM,
    STILL_DEPTH_MM,
    STILL_LOAD_MAX_A,
    STILL_WINDOW_S,
)
from massagectl.sim.faults import FaultKind
from tests.safety.plans import CHAIR, lane, plan_of, squeeze
from tests.safety.rig import Rig
from tests.safety.sim_rig import SimRig

TOTAL_S = 240.0


def varied_plan():
    """The roller on the middle of the back, kneading at changing speeds and pressing in and
    out every 20 s; the calves squeezed to 14 kPa (cap 16) and released every 30 s."""
    travel = lane("roller_position", (TOTAL_S, 200, 200, 1))
    presses = int((TOTAL_S - 4) // 40)
    depth = lane("roller_depth", (4, 0, 0, 0), *[
        piece for _ in range(presses) for piece in ((4, 0, 12, 1), (16, 12, 12, 1),
                                                    (4, 12, 0, 1), (16, 0, 0, 1))],
                 (TOTAL_S - 4 - 40 * presses, 0, 0, 2))
    legs = int((TOTAL_S - 20) // 10)
    speeds = [20 + 20 * (leg % 2) for leg in range(legs + 1)]
    knead = lane("knead_speed", (2, 0, 20, 0),
                 *[(10, speeds[leg], speeds[leg + 1], 1) for leg in range(legs)],
                 (TOTAL_S - 2 - 10 * legs, speeds[legs], 0, 2))
    calves = lane("airbag_calves", *[piece for _ in range(int(TOTAL_S // 30)) for piece in (
        (5, 0, 14, 1), (10, 14, 14, 1), (3.5, 14, 0, 1), (11.5, 0, 0, 1))])
    return plan_of(CHAIR, travel, depth, knead, calves, duration_s=TOTAL_S)


async def inject_and_wait(faults: list[tuple[FaultKind, str | None]], after_s: float):
    async with SimRig(CHAIR) as rig:
        rig.start(rig.admit(varied_plan()))
        await rig.run_for(after_s)
        assert not rig.stop_seen(), [str(f) for f in rig.supervisor.latch.faults]
        injected_s = rig.loop.time()
        calves = rig.board.plant.airbags[CHAIR.channel_index("airbag_calves")]
        for kind, target in faults:
            rig.board.inject_fault(kind, target, now_s=injected_s)
        peak_kpa = calves.pressure_kpa
        while not rig.stop_seen() and rig.loop.time() - injected_s < 200.0:
            await rig.run_for(0.01)
            peak_kpa = max(peak_kpa, calves.pressure_kpa)
        outcome = await rig.until_stopped(limit_s=1.0)
        return {"faults": rig.supervisor.latch.faults, "outcome": outcome,
                "safe_s": rig.loop.time() - injected_s, "state": rig.board.state,
                "outputs_safe": rig.board.outputs_safe(), "peak_calves_kpa": peak_kpa}


@pytest.mark.parametrize("faults, after_s, cause, within_s", [
    # The seat switch sticks at "occupied", then the person gets up: the rollers, pressed in
    # 12 mm on the middle of the back, meet no load.
    ([(FaultKind.STUCK_SENSOR, "seat"), (FaultKind.SEAT_VACATED, None)], 10.0,
     FaultCause.SEAT_IMPLAUSIBLE, 2.0),
    # The same while the heads stand 12 mm deep between two presses.
    ([(FaultKind.STUCK_SENSOR, "seat"), (FaultKind.SEAT_VACATED, None)], 13.0,
     FaultCause.SEAT_IMPLAUSIBLE, 2.0),
    # The same with the rollers retracted: the calves' bag, filled from 30 s on, fills like an
    # empty bag.
    ([(FaultKind.STUCK_SENSOR, "seat"), (FaultKind.SEAT_VACATED, None)], 27.0,
     FaultCause.SEAT_IMPLAUSIBLE, 8.0),
    # The knead speed freezes; the command moves away from it.
    ([(FaultKind.STUCK_SENSOR, "knead_speed")], 22.0, FaultCause.SENSOR_IMPLAUSIBLE, 8.0),
    # The roller load freezes while the heads press; they retract 2 s later.
    ([(FaultKind.STUCK_SENSOR, "roller_load")], 22.0, FaultCause.SENSOR_IMPLAUSIBLE, 8.0),
    # The calves' pressure freezes as the pump starts to fill.
    ([(FaultKind.STUCK_SENSOR, "pressure_calves")], 30.5, FaultCause.SENSOR_STUCK, 1.0),
    ([(FaultKind.STUCK_SENSOR, "pressure_calves")], 33.0, FaultCause.SENSOR_STUCK, 1.0),
    # ... and just below the set point while the pump tops the bag up.
    ([(FaultKind.STUCK_SENSOR, "pressure_calves")], 36.7, FaultCause.SENSOR_STUCK, 1.2),
])
def test_a_sensor_that_lies_is_caught_by_its_command_or_another_sensor(
        faults, after_s, cause, within_s, run_virtual_time):
    seen = run_virtual_time(inject_and_wait(faults, after_s))
    assert seen["faults"][0].cause is cause, [str(f) for f in seen["faults"]]
    assert seen["outcome"].confirmation is not None
    assert seen["state"] is DeviceState.SHUTDOWN and seen["outputs_safe"]
    assert seen["safe_s"] < within_s
    assert seen["peak_calves_kpa"] < 16.0  # never past the calves' cap
    print(f"\n{[k.value + ':' + str(t) for k, t in faults]}: {cause} confirmed safe after "
          f"{seen['safe_s']:.2f} s; calves peak {seen['peak_calves_kpa']:.1f} kPa")


# --- each threshold at its edge, with synthetic telemetry -----------------------------------



@pytest.mark.parametrize("identical, trips", [
    (FROZEN_PUMPING_READINGS - 1, False), (FROZEN_PUMPING_READINGS, True)])
def test_pressure_frozen_while_the_pump_surely_runs_at_its_edge(identical, trips,
                                                                run_virtual_time):
    async def scenario():
        rig = Rig(plan_of(CHAIR, squeeze("airbag_calves", 10.0, 10.0, total_s=40.0)))
        rig.begin()
        await rig.run(2.0)  # filling at 2 kPa/s, the reading following
        # Then `identical` readings of 1.0 kPa (the set point is 4 kPa and climbing), then
        # the reading moves on up again, at the set point's 2 kPa/s.
        await rig.run(identical * 0.05 - 0.01, {"pressure_calves": 1.0},
                      frozen=("pressure_calves",))
        await rig.run(1.0, lambda t: {"pressure_calves": 1.1 + 2.0 * t},
                      frozen=("pressure_calves",))
        return rig

    rig = run_virtual_time(scenario())
    faults = rig.supervisor.latch.faults
    assert bool(faults) is trips, [str(f) for f in faults]
    if trips:
        assert faults[0].cause is FaultCause.SENSOR_STUCK


@pytest.mark.parametrize("off_by, trips", [(-0.2, False), (0.2, True)])
def test_a_speed_reading_outside_its_commands_at_the_edge(off_by, trips, run_virtual_time):
    knead_span = CHAIR.sensor("knead_speed").valid_max - CHAIR.sensor("knead_speed").valid_min
    tolerance = FOLLOW_TOLERANCE_OF_SPAN * knead_span

    async def scenario():
        rig = Rig(plan_of(CHAIR, lane("knead_speed", (2, 0, 30, 0), (60, 30, 30, 1),
                                      (2, 30, 0, 2))))
        rig.begin()
        await rig.run(5.0)
        await rig.run(FOLLOW_CONFIRM_S + 1.0, {"knead_speed": 30.0 + tolerance + off_by},
                      until=rig.stop_seen, frozen=("knead_speed",))
        return rig

    faults = run_virtual_time(scenario()).supervisor.latch.faults
    assert bool(faults) is trips, [str(f) for f in faults]
    if trips:
        assert faults[0].cause is FaultCause.SENSOR_IMPLAUSIBLE


def pressing_plan(position_mm: float = 200.0):
    return plan_of(CHAIR, lane("roller_position", (60, position_mm, position_mm, 1)),
                   lane("roller_depth", (4, 0, 12, 0), (52, 12, 12, 1), (4, 12, 0, 2)))


@pytest.mark.parametrize("load_a, trips", [(EMPTY_LOAD_MAX_A + 0.02, False),
                                           (EMPTY_LOAD_MAX_A - 0.02, True)])
def test_the_seat_says_occupied_and_the_rollers_press_on_nothing_at_the_edge(
        load_a, trips, run_virtual_time):
    async def scenario():
        rig = Rig(pressing_plan())
        rig.begin()
        await rig.run(SEAT_EVIDENCE_S + 1.0, {
            "roller_position": 200.0, "roller_depth": PRESSING_DEPTH_MM + 2.0,
            "roller_load": load_a, "seat": 1.0}, until=rig.stop_seen)
        return rig

    faults = run_virtual_time(scenario()).supervisor.latch.faults
    assert bool(faults) is trips, [str(f) for f in faults]
    if trips:
        assert faults[0].cause is FaultCause.SEAT_IMPLAUSIBLE


@pytest.mark.parametrize("load_a, trips", [(RETRACTED_LOAD_MAX_A - 0.02, False),
                                           (RETRACTED_LOAD_MAX_A + 0.02, True)])
def test_a_load_with_the_heads_retracted_at_the_edge(load_a, trips, run_virtual_time):
    async def scenario():
        rig = Rig(pressing_plan())
        rig.begin()
        await rig.run(SEAT_EVIDENCE_S + 1.0, {"roller_depth": 0.0, "roller_load": load_a},
                      until=rig.stop_seen)
        return rig

    faults = run_virtual_time(scenario()).supervisor.latch.faults
    assert bool(faults) is trips, [str(f) for f in faults]
    if trips:
        assert faults[0].cause is FaultCause.SENSOR_IMPLAUSIBLE


@pytest.mark.parametrize("load_a, trips", [(STILL_LOAD_MAX_A + 0.02, False),
                                           (STILL_LOAD_MAX_A - 0.02, True)])
def test_still_heads_pressing_on_nothing_at_the_load_edge(load_a, trips, run_virtual_time):
    """Shallower than the deep rule, heads standing still on the back draw only the motor's
    idle current when nobody sits there."""
    async def scenario():
        rig = Rig(pressing_plan())
        rig.begin()
        took = await rig.run(STILL_WINDOW_S + SEAT_EVIDENCE_S + 1.0, {
            "roller_position": 200.0, "roller_depth": SHALLOW_PRESSING_DEPTH_MM + 0.5,
            "roller_load": load_a, "seat": 1.0}, until=rig.stop_seen)
        return rig, took

    rig, took = run_virtual_time(scenario())
    faults = rig.supervisor.latch.faults
    assert bool(faults) is trips, [str(f) for f in faults]
    if trips:
        assert faults[0].cause is FaultCause.SEAT_IMPLAUSIBLE
        assert "what the depth motor draws pressing nothing" in faults[0].detail
        assert took <= STILL_WINDOW_S + SEAT_EVIDENCE_S + 0.15


@pytest.mark.parametrize("depth_mm, trips", [(SHALLOW_PRESSING_DEPTH_MM - 0.1, False),
                                             (SHALLOW_PRESSING_DEPTH_MM, True)])
def test_still_heads_pressing_on_nothing_at_the_depth_edge(depth_mm, trips, run_virtual_time):
    async def scenario():
        rig = Rig(pressing_plan())
        rig.begin()
        await rig.run(STILL_WINDOW_S + SEAT_EVIDENCE_S + 1.0, {
            "roller_position": 200.0, "roller_depth": depth_mm, "roller_load": 0.15,
            "seat": 1.0}, until=rig.stop_seen, frozen=("roller_depth",))
        return rig

    faults = run_virtual_time(scenario()).supervisor.latch.faults
    assert bool(faults) is trips, [str(f) for f in faults]


@pytest.mark.parametrize("sway_mm, trips", [(STILL_DEPTH_MM + 0.05, False),
                                            (STILL_DEPTH_MM - 0.05, True)])
def test_only_heads_standing_still_are_judged_by_their_idle_current(sway_mm, trips,
                                                                    run_virtual_time):
    """A moving depth motor draws more than its idle current pressing nothing, so shallow heads
    that move are left to the deep rule: a sway of the depth reading at the stillness edge."""
    async def scenario():
        rig = Rig(pressing_plan())
        rig.begin()
        await rig.run(STILL_WINDOW_S + SEAT_EVIDENCE_S + 1.0, lambda t: {
            "roller_position": 200.0, "roller_load": 0.15, "seat": 1.0,
            "roller_depth": 6.0 + (sway_mm if round(t / 0.05) % 4 == 0 else 0.0)},
            until=rig.stop_seen, frozen=("roller_depth",))
        return rig

    faults = run_virtual_time(scenario()).supervisor.latch.faults
    assert bool(faults) is trips, [str(f) for f in faults]


def test_still_heads_off_the_middle_and_lower_back_are_not_judged(run_virtual_time):
    """On the shoulders and neck the heads may meet little of a seated back: no evidence."""
    async def scenario():
        rig = Rig(pressing_plan(600.0))
        rig.begin()
        await rig.run(STILL_WINDOW_S + SEAT_EVIDENCE_S + 1.0, {
            "roller_position": 600.0, "roller_depth": 6.0, "roller_load": 0.15, "seat": 1.0},
            until=rig.stop_seen)
        return rig

    assert run_virtual_time(scenario()).supervisor.latch.faults == []
