"""The whole path a newcomer with hardware takes: `massagectl sim` on a pty in one process,
`massagectl doctor` and `massagectl run --port` in others, through pyserial and real time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from massagectl.firmware_bridge.messages import DeviceState
from massagectl.firmware_bridge.wire import PROTOCOL_VERSION
from massagectl.sim.trace import Trace
from tests.controller.sessions import TINY

LONGER = TINY.replace('name = "tiny"', 'name = "longer"').replace("duration_s = 3",
                                                                  "duration_s = 120")
START_LIMIT_S = 20  # the simulated board prints its port at once; allow a slow machine


def massagectl(*args: str) -> list[str]:
    return [sys.executable, "-m", "massagectl", *args]


def start_running(routine: Path, port: str, env: dict) -> subprocess.Popen:
    """`massagectl run ROUTINE --port PORT` in a subprocess, returned once its session runs
    (the plain status prints a line with "running" then)."""
    run = subprocess.Popen(massagectl("run", str(routine), "--port", port, "--no-scan"),
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in run.stderr:
        if "running" in line:
            break
    return run


class SimulatedBoard:
    """`massagectl sim` in a subprocess, saving its trace when it is stopped with Ctrl-C."""

    def __init__(self, trace: Path) -> None:
        self.trace = trace
        self.process = subprocess.Popen(massagectl("sim", "--trace", str(trace)),
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.port = self.process.stdout.readline().strip()

    def stop(self) -> Trace:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=START_LIMIT_S)
            finally:
                if self.process.poll() is None:
                    self.process.kill()
                    self.process.wait()
        self.process.stdout.close()
        self.process.stderr.close()
        return Trace.load(self.trace)


@pytest.fixture
def simulated_board(tmp_path: Path):
    board = SimulatedBoard(tmp_path / "board.npz")
    try:
        assert board.port.startswith("/dev/"), f"no port from massagectl sim: {board.port!r}"
        yield board
    finally:
        board.stop()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"),
            "XDG_CONFIG_HOME": str(tmp_path / "config")}


def test_doctor_and_a_run_over_a_pty_end_with_the_board_safe(simulated_board, env, tmp_path):
    port = simulated_board.port
    doctor = subprocess.run(massagectl("doctor", "--port", port), env=env, capture_output=True,
                            text=True, timeout=60)
    assert doctor.returncode == 0, doctor.stderr
    assert f"protocol {PROTOCOL_VERSION}" in doctor.stdout
    assert "matches profile 'chair'" in doctor.stdout
    assert "heartbeats" in doctor.stdout

    routine = tmp_path / "tiny.toml"
    routine.write_text(TINY)
    run = subprocess.run(massagectl("run", str(routine), "--port", port, "--no-scan", "--quiet"),
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert f"tiny: finished after 0.2 min on {port}" in run.stdout


def test_ctrl_c_stops_a_run_and_the_board_stays_safe(simulated_board, env, tmp_path):
    port = simulated_board.port
    routine = tmp_path / "longer.toml"
    routine.write_text(LONGER)
    run = start_running(routine, port, env)
    try:
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    assert run.returncode == 3, err
    assert "longer: stopped" in out and "SIGINT received" in out
    # The port is free again, and the board tells how it was left.
    doctor = subprocess.run(massagectl("doctor", "--port", port), env=env, capture_output=True,
                            text=True, timeout=60)
    assert doctor.returncode == 0, doctor.stderr
    assert "last stop cause HOST_STOP" in doctor.stdout
    # What the board itself recorded: it ended stopped, with every output safe.
    board_trace = simulated_board.stop()
    stops = [e.detail for e in board_trace.events_of("state")
             if e.detail["state"] == DeviceState.SHUTDOWN.name]
    assert stops and stops[0]["cause"] == "HOST_STOP"
    assert len(board_trace.segments) > 0  # the run had started streaming when it was stopped
    assert board_trace.output("knead_speed")[-1] == 0.0
    assert board_trace.output("roller_depth")[-1] == 0.0


def test_a_second_controller_on_the_same_port_is_refused(simulated_board, env, tmp_path):
    port = simulated_board.port
    routine = tmp_path / "longer.toml"
    routine.write_text(LONGER)
    first = start_running(routine, port, env)
    try:
        second = subprocess.run(massagectl("doctor", "--port", port), env=env,
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 1
        assert "busy" in second.stderr and port in second.stderr
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)
