"""The safety layer on the real link against the simulated chair: faults and stops end safe."""

from __future__ import annotations

import dataclasses

import pytest

from massagectl.firmware_bridge.messages import ClearFault, DeviceState, RemoteKey, Reset
from massagectl.routines.compiler import compile_routine
from massagectl.routines.errors import FaultLatchedError
from massagectl.routines.library import load_builtin
from massagectl.routines.user import UserProfile
from massagectl.safety.faults import FaultCause
from massagectl.safety.stop_path import StopEnd, StopSource
from massagectl.sim.faults import FaultKind
from tests.safety.plans import CHAIR, lane, plan_of
from tests.safety.sim_rig import SimRig

WATCHDOG_S = 0.5  # the board's own watchdog (hardware.md)


def work_plan(total_s: float = 340.0):
    """Minutes of roller travel and kneading, calf squeezes and warm calves."""
    legs = int(total_s // 20)
    travel = lane("roller_position", *[(20, 150, 350, 1) if leg % 2 == 0 else (20, 350, 150, 1)
                                       for leg in range(legs)])
    depth = lane("roller_depth", (2, 0, 10, 0), (total_s - 4, 10, 10, 1), (2, 10, 0, 2))
    knead = lane("knead_speed", (2, 0, 30, 0), (total_s - 4, 30, 30, 1), (2, 30, 0, 2))
    cycles = int(total_s // 40)
    squeezes = lane("airbag_calves", *[piece for _ in range(cycles) for piece in (
        (5, 0, 10, 1), (15, 10, 10, 1), (5, 10, 0, 1), (15, 0, 0, 1))],
        (total_s - 40 * cycles, 0, 0, 2))
    heat = lane("heat_calves", (10, 0, 40, 0), (total_s - 20, 40, 40, 1), (10, 40, 0, 2))
    return plan_of(CHAIR, travel, depth, knead, squeezes, heat, duration_s=total_s)


def test_a_built_in_routine_runs_to_its_end_without_a_trip(run_virtual_time):
    async def scenario():
        async with SimRig(CHAIR) as rig:
            plan = compile_routine(load_builtin("energising_tap"), CHAIR, UserProfile(),
                                   intensity=5)
            rig.start(rig.admit(plan))
            await rig.run_for(plan.duration_s + 1.0)
            rig.supervisor.end_session()
            return (rig.supervisor.latch.faults, rig.refused, rig.stop_seen(),
                    rig.board.outputs_safe(), rig.board.state)

    faults, refused, stopped, safe, state = run_virtual_time(scenario())
    assert (faults, refused, stopped) == ([], [], False)
    assert safe and state is DeviceState.READY


@pytest.mark.parametrize("fault, target, cause, healthy_s", [
    (FaultKind.STUCK_VALVE, "airbag_calves", FaultCause.STUCK_VALVE, 10.0),
    (FaultKind.STUCK_SENSOR, "pressure_calves", FaultCause.SENSOR_STUCK, 28.0),
    (FaultKind.DEAD_SENSOR, "temp_calves", FaultCause.SENSOR_OUT_OF_RANGE, 5.0),
    (FaultKind.HEATER_STUCK_ON, "heat_lower_back", FaultCause.HEATER_STUCK_ON, 5.0),
    (FaultKind.MOTOR_STALL, "roller_position", FaultCause.MOTOR_STALL, 5.0),
    (FaultKind.SEAT_VACATED, None, FaultCause.SEAT_VACATED, 5.0),
    (FaultKind.RESET, None, FaultCause.BOARD_RESET, 5.0),
    (FaultKind.UNPLUG, None, FaultCause.STALE_TELEMETRY, 5.0),
])
def test_each_injected_fault_ends_in_the_safe_state_with_its_cause(
        fault, target, cause, healthy_s, run_virtual_time):
    async def scenario():
        async with SimRig(CHAIR) as rig:
            rig.start(rig.admit(work_plan()))
            await rig.run_for(healthy_s)
            assert not rig.stop_seen(), rig.supervisor.latch.faults
            rig.board.inject_fault(fault, target, now_s=rig.loop.time())
            outcome = await rig.until_stopped(limit_s=250.0)
            await rig.run_for(WATCHDOG_S + 0.05)  # long enough for the board's own watchdog
            return outcome, rig.supervisor.latch.faults, rig.board.outputs_safe(), rig.board

    outcome, faults, safe, board = run_virtual_time(scenario())
    assert faults[0].cause is cause, [str(f) for f in faults]
    assert safe and board.state is DeviceState.SHUTDOWN
    if fault is FaultKind.UNPLUG:  # nothing gets through: the board's watchdog did it
        assert outcome.ended is StopEnd.ESCALATED and outcome.port_closed
        assert board.stop_cause.name == "WATCHDOG"


STOP_SOURCES = [StopSource.TERMINAL, StopSource.MQTT, StopSource.REMOTE_KEY,
                StopSource.SEAT_SENSOR, StopSource.SUPERVISOR, StopSource.SESSION_TIMER]


@pytest.mark.parametrize("source", STOP_SOURCES)
def test_every_stop_source_ends_in_the_same_safe_state(source, run_virtual_time):
    async def scenario():
        async with SimRig(CHAIR) as rig:
            admitted = rig.admit(work_plan())
            if source is StopSource.SESSION_TIMER:  # an auto-off after 10 s, not 30 min
                admitted = dataclasses.replace(
                    admitted, limits=dataclasses.replace(admitted.limits, auto_off_s=10.0))
            rig.start(admitted)
            await rig.run_for(5.0)
            now = rig.loop.time()
            if source in (StopSource.TERMINAL, StopSource.MQTT):
                rig.stop_path.request(source, "stop")
            elif source is StopSource.REMOTE_KEY:
                rig.board.remote.press(RemoteKey.STOP, now)
            elif source is StopSource.SEAT_SENSOR:
                rig.board.inject_fault(FaultKind.SEAT_VACATED, now_s=now)
            elif source is StopSource.SUPERVISOR:
                rig.supervisor.link_lost("test: the link reported itself lost", now)
            outcome = await rig.until_stopped(limit_s=30.0)
            return outcome, rig.board

    outcome, board = run_virtual_time(scenario())
    assert outcome.sources[0] is source
    assert outcome.ended is StopEnd.CONFIRMED and not outcome.port_closed
    assert outcome.confirmation.state is DeviceState.SHUTDOWN and outcome.confirmation.outputs_safe
    assert board.state is DeviceState.SHUTDOWN and board.outputs_safe()


def test_a_latched_fault_blocks_a_new_session_until_cleared(run_virtual_time):
    async def scenario():
        async with SimRig(CHAIR) as rig:
            admitted = rig.admit(work_plan())
            rig.start(admitted)
            await rig.run_for(5.0)
            rig.board.inject_fault(FaultKind.MOTOR_STALL, "roller_position",
                                   now_s=rig.loop.time())
            await rig.until_stopped()
            with pytest.raises(FaultLatchedError):
                rig.start(admitted)
            rig.board.clear_fault(FaultKind.MOTOR_STALL, "roller_position",
                                  now_s=rig.loop.time())
            rig.supervisor.clear_faults("owner, after checking the carriage", rig.loop.time())
            await rig.link.send(Reset())
            await rig.run_for(0.5)
            assert rig.board.state is DeviceState.SHUTDOWN  # the board keeps its latch
            await rig.link.send(ClearFault())
            await rig.link.send(Reset())
            await rig.run_for(0.5)
            rig.start(admitted)
            await rig.run_for(20.0)
            return rig.supervisor.latch.faults, rig.supervisor.session_active, rig.board.state

    faults, active, state = run_virtual_time(scenario())
    assert faults == [] and active and state is DeviceState.READY


def test_roller_heads_jammed_out_after_a_stop_are_a_fault_within_their_retract_time(
        run_virtual_time):
    """outputs_safe is what the board commands; the heads must then get back within
    (40 mm / 15 mm/s) + 0.5 s = 3.2 s (hardware.md 5), or the host latches a fault."""

    async def scenario():
        async with SimRig(CHAIR) as rig:
            rig.start(rig.admit(work_plan()))
            await rig.run_for(10.0)
            rig.board.inject_fault(FaultKind.MOTOR_STALL, "roller_depth", now_s=rig.loop.time())
            stopped_s = rig.loop.time()
            outcome = await rig.stop_path.stop(StopSource.TERMINAL, "q")
            await rig.run_for(4.0)
            faults = rig.supervisor.latch.faults
            rig.board.clear_fault(FaultKind.MOTOR_STALL, "roller_depth", now_s=rig.loop.time())
            return outcome, faults, stopped_s

    outcome, faults, stopped_s = run_virtual_time(scenario())
    assert outcome.ended is StopEnd.CONFIRMED  # commanded safe at once
    [fault] = faults
    assert fault.cause is FaultCause.NOT_SAFE_AFTER_STOP and "roller_depth" in fault.detail
    assert 3.1 <= fault.host_s - stopped_s <= 3.4  # board clock and host clock differ a little
