"""The pause-key attack of issue 11 through `massagectl run` in a real pseudo-terminal: a person
pressing p (pause) and p (resume) again and again, each pause before the ramp back in has
ended, cannot keep the chair working past its session timer.

The issue's run: a user limited to 10-minute sessions, the lower back heated at 42 C while the
calves are squeezed, `--speed 60`; 134 presses of p kept it running past 25 chair-minutes.
Here the owner's config sets a 5-minute timer and the routine lasts a little less (the same
attack in half the wall time, about ten seconds): the person keeps pressing for as long as the
session lets them, up to those 134 presses; the routine's own clock hardly moves, and the
session timer still ends it after 5 minutes on the chair, before the routine could.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect
import pytest

from massagectl.controller.session.recorder import load_trace

TIMEOUT_S = 30  # bounds a failure only; the panel answers a key within its 0.25 s redraw
PRESSES = 134
CAP_MIN = 5
# Each pause ends the chair's clock once the board is safe, a fraction of a second after the
# key; this bounds that fraction from above.
HALT_AFTER_PAUSE_S = 1.0

WARM_BACK_AND_CALVES = """
name = "warm_back_and_calves"
description = "Heat on the lower back while the calves are squeezed, for 4.7 minutes"
warm_up_s = 20
cool_down_s = 20

[[steps]]
kind = "parallel"

[[steps.tracks]]
[[steps.tracks.steps]]
kind = "heat"
zone = "lower_back"
temperature_c = 42
duration_s = 240

[[steps.tracks]]
[[steps.tracks.steps]]
kind = "repeat"
count = 6

[[steps.tracks.steps.steps]]
kind = "press"
zones = ["calves"]
pressure_kpa = 8
ramp_in_s = 10
hold_s = 20
release_s = 10
"""

TEN_MINUTE_USER = """
name = "ten"
shoulder_height_mm = 585
back_length_mm = 430

[limits]
session_min = 10
"""

OWNER = f"""
[limits.session]
cap_min = {CAP_MIN}
"""


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {"routine": tmp_path / "warm_back_and_calves.toml", "user": tmp_path / "ten.toml",
             "config": tmp_path / "config.toml"}
    paths["routine"].write_text(WARM_BACK_AND_CALVES)
    paths["user"].write_text(TEN_MINUTE_USER)
    paths["config"].write_text(OWNER)
    return paths


def test_pressing_pause_and_resume_over_and_over_cannot_outlast_the_session_timer(files,
                                                                                  tmp_path):
    state = tmp_path / "state"
    env = dict(os.environ, XDG_STATE_HOME=str(state), XDG_CONFIG_HOME=str(tmp_path / "cfg"),
               TERM="xterm")
    child = pexpect.spawn(
        sys.executable,
        ["-m", "massagectl", "run", str(files["routine"]), "--user", str(files["user"]),
         "--config", str(files["config"]), "--no-scan", "--speed", "60"],
        env=env, dimensions=(40, 100), encoding="utf-8", timeout=TIMEOUT_S)
    timer = "session_timer: auto-off"
    presses = 0
    try:
        child.expect("running")
        # Pause, wait until the panel says paused; resume, wait until it says resuming; then
        # pause again at once, well inside the ramp back in (15 s of chair time per redraw).
        while presses < PRESSES:
            child.send("p")
            presses += 1
            if child.expect([r"\bpaused\b", timer]) == 1:
                break
            child.send("p")
            presses += 1
            if child.expect(["resuming: ", timer]) == 1:
                break
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 3  # stopped early, by the timer, no fault
    assert presses >= 30, "the attack needs many pauses to mean anything"
    assert presses < PRESSES, "the session outlasted every press: the timer did not end it"

    (trace_path,) = (state / "massagectl" / "chairs" / "SIM-chair-1" / "traces").glob("*.npz")
    events = load_trace(trace_path).events
    stop = next(e for e in events if e["kind"] == "stop")
    assert stop["detail"] == f"session_timer: auto-off after {CAP_MIN} min on the chair"
    pauses = [e["t_s"] for e in events if e["kind"] == "pause"]
    resumes = [e["t_s"] for e in events if e["kind"] == "resume"]
    assert len(pauses) == len(resumes) >= 15
    paused_s = sum(resume - pause for pause, resume in zip(pauses, resumes, strict=True))
    on_chair_s = stop["t_s"] - paused_s
    assert on_chair_s <= CAP_MIN * 60 + HALT_AFTER_PAUSE_S * len(pauses)
    # The pauses came before each ramp back in had ended: the routine itself barely moved
    # ("at 18.8 s" of it), the way the attack froze the old session timer.
    last_pause = next(e for e in reversed(events) if e["kind"] == "pause")
    assert float(last_pause["detail"].removeprefix("at ").removesuffix(" s")) < 60.0
