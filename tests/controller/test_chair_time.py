"""Pause and resume cannot stretch the session timer or the heat timeout (issue: a person
pausing again before each ramp back in ended kept a 10-minute session running for 46 minutes,
heat and compression on). Measured on the simulated board's trace, in virtual time."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from massagectl.controller.session.session import Session
from massagectl.controller.session.state import SessionState
from massagectl.routines.device import load_device
from massagectl.routines.routine import load_routine
from massagectl.routines.user import UserLimits, UserProfile
from massagectl.safety.limits import HeatLimits, SafetyLimits
from massagectl.safety.stop_path import StopSource
from tests.controller.board_oracle import active_mask, active_s, heat_on_s, stretches
from tests.controller.sessions import (
    EVERYTHING_AT_ONCE,
    SHORT_TIMERS,
    run_on_simulator,
    wait_until,
)

CHAIR = load_device("chair")

# The issue's routine: the lower back heated at 42 C while the calves are squeezed, twenty
# minutes of it for a user whose timer is set to ten.
WARM_BACK_AND_CALVES = """
name = "warm_back_and_calves"
description = "Heat on the lower back while the calves are squeezed again and again"
warm_up_s = 10
cool_down_s = 10

[[steps]]
kind = "parallel"

[[steps.tracks]]
[[steps.tracks.steps]]
kind = "heat"
zone = "lower_back"
temperature_c = 42
duration_s = 1180

[[steps.tracks]]
[[steps.tracks.steps]]
kind = "repeat"
count = 29

[[steps.tracks.steps.steps]]
kind = "press"
zones = ["calves"]
pressure_kpa = 5
ramp_in_s = 5
hold_s = 20
release_s = 5

[[steps.tracks.steps.steps]]
kind = "pause"
duration_s = 10
"""
TEN_MINUTES_S = 600.0
# A person pauses again this long after each resume: well inside the ramp back in (the heat
# climbs 0 -> 42 C at half its 5 C/s rate, about 17 s).
RUN_BEFORE_PAUSE_S = 10.0
# The board's samples come every 50 ms, so each stretch the board works is measured up to one
# sample long; a pause or stop takes a few ms more to reach the board.
PER_STRETCH_S = 0.1


def load_text(tmp_path: Path, text: str):
    path = tmp_path / "warm_back_and_calves.toml"
    path.write_text(text)
    return load_routine(path)


@pytest.fixture
def routine(tmp_path):
    return load_text(tmp_path, WARM_BACK_AND_CALVES)


def pause_resume_attack(cycles: int, seen: dict, run_s: float = RUN_BEFORE_PAUSE_S):
    """Pause, resume, and pause again `run_s` later (before the ramp back in ends), `cycles`
    times."""

    async def attack(session: Session, driver, chair) -> None:
        seen["cycles"] = 0
        await wait_until(lambda: session.state not in (SessionState.IDLE, SessionState.SCANNING))
        for _ in range(cycles):
            if session.state is not SessionState.RUNNING:
                return
            await asyncio.sleep(run_s)
            if session.state is not SessionState.RUNNING:
                return
            session.pause()
            await wait_until(lambda: session.state is not SessionState.RUNNING)
            if session.state is not SessionState.PAUSED:
                return
            session.resume()
            seen["cycles"] += 1
            await wait_until(lambda: session.state is not SessionState.PAUSED)

    return attack


def test_the_issues_170_pause_cycles_end_at_the_10_minute_timer(routine, run_virtual_time):
    user = UserProfile(limits=UserLimits(session_min=10))
    seen: dict = {}
    ran = run_virtual_time(run_on_simulator(CHAIR, routine, user,
                                            during=pause_resume_attack(170, seen)))
    mask = active_mask(ran.board.trace, CHAIR)
    on_chair_s = active_s(ran.board.trace, CHAIR)
    assert on_chair_s <= TEN_MINUTES_S + PER_STRETCH_S * stretches(mask), (
        f"the board worked {on_chair_s / 60:.1f} min over {seen['cycles']} pause cycles")
    assert ran.outcome.ended == "stopped"
    assert ran.outcome.stop.sources[0] is StopSource.SESSION_TIMER
    assert ran.outcome.stop.ended == "confirmed"
    # The timer ran out well before the attack did: it counts ramps, not routine progress.
    assert seen["cycles"] < 170
    assert ran.outcome.chair_s == pytest.approx(on_chair_s, abs=PER_STRETCH_S * stretches(mask))


def test_pause_cycles_cannot_stretch_the_heat_timeout(tmp_path, run_virtual_time):
    """An owner's 4-minute heat timeout holds over pauses: each resume is admitted with the
    heat on-time the session has already spent, and heat ends (with a note) when it is gone."""
    owner = SafetyLimits(heat=HeatLimits(max_on_s=240.0))
    user = UserProfile(limits=UserLimits(session_min=10))
    # 200 s of heat: within the owner's timeout as written.
    short = load_text(tmp_path, WARM_BACK_AND_CALVES.replace("duration_s = 1180",
                                                             "duration_s = 200"))
    seen: dict = {}
    ran = run_virtual_time(run_on_simulator(CHAIR, short, user, limits=owner,
                                            during=pause_resume_attack(60, seen)))
    on_s = heat_on_s(ran.board.trace, CHAIR, "heat_lower_back")
    assert on_s <= 240.0 + PER_STRETCH_S * seen["cycles"], f"heat on for {on_s / 60:.1f} min"
    assert not ran.chair.latch.latched  # pausing is no fault: the heat just ends sooner
    assert any("heat timeout" in note for note in ran.outcome.notes), ran.outcome.notes


@pytest.mark.parametrize("run_s", [5.0, 8.0, 12.0])
def test_every_resume_after_a_pause_starts_on_time(run_s, run_virtual_time):
    """The board's queue is empty after a pause: segments sent before it (a paused plan's next
    minutes) must not keep a resume waiting for room, which started it late, mid-plan, with the
    bags jumping to pressure (found by the session state machine)."""
    seen: dict = {}
    ran = run_virtual_time(run_on_simulator(CHAIR, EVERYTHING_AT_ONCE, limits=SHORT_TIMERS,
                                            during=pause_resume_attack(10, seen, run_s)))
    assert seen["cycles"] >= 5
    assert int(ran.board.trace.segments["late"].sum()) == 0
    assert ran.outcome.stop.sources[0] is StopSource.SESSION_TIMER
    assert not ran.chair.latch.latched
