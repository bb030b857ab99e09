"""Stop signals (every way a terminal or the system ends the program stops the chair first),
Ctrl-C outside a session, the live panel's text, and `massagectl faults` with a wrong path."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import pty
import signal
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from rich.console import Console

from massagectl.controller import cli
from massagectl.controller.cli import main
from massagectl.controller.frontends.status import render
from massagectl.controller.frontends.terminal import (
    STOP_SIGNALS,
    CommandSignals,
    StopSignals,
    TerminalKeys,
)
from massagectl.controller.session.session import SessionSnapshot
from massagectl.controller.session.state import SessionState
from massagectl.routines.device import load_device

SIGNAL_WAIT_S = 5.0  # a signal to the own process arrives at once; this only bounds a failure


def _marker(number, frame) -> None:
    """A handler of the test's own, so "restored" cannot be confused with "reset to default"."""


@pytest.fixture
def own_handlers():
    """Every stop signal handled by `_marker` during the test; the originals back after it."""
    originals = {number: signal.getsignal(number) for number in STOP_SIGNALS}
    for number in STOP_SIGNALS:
        signal.signal(number, _marker)
    try:
        yield
    finally:
        for number, handler in originals.items():
            signal.signal(number, handler)


async def _send_and_wait(number: int, received: list[str], count: int) -> None:
    os.kill(os.getpid(), number)

    async def until_received() -> None:
        while len(received) < count:
            await asyncio.sleep(0)  # the loop reads the signal from its wake-up fd

    await asyncio.wait_for(until_received(), SIGNAL_WAIT_S)


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP,
                                    signal.SIGQUIT])
def test_every_stop_signal_calls_the_stop_callback_and_handlers_come_back(number, own_handlers):
    received: list[str] = []

    async def session() -> None:
        with StopSignals(received.append):
            await _send_and_wait(number, received, 1)
            # Pressing it again while the stop is under way asks for the stop again; it never
            # raises KeyboardInterrupt or kills the process.
            await _send_and_wait(number, received, 2)

    asyncio.run(session())
    name = signal.Signals(number).name
    assert received == [name, name]
    assert all(signal.getsignal(n) is _marker for n in STOP_SIGNALS)


def test_after_a_session_further_stop_signals_are_only_noted(own_handlers, capfd):
    received: list[str] = []

    async def session() -> None:
        with StopSignals(received.append):
            await _send_and_wait(signal.SIGINT, received, 1)

    with CommandSignals() as command:
        asyncio.run(session())
        # The session is over and the board safe; closing up and the summary must not be
        # cut short by a second Ctrl-C (no KeyboardInterrupt, no death by SIGTERM or SIGHUP).
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            os.kill(os.getpid(), number)
        assert command.noted == ["SIGINT", "SIGTERM", "SIGHUP"]
    assert received == ["SIGINT"]
    assert "SIGINT: the session has ended already; finishing up" in capfd.readouterr().err
    assert all(signal.getsignal(n) is _marker for n in STOP_SIGNALS)


def test_the_program_itself_ignores_stop_signals_after_a_session_until_it_exits(own_handlers):
    async def session() -> None:
        with StopSignals(lambda name: None):
            pass

    with CommandSignals(to_the_end=True):
        asyncio.run(session())
    # The interpreter's shutdown resets Python handlers to the default (death by SIGINT with
    # the summary printed); only "ignore" survives it.
    assert all(signal.getsignal(n) == signal.SIG_IGN for n in STOP_SIGNALS)


def test_a_command_without_a_session_leaves_the_handlers_alone(own_handlers):
    with CommandSignals(to_the_end=True):
        pass
    assert all(signal.getsignal(n) is _marker for n in STOP_SIGNALS)


def test_ctrl_c_while_the_commands_load_says_interrupted(capsys, monkeypatch):
    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert main(["faults"]) == 130
    captured = capsys.readouterr()
    assert captured.err == "massagectl: interrupted\n"
    assert "Traceback" not in captured.out + captured.err


def _massagectl_run(tmp_path: Path) -> subprocess.Popen:
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    run = subprocess.Popen([sys.executable, "-m", "massagectl", "run", "relax", "--no-scan"],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in run.stderr:
        if "running" in line:
            break
    return run


@pytest.mark.parametrize("signals", [(signal.SIGINT, signal.SIGINT), (signal.SIGHUP,)],
                         ids=["ctrl-c twice", "terminal closed"])
def test_a_run_stopped_by_signals_exits_3_with_its_summary(signals, tmp_path):
    run = _massagectl_run(tmp_path)
    try:
        for number in signals:
            run.send_signal(number)
        out, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    name = signal.Signals(signals[0]).name
    assert run.returncode == 3, err
    assert "relax: stopped after" in out and f"{name} received" in out
    assert "Traceback" not in err


def _take_terminal() -> None:
    """In the child: a session of its own, with the pseudo-terminal as controlling terminal, so
    that closing it sends SIGHUP as closing a terminal window does."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def test_closing_the_terminal_stops_safely_and_exits_3(tmp_path):
    # The finding: the chair stopped safely but the summary, written to the gone terminal,
    # raised EIO and the program exited 1.
    main_fd, terminal_fd = pty.openpty()
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    run = subprocess.Popen([sys.executable, "-m", "massagectl", "run", "relax", "--no-scan",
                            "--speed", "10"], stdin=terminal_fd, stdout=terminal_fd,
                           stderr=terminal_fd, env=env, preexec_fn=_take_terminal)
    os.close(terminal_fd)
    try:
        seen = b""
        while b"running" not in seen:  # bounded by the child: it ends, and reads fail, if not
            seen += os.read(main_fd, 4096)
        os.close(main_fd)
        main_fd = None
        assert run.wait(timeout=60) == 3
    finally:
        if main_fd is not None:
            os.close(main_fd)
        if run.poll() is None:
            run.kill()
            run.wait()
    chair = tmp_path / "state" / "massagectl" / "chairs" / "SIM-chair-1"
    stops = [json.loads(line) for line in (chair / "faults.jsonl").read_text().splitlines()]
    assert stops[-1]["cause"] == "SIGHUP received"
    assert stops[-1]["outcome"].startswith("confirmed safe after")


def test_a_hung_up_terminal_ends_the_keys_quietly(monkeypatch):
    main_fd, terminal_fd = pty.openpty()
    keys: list[str] = []
    with open(terminal_fd, closefd=True) as terminal:
        monkeypatch.setattr(sys, "stdin", terminal)

        async def session() -> bool:
            with TerminalKeys(keys.append) as terminal_keys:
                os.write(main_fd, b"q")
                while not keys:
                    await asyncio.sleep(0)
                os.close(main_fd)  # the terminal goes away (SSH dropped)
                while terminal_keys._reading:
                    await asyncio.sleep(0)
                return True

        assert asyncio.run(asyncio.wait_for(session(), SIGNAL_WAIT_S))
    assert keys == ["q"]


def test_the_live_panel_shows_times_intensity_and_zones_off():
    snapshot = SessionSnapshot(
        state=SessionState.RUNNING, routine="relax", elapsed_s=125.0, duration_s=1200.0,
        step="knead shoulders", intensity=3, heat_on=True, faults=(),
        readings={"pressure_shoulders": 12.5, "temp_lower_back": 38.0}, zones_off=("calves",))
    console = Console(record=True, width=80, force_terminal=True)
    console.print(render(snapshot, load_device("chair")))
    text = console.export_text()
    assert "02:05 elapsed" in text and "17:55 left" in text
    assert "intensity 3/5" in text and "heat on" in text
    assert "off: calves" in text
    assert "shoulders airbag:  12.5 kPa" in text


@pytest.fixture
def no_config(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path


def test_faults_with_a_log_that_does_not_exist_says_so(capsys, no_config):
    missing = no_config / "nonexist.jsonl"
    assert main(["faults", str(missing)]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith(f"massagectl faults: no fault log at {missing} (")
    assert len(captured.err.splitlines()) == 1
    assert "no records" not in captured.out and "no latched fault" not in captured.out
    assert not missing.exists()  # nothing created by looking


def test_faults_before_any_fault_at_the_default_location_is_normal(capsys, no_config):
    assert main(["faults"]) == 0
    out = capsys.readouterr().out
    assert "no records" in out and "no latched fault" in out


def test_the_live_panel_shows_the_roller_and_never_a_negative_pressure():
    snapshot = SessionSnapshot(
        state=SessionState.RUNNING, routine="relax", elapsed_s=10.0, duration_s=1200.0,
        step="knead", intensity=3, heat_on=False, heat_off=True, faults=(),
        readings={"pressure_arms": -0.1, "roller_depth": 6.0, "knead_speed": 21.7,
                  "tap_rate": 4.25})
    console = Console(record=True, width=100, force_terminal=True)
    console.print(render(snapshot, load_device("chair")))
    text = console.export_text()
    assert "arms airbag:   0.0 kPa" in text and "-0.1" not in text
    assert "roller depth:     6 mm" in text and "knead:    22 cycles/min" in text
    assert "tap:   4.2 Hz" in text
    assert "heat off" in text and "heat on" not in text


def test_the_last_frame_says_how_it_ended_and_leaves_faults_to_the_summary():
    from massagectl.controller.session.session import SessionOutcome

    snapshot = SessionSnapshot(
        state=SessionState.FAULT, routine="relax", elapsed_s=0.0, duration_s=1200.0,
        step="warm-up", intensity=3, heat_on=True, faults=("link_lost: the board went away",))
    ended = SessionOutcome("relax", "fault", "link_lost: the board went away", 125.0)
    console = Console(record=True, width=80, force_terminal=True)
    console.print(render(snapshot, load_device("chair"), ended))
    text = console.export_text()
    assert "fault" in text and "02:05 of 20:00 done" in text
    assert "FAULT" not in text and "warm-up" not in text and "heat on" not in text
