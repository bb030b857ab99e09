"""One unplugged cable is one event: in `massagectl faults` (readable at 80 columns) and in the
summary of `massagectl run`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import serial

from massagectl.controller.app import RunResult
from massagectl.controller.commands import run as run_command_module
from massagectl.controller.session.session import SessionOutcome
from massagectl.firmware_bridge.serial_transport import _in_plain_words
from massagectl.safety.fault_log import FaultLog, LogEvent
from tests.pty_terminal import Terminal

LOST = "serial port /dev/ttyUSB0 vanished (the device disconnected)"


def _one_unplug(path: Path) -> None:
    """The five records the stop path writes for one unplugged cable."""
    log = FaultLog(path)
    log.append(LogEvent.FAULT, "supervisor", "link_lost", host_s=10.0, action="STOP sent",
               outcome=LOST, latched=True)
    for cause in (f"link_lost: {LOST}", "streaming failed: the link is closed"):
        log.append(LogEvent.STOP, "supervisor", cause, host_s=10.001,
                   action="STOP not sent: cannot write STOP: the port is gone",
                   outcome="requested")
    log.append(LogEvent.STOP, "supervisor", f"link_lost: {LOST}", host_s=10.002,
               action="STOP sent", outcome="escalated: the port is gone; the board's watchdog acts")
    log.append(LogEvent.FAULT, "supervisor", "stop_unconfirmed", host_s=10.003,
               action="port closed; the board's watchdog stops it",
               outcome="the board did not confirm STOP", latched=True)


def test_one_unplug_is_one_event_in_faults_and_fits_80_columns(tmp_path):
    log = tmp_path / "faults.jsonl"
    _one_unplug(log)
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    with Terminal([sys.executable, "-m", "massagectl", "faults", str(log)], env,
                  columns=80) as terminal:
        assert terminal.wait() == 0
    lines = [line.rstrip() for line in terminal.screen.splitlines() if line.strip()]
    assert all(len(line) <= 80 for line in lines)
    assert sum("LATCHED" in line for line in lines) == 1
    assert lines[0].endswith("fault link_lost (supervisor)  LATCHED")
    assert lines[1] == f"    {LOST}"
    assert "    also latched: stop_unconfirmed" in lines
    assert "latched: 2 fault(s) block new sessions" in terminal.screen
    assert len(lines) <= 7


def test_a_fault_is_said_once_in_the_run_summary(capsys, monkeypatch):
    outcome = SessionOutcome("relax", "fault", f"link_lost: {LOST}", 61.0,
                             faults=(f"link_lost: {LOST}",))
    monkeypatch.setattr(run_command_module, "run_routine", lambda options, console: RunResult(
        outcome, None, Path("faults.jsonl"), "/dev/ttyUSB0"))
    args = argparse.Namespace(routine="relax", config=None, port="/dev/ttyUSB0", device=None,
                              user=None, intensity=None, speed=1.0, body_scan=None,
                              sim_shoulder_mm=None, quiet=True)
    assert run_command_module.run_command(args) == 1
    captured = capsys.readouterr()
    assert captured.out.count(LOST) == 1 and captured.err == ""
    assert captured.out.startswith("relax: fault after 1.0 min on /dev/ttyUSB0\n")


def test_pyserials_words_for_an_unplugged_adapter_become_plain_ones():
    gone = serial.SerialException("device reports readiness to read but returned no data "
                                  "(device disconnected or multiple access on port?)")
    assert _in_plain_words(gone) == "the device disconnected"
    assert _in_plain_words(OSError(5, "Input/output error")) == "Input/output error"
