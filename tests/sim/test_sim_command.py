"""`massagectl sim`: the port path on the first line, a board behind it, a clean stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
import serial

STARTUP_TIMEOUT_S = 20.0


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_sim_command_prints_the_port_and_stops_cleanly(tmp_path, stop_signal):
    trace_path = tmp_path / "board.npz"
    process = subprocess.Popen(
        [sys.executable, "-m", "massagectl", "sim", "--device", "pad",
         "--trace", str(trace_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        port_path = process.stdout.readline().strip()
        assert port_path.startswith("/dev/"), port_path
        assert os.path.exists(port_path)
        with serial.Serial(port_path, 115200, timeout=0):
            pass  # pyserial opens it like any serial port
        process.send_signal(stop_signal)
        _, errors = process.communicate(timeout=STARTUP_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, errors
    assert "Traceback" not in errors
    assert trace_path.exists()


def test_sim_command_names_an_unknown_device():
    result = subprocess.run(
        [sys.executable, "-m", "massagectl", "sim", "--device", "chiar"],
        capture_output=True, text=True, timeout=STARTUP_TIMEOUT_S,
    )
    assert result.returncode == 1
    assert "chair" in result.stderr and result.stdout == ""
