"""`massagectl conformance --port` against `massagectl sim` on a pty, in real time: exit 0 when
every duty holds, 1 with the failing duty's section named when a firmware bug breaks one."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

CHECK_LIMIT_S = 120  # about 25 s of checks in real time; room for a loaded machine


def _massagectl(*args: str) -> list[str]:
    return [sys.executable, "-m", "massagectl", *args]


@pytest.fixture
def simulator(request):
    """`massagectl sim` with the firmware bugs the test names (indirect parameter)."""
    bugs = getattr(request, "param", ())
    args = [arg for bug in bugs for arg in ("--board-fault", bug)]
    process = subprocess.Popen(_massagectl("sim", *args), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        port = process.stdout.readline().strip()
        assert port.startswith("/dev/"), f"no port from massagectl sim: {port!r}"
        yield port
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stdout.close()
            process.stderr.close()


def test_conformance_passes_against_the_simulator(simulator):
    run = subprocess.run(_massagectl("conformance", "--port", simulator), capture_output=True,
                         text=True, timeout=CHECK_LIMIT_S)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert "pass  4.3   duplicate DATA: acked again, not acted on again" in lines
    assert any(line.startswith("pass  5     watchdog:") for line in lines)
    assert lines[-1].startswith("all ") and "checks passed" in lines[-1]


@pytest.mark.parametrize("simulator", [("no_watchdog",)], indirect=True)
def test_conformance_fails_naming_the_section_of_a_broken_duty(simulator):
    run = subprocess.run(_massagectl("conformance", "--port", simulator), capture_output=True,
                         text=True, timeout=CHECK_LIMIT_S)
    assert run.returncode == 1, run.stdout + run.stderr
    assert any(line.startswith("FAIL  5     watchdog:") for line in run.stdout.splitlines())
    assert "1 of " in run.stdout and "FAILED (section 5)" in run.stdout
