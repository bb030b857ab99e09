"""Pause and resume, intensity, heat, every stop source, the body scan and the fault latch,
against the simulated chair in virtual time."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from massagectl.controller.session.state import SessionState
from massagectl.firmware_bridge.messages import DeviceState, RemoteKey
from massagectl.routines.device import load_device
from massagectl.routines.errors import FaultLatchedError, InputError
from massagectl.routines.intensity import intensity_factor
from massagectl.routines.routine import load_routine
from massagectl.routines.user import UserLimits, UserProfile
from massagectl.safety.fault_log import FaultLog
from massagectl.safety.faults import FaultLatch
from massagectl.safety.stop_path import StopSource
from massagectl.sim.faults import FaultKind
from massagectl.sim.physics.occupant import Occupant
from tests.controller.sessions import board_outputs_against_plan, run_on_simulator, wait_until

CHAIR = load_device("chair")

SHORT_ROUTINE = """
name = "short_mix"
description = "Two minutes of kneading, a calf squeeze and warm calves"
warm_up_s = 10
cool_down_s = 10

[[steps]]
kind = "parallel"

[[steps.tracks]]
[[steps.tracks.steps]]
kind = "heat"
zone = "calves"
temperature_c = 39
duration_s = 120

[[steps.tracks]]
[[steps.tracks.steps]]
kind = "knead"
duration_s = 60
speed_cpm = 20
band = "upper_back"
depth_mm = 6

[[steps.tracks.steps]]
kind = "press"
zones = ["calves"]
pressure_kpa = 5
ramp_in_s = 10
hold_s = 30
release_s = 20
"""


@pytest.fixture
def short_routine(tmp_path: Path):
    path = tmp_path / "short_mix.toml"
    path.write_text(SHORT_ROUTINE)
    return load_routine(path)


def test_pause_makes_the_board_safe_and_resume_continues_where_it_stopped(
        short_routine, run_virtual_time):
    seen = {}

    async def pause_then_resume(session, driver, chair):
        await wait_until(lambda: session.state is SessionState.RUNNING and
                         session.elapsed_s() >= 50.0)
        session.pause()
        await wait_until(lambda: session.state is SessionState.PAUSED)
        seen["paused_at_s"] = session.elapsed_s()
        await asyncio.sleep(30.0)  # a long pause: the board must stay safe throughout
        seen["safe_while_paused"] = driver.board.outputs_safe()
        seen["queue_empty"] = driver.board.queue_free == driver.board.queue_capacity
        seen["state_while_paused"] = driver.board.state
        session.resume()

    ran = run_virtual_time(run_on_simulator(CHAIR, short_routine, during=pause_then_resume))
    assert ran.outcome.ended == "finished", ran.outcome
    assert seen["safe_while_paused"] and seen["queue_empty"]
    assert seen["state_while_paused"] is DeviceState.READY  # paused, not shut down
    assert 49.9 <= seen["paused_at_s"] <= 50.2
    # Massage time is the routine's: the pause and the ramp back in are not counted twice.
    assert ran.outcome.massage_s == pytest.approx(short_routine.duration_s, abs=0.05)
    # The board ran the rest of the plan (behind its ramp) exactly as planned.
    assert max(board_outputs_against_plan(ran, level=3).values()) < 0.001


def test_intensity_down_reaches_the_board_at_once_and_never_above_admission(
        short_routine, run_virtual_time):
    seen = {}

    async def change_intensity(session, driver, chair):
        await wait_until(lambda: session.state is SessionState.RUNNING
                         and session.elapsed_s() > 30.0)
        loop = asyncio.get_running_loop()
        session.change_intensity(-2)  # 3 -> 1
        asked_s = loop.time()
        await wait_until(lambda: driver.board.intensity_scale < 0.7, step_s=0.001)
        seen["latency_s"] = loop.time() - asked_s
        seen["scale"] = driver.board.intensity_scale
        for _ in range(10):
            session.change_intensity(+1)  # clamps at level 5, the admitted plan
        await wait_until(lambda: driver.board.intensity_scale == 1.0, step_s=0.001)
        seen["level"] = session.level

    ran = run_virtual_time(run_on_simulator(CHAIR, short_routine, during=change_intensity))
    assert ran.outcome.ended == "finished"
    assert seen["scale"] == pytest.approx(intensity_factor(1) / intensity_factor(5), abs=0.001)
    assert seen["latency_s"] < 0.01  # an immediate message, not the next segment
    assert seen["level"] == 5


def test_heat_switched_off_goes_off_at_once_and_back_on_within_the_plan(
        short_routine, run_virtual_time):
    seen = {}

    async def heat_off_and_on(session, driver, chair):
        await wait_until(lambda: session.state is SessionState.RUNNING
                         and session.elapsed_s() > 40.0)
        assert session.heat_on
        session.toggle_heat()
        await wait_until(lambda: driver.board.output("heat_calves") == 0.0, step_s=0.001)
        snapshot = session.snapshot()
        # Heat off is said as heat off; the heaters' zones are not "switched off" zones.
        seen["off"] = (snapshot.heat_on, snapshot.heat_off, snapshot.zones_off)
        session.toggle_heat()
        await wait_until(lambda: driver.board.output("heat_calves") > 30.0, step_s=0.001)
        snapshot = session.snapshot()
        seen["on"] = (snapshot.heat_on, snapshot.heat_off, snapshot.zones_off)

    ran = run_virtual_time(run_on_simulator(CHAIR, short_routine, during=heat_off_and_on))
    assert ran.outcome.ended == "finished"
    assert seen == {"off": (False, True, ()), "on": (True, False, ())}


def test_heat_switched_off_during_the_body_scan_stays_off_when_the_routine_runs(
        short_routine, run_virtual_time):
    seen = {}

    async def heat_off_while_scanning(session, driver, chair):
        await wait_until(lambda: session.state is SessionState.SCANNING
                         and session.snapshot().scan_elapsed_s > 5.0)
        snapshot = session.snapshot()
        seen["scan"] = (snapshot.scan_duration_s > snapshot.scan_elapsed_s, snapshot.duration_s)
        assert session.toggle_heat() is False
        await wait_until(lambda: session.state is SessionState.RUNNING
                         and session.elapsed_s() > 40.0)
        seen["running"] = (session.heat_on, driver.board.output("heat_calves"))

    ran = run_virtual_time(run_on_simulator(CHAIR, short_routine, body_scan=True,
                                            during=heat_off_while_scanning))
    assert ran.outcome.ended == "finished"
    assert seen == {"scan": (True, short_routine.duration_s), "running": (False, 0.0)}
    # The last snapshot shows where the session ended, with nothing on.
    last = ran.session.snapshot()
    assert last.elapsed_s == pytest.approx(ran.outcome.massage_s) and not last.heat_on


def test_a_zone_switched_off_stays_off_over_a_pause_and_comes_back_on_request(
        short_routine, run_virtual_time):
    seen = {}

    async def calves_off(session, driver, chair):
        await wait_until(lambda: session.state is SessionState.RUNNING
                         and driver.board.output("airbag_calves") > 2.0)
        session.set_zone("calves", on=False)  # the airbag and the heat of the calves
        await wait_until(lambda: driver.board.output("airbag_calves") == 0.0
                         and driver.board.output("heat_calves") == 0.0, step_s=0.001)
        seen["off"] = session.snapshot().zones_off
        assert not session.heat_on  # the only heat zone is off
        session.pause()
        await wait_until(lambda: session.state is SessionState.PAUSED)
        session.resume()
        await wait_until(lambda: session.state is SessionState.RUNNING
                         and session.elapsed_s() > 35.0)
        seen["after_resume"] = (driver.board.output("airbag_calves"),
                                driver.board.output("heat_calves"))
        session.set_zone("calves", on=True)
        await wait_until(lambda: driver.board.output("heat_calves") > 30.0, step_s=0.001)
        seen["on"] = session.snapshot().zones_off
        with pytest.raises(InputError, match="zones of the chair: shoulders, lower_back, seat"):
            session.set_zone("elbows", on=False)

    ran = run_virtual_time(run_on_simulator(CHAIR, short_routine, during=calves_off))
    assert ran.outcome.ended == "finished"
    assert seen == {"off": ("calves",), "after_resume": (0.0, 0.0), "on": ()}


STOP_SOURCES = ["terminal", "remote_key", "mqtt", "session_timer", "seat_vacated",
                "supervisor_fault"]


@pytest.mark.parametrize("source", STOP_SOURCES)
def test_every_stop_source_ends_in_the_same_safe_state(source, short_routine,
                                                      run_virtual_time):
    async def stop_mid_session(session, driver, chair):
        await wait_until(lambda: session.state is SessionState.RUNNING
                         and session.elapsed_s() > 45.0)
        if source == "terminal":
            session.stop(StopSource.TERMINAL, "q pressed")
        elif source == "mqtt":
            session.stop(StopSource.MQTT, "stop command")
        elif source == "session_timer":
            session.stop(StopSource.SESSION_TIMER, "auto-off")
        elif source == "remote_key":
            driver.press(RemoteKey.STOP)
        elif source == "seat_vacated":
            driver.inject_fault(FaultKind.SEAT_VACATED)
        elif source == "supervisor_fault":
            driver.inject_fault(FaultKind.DEAD_SENSOR, "temp_calves")

    ran = run_virtual_time(run_on_simulator(CHAIR, short_routine, during=stop_mid_session))
    board = ran.board
    assert board.outputs_safe()
    assert board.state is DeviceState.SHUTDOWN  # the same latched safe state for every source
    assert board.queue_free == board.queue_capacity
    assert ran.outcome.stop is not None and ran.outcome.stop.ended == "confirmed"
    if source in ("seat_vacated", "supervisor_fault"):
        assert ran.outcome.ended == "fault"
        assert ran.session.state is SessionState.FAULT
    else:
        assert ran.outcome.ended == "stopped"
        assert ran.session.state is SessionState.IDLE
    assert 45.0 < ran.outcome.massage_s < 50.0  # stopped where it was, not later


def test_a_latched_fault_blocks_the_next_session_until_cleared(tmp_path, short_routine,
                                                                run_virtual_time):
    log = FaultLog(tmp_path / "faults.jsonl")
    latch = FaultLatch(log)

    async def stall(session, driver, chair):
        await wait_until(lambda: session.state is SessionState.RUNNING
                         and session.elapsed_s() > 20.0)
        driver.inject_fault(FaultKind.STUCK_VALVE, "airbag_calves")

    ran = run_virtual_time(run_on_simulator(CHAIR, short_routine, during=stall, latch=latch))
    assert ran.outcome.ended == "fault"
    with pytest.raises(FaultLatchedError, match="stuck_valve"):
        run_virtual_time(run_on_simulator(CHAIR, short_routine, latch=latch))
    latch.clear("test: valve checked")
    again = run_virtual_time(run_on_simulator(CHAIR, short_routine, latch=latch))
    assert again.outcome.ended == "finished"


@pytest.mark.parametrize("shoulder_mm", [470.0, 555.0, 640.0, 725.0])
def test_the_body_scan_finds_the_shoulder_line_within_10_mm(shoulder_mm, short_routine,
                                                            run_virtual_time):
    user = UserProfile(shoulder_height_mm=600.0)  # the profile's guess; the scan corrects it

    async def stop_after_scan(session, driver, chair):
        await wait_until(lambda: session.scan is not None or (session.state is not
                         SessionState.SCANNING and session.state is not SessionState.IDLE))
        session.stop(StopSource.TERMINAL, "scan checked")

    ran = run_virtual_time(run_on_simulator(
        CHAIR, short_routine, user, body_scan=True, during=stop_after_scan,
        occupant=Occupant(shoulder_mm, user.back_length_mm)))
    assert ran.outcome.scan is not None
    assert abs(ran.outcome.scan.shoulder_height_mm - shoulder_mm) <= 10.0
    # The session then uses the scanned body map, not the profile's guess.
    assert ran.session.user.shoulder_height_mm == pytest.approx(
        ran.outcome.scan.shoulder_height_mm, abs=0.1)


def test_the_scanned_shoulder_line_moves_the_roller_work(short_routine, run_virtual_time):
    """Kneading the upper back sits higher for a taller occupant."""
    heights = {}
    for shoulder_mm in (500.0, 700.0):
        ran = run_virtual_time(run_on_simulator(
            CHAIR, short_routine, body_scan=True,
            occupant=Occupant(shoulder_mm, 450.0)))
        assert ran.outcome.ended == "finished"
        plan_s = (ran.board.trace.ticks - ran.anchor_clock) / ran.board.clock_hz
        kneading = (plan_s > 15) & (plan_s < 60)
        positions = ran.board.trace.output("roller_position")[kneading]
        heights[shoulder_mm] = float(np.nanmean(positions))
    assert heights[700.0] - heights[500.0] == pytest.approx(200.0, abs=15.0)


TEN_MINUTES = """
name = "ten_minutes"
description = "Ten minutes of kneading: exactly the shortest session timer"
warm_up_s = 10
cool_down_s = 10

[[steps]]
kind = "knead"
duration_s = 580
speed_cpm = 20
band = "upper_back"
depth_mm = 6
"""


def test_a_routine_as_long_as_the_session_timer_runs_to_its_end(tmp_path, run_virtual_time):
    path = tmp_path / "ten.toml"
    path.write_text(TEN_MINUTES)
    user = UserProfile(limits=UserLimits(session_min=10))
    ran = run_virtual_time(run_on_simulator(CHAIR, load_routine(path), user))
    assert ran.outcome.ended == "finished"
    assert ran.outcome.massage_s == pytest.approx(600.0, abs=0.05)


def test_a_routine_longer_than_the_session_timer_says_so_and_stops_there(
        tmp_path, run_virtual_time):
    path = tmp_path / "eleven.toml"
    path.write_text(TEN_MINUTES.replace("duration_s = 580", "duration_s = 640"))
    user = UserProfile(limits=UserLimits(session_min=10))
    ran = run_virtual_time(run_on_simulator(CHAIR, load_routine(path), user))
    assert ran.outcome.ended == "stopped"
    assert ran.outcome.stop.sources[0] is StopSource.SESSION_TIMER
    assert ran.outcome.massage_s == pytest.approx(600.0, abs=0.2)
    assert any("longer than the session timer (10 min)" in note for note in ran.outcome.notes)


def test_a_pause_the_board_does_not_confirm_escalates_and_latches(short_routine,
                                                                  run_virtual_time):
    seen = {}

    async def pause_a_deaf_board(session, driver, chair):
        await wait_until(lambda: session.state is SessionState.RUNNING
                         and session.elapsed_s() > 30.0)
        driver.inject_fault(FaultKind.DEAF_TO_STOP)  # a firmware bug: STOP is ignored
        loop = asyncio.get_running_loop()
        paused_s = loop.time()
        session.pause()
        # The host gives up on the board and closes the port; the board's watchdog acts.
        await wait_until(lambda: driver.board.state is DeviceState.SHUTDOWN, step_s=0.01)
        seen["safe_after_s"] = loop.time() - paused_s
        seen["outputs_safe"] = driver.board.outputs_safe()

    ran = run_virtual_time(run_on_simulator(CHAIR, short_routine, during=pause_a_deaf_board))
    assert ran.outcome.ended == "fault"
    assert ran.outcome.stop.ended == "escalated" and ran.outcome.stop.port_closed
    assert [str(f.cause) for f in ran.chair.latch.faults] == ["stop_unconfirmed"]
    assert seen["outputs_safe"]
    # Pausing waits for the board's confirmation (2 s), the stop path tries for 0.25 s more,
    # then the watchdog's 0.5 s: a bounded time, with no answer from the board at all.
    assert seen["safe_after_s"] < 3.0


def test_a_body_scan_that_finds_no_back_ends_as_an_error(short_routine, run_virtual_time):
    ran = run_virtual_time(run_on_simulator(CHAIR, short_routine, body_scan=True,
                                            occupant=Occupant(5000.0, 450.0)))
    assert ran.outcome.ended == "error"
    assert "felt no back" in ran.outcome.detail
    assert ran.board.outputs_safe()
