"""`massagectl remote` through a real pseudo-terminal (pexpect): press keys, read the screen."""

from __future__ import annotations

import json
import os
import sys

import pexpect

from tests.controller.sessions import TINY

TIMEOUT_S = 30  # the machine is shared; a screen normally follows a key within 100 ms


def test_the_virtual_remote_in_an_80x24_terminal(tmp_path):
    routines = tmp_path / "routines"
    routines.mkdir()
    (routines / "tiny.toml").write_text(TINY.replace("duration_s = 3", "duration_s = 60"))
    env = dict(os.environ, XDG_STATE_HOME=str(tmp_path / "state"),
               XDG_RUNTIME_DIR=str(tmp_path / "run"), TERM="xterm")
    child = pexpect.spawn(sys.executable, ["-m", "massagectl", "remote", "--no-scan",
                                           "--routines", str(routines)],
                          env=env, dimensions=(24, 80), encoding="utf-8", timeout=TIMEOUT_S)
    try:
        child.expect("massagectl remote")
        child.expect(r">cold_therapy\s+14m")
        child.expect(r"\[s\]\S* STOP")  # the legend names every key and its shortcut
        child.send("k")  # up: wraps to the owner's routine at the end of the list
        child.expect(r">tiny\s+1m")
        child.send("\r")  # OK: start
        child.expect(r"tiny\s+01:1\d")
        child.expect(r"int 3/5")
        child.send("+")
        child.expect(r"int 4/5")
        child.send(" ")  # START/PAUSE
        child.expect("Paused")
        child.send("\r")  # OK: resume
        child.expect(r"int 4/5")
        child.send("s")  # STOP
        # One frame: the home screen back on the display, and the chair idle below it.
        child.expect(r">tiny\s+1m[\s\S]*SIM-chair-1: idle")
        child.send("q")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    history = json.loads((tmp_path / "state" / "massagectl" / "chairs" / "SIM-chair-1" /
                          "sessions.json").read_text())
    assert [(s["routine"], s["ended_how"], s["origin"]) for s in history["sessions"]] == [
        ("tiny", "stopped", "remote")]
