"""`massagectl conformance --port` against `massagectl sim` on a pty, in real time: exit 0 when
every duty holds, 1 with the failing duty's section named when a firmware bug breaks one."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import pytest

from massagectl.firmware_bridge import messages as m
from massagectl.firmware_bridge.link import Link
from massagectl.routines.device import load_device

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
    assert "FAILED (section 5" in run.stdout.splitlines()[-1]


def test_faults_clear_with_a_port_clears_the_latch_the_board_keeps(simulator, tmp_path):
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}

    async def latch_and_look() -> m.StopCause | None:
        link = await Link.open(simulator, load_device("chair"))
        try:
            link.send_immediate(m.Stop(m.HostStopCause.FAULT))  # as a supervisor trip does
            await asyncio.sleep(0.3)
            return link.board_fault
        finally:
            await link.close()

    assert asyncio.run(latch_and_look()) is m.StopCause.HOST_FAULT
    run = subprocess.run(_massagectl("run", "relax", "--port", simulator, "--no-scan",
                                     "--quiet"), env=env, capture_output=True, text=True,
                         timeout=CHECK_LIMIT_S)
    assert run.returncode != 0 and "faults --clear --port" in run.stdout + run.stderr
    clear = subprocess.run(_massagectl("faults", "--clear", "--port", simulator), env=env,
                           capture_output=True, text=True, timeout=CHECK_LIMIT_S)
    assert clear.returncode == 0, clear.stderr
    assert "cleared its latched fault (host_fault)" in clear.stdout

    async def look() -> m.StopCause | None:
        link = await Link.open(simulator, load_device("chair"))
        try:
            return link.board_fault
        finally:
            await link.close()

    assert asyncio.run(look()) is None
