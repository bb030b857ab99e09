"""The live panel as a person at a terminal sees it: keys answered during the body scan, notes
said before the session, and a last frame that tells how the session ended."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.controller.sessions import TINY
from tests.pty_terminal import Terminal


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"),
            "XDG_CONFIG_HOME": str(tmp_path / "config")}


def _run(tmp_path: Path, *options: str) -> list[str]:
    routine = tmp_path / "tiny.toml"
    routine.write_text(TINY)
    return [sys.executable, "-m", "massagectl", "run", str(routine), *options]


def _last_frame(screen: str, summary: str) -> str:
    """The panel drawn last, just above the summary line."""
    end = screen.rindex(summary)
    return screen[screen.rindex("╭", 0, end):end]


def test_keys_during_the_body_scan_are_answered_and_the_last_frame_says_finished(env,
                                                                                  tmp_path):
    with Terminal(_run(tmp_path, "--speed", "10"), env) as terminal:
        at = terminal.expect("body scan: ")  # the scan's own progress, not 00:00 left
        terminal.press("p")
        at = terminal.expect("the body scan cannot pause (", at)
        terminal.press("h")
        at = terminal.expect("heat off for this session; h switches it back on", at)
        terminal.press("x")
        terminal.expect("x does nothing here: q stop · p pause/resume", at)
        status = terminal.wait()
    assert status == 0
    screen = terminal.screen
    last = _last_frame(screen, "tiny: finished after")
    assert "finished" in last and "00:15 of 00:15 done" in last
    assert "idle" not in last and "warm-up" not in last and "heat on" not in last
    assert "q stop" not in last  # no keys to offer once it has ended


def test_q_leaves_a_last_frame_that_says_stopped_with_the_time_reached(env, tmp_path):
    with Terminal(_run(tmp_path, "--no-scan", "--speed", "2"), env) as terminal:
        terminal.expect("running")
        terminal.press("q")
        assert terminal.wait() == 3
    last = _last_frame(terminal.screen, "tiny: stopped after")
    assert "stopped" in last and "idle" not in last and " of 00:15 done" in last


def test_notes_are_said_before_the_session_and_kept_in_the_summary(env, tmp_path):
    with Terminal(_run(tmp_path, "--no-scan", "--speed", "max", "--device", "pad"),
                  env) as terminal:
        assert terminal.wait() == 0
    screen = terminal.screen
    note = "note: steps[0] (knead): band at 40 % to 70 %: the part above 49 % is beyond"
    assert screen.count(note) == 2
    assert screen.index(note) < screen.index("╭") < screen.index("tiny: finished after")
    assert screen.rindex(note) > screen.index("tiny: finished after")
