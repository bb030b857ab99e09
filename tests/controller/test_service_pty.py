"""The chair service over a real pseudo-terminal, in real time: the board unplugged and back
while idle (home screen) and while running (the fault screen: the link was lost while the
chair worked on a person), and `massagectl serve` stopped by SIGTERM mid-session."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from massagectl.controller.service.operations import ChairState, Origin
from massagectl.controller.session.recorder import load_trace
from massagectl.firmware_bridge.messages import DeviceState
from massagectl.routines.device import load_device
from massagectl.sim.pty_runner import PtyBoard
from tests.controller.service_rig import running_service
from tests.controller.sessions import TINY

CHAIR = load_device("chair")
LONG = TINY.replace('name = "tiny"', 'name = "long"').replace("duration_s = 3",
                                                           "duration_s = 300")
LIMIT_S = 30.0  # generous: the machine is shared


async def until(predicate, limit_s: float = LIMIT_S) -> None:
    loop = asyncio.get_running_loop()
    deadline_s = loop.time() + limit_s
    while not predicate():
        assert loop.time() < deadline_s, "condition not met in time"
        await asyncio.sleep(0.02)


def point(link: Path, target: str) -> None:
    """A stable device path, as /dev/serial/by-id gives a USB adapter."""
    temporary = link.with_suffix(".new")
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(target)
    os.replace(temporary, link)


@pytest.mark.parametrize("while_running", [False, True], ids=["idle", "running"])
def test_board_unplugged_and_back(tmp_path, while_running):
    seen = {}
    port = tmp_path / "ttyUSB-chair"

    async def unplug_and_back():
        first = PtyBoard(CHAIR)
        await first.__aenter__()
        try:
            point(port, first.port_path)
            async with running_service(tmp_path, port=str(port)) as service:
                (tmp_path / "routines" / "long.toml").write_text(LONG)
                if while_running:
                    service.start("long", Origin.SOCKET)
                    await until(lambda: service.state() is ChairState.RUNNING)
                    await asyncio.sleep(2.0)
                    seen["working"] = not first.board.outputs_safe()
                first.driver.inject_fault("unplug")  # the cable is pulled
                await until(lambda: service.state() is ChairState.DISCONNECTED)
                await until(first.board.outputs_safe)  # the board's own watchdog
                await first.__aexit__(None, None, None)  # and its port goes away
                first = None
                seen["away"] = service.snapshot().connection_detail
                async with PtyBoard(CHAIR) as second:  # plugged in again
                    point(port, second.port_path)
                    home = ChairState.FAULT if while_running else ChairState.IDLE
                    await until(lambda: service.state() is home)
                    await until(lambda: second.board.remote.rows[0] == (
                        "FAULT               " if while_running else "Choose (default)    "))
                    seen["back"] = (second.board.state, second.board.outputs_safe())
                    seen["summary"] = service.snapshot().last_session
                    seen["faults"] = service.snapshot().faults
                    await service.close()
        finally:
            if first is not None:
                await first.__aexit__(None, None, None)

    asyncio.run(unplug_and_back())
    assert seen["away"]
    assert seen["back"] == (DeviceState.READY, True)
    if while_running:
        # The supervisor lost sight of a chair working on a person: a person checks it first.
        assert seen["working"]
        assert seen["summary"].routine == "long"
        assert seen["summary"].ended_how == "fault"
        assert seen["faults"][0].split(":")[0] in ("link_lost", "stale_telemetry")
    else:
        assert seen["faults"] == ()


async def massagectl(env: dict, *args: str) -> tuple[int, object]:
    """Run a massagectl command without blocking the loop the simulated board runs on; its
    exit code, and its output (parsed when it is JSON)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "massagectl", *args, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    out, _ = await process.communicate()
    try:
        return process.returncode, json.loads(out)
    except ValueError:
        return process.returncode, out.decode()


def test_sigterm_mid_session_stops_safely_and_exits_0(tmp_path):
    seen = {}
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path / "run"),
               XDG_STATE_HOME=str(tmp_path / "state"))
    (tmp_path / "routines").mkdir()
    (tmp_path / "routines" / "long.toml").write_text(LONG)
    control = tmp_path / "run" / "massagectl" / "chair.sock"

    async def serve_then_sigterm():
        async with PtyBoard(CHAIR) as board:
            serve = subprocess.Popen(
                [sys.executable, "-m", "massagectl", "serve", "--port", board.port_path,
                 "--no-scan", "--routines", str(tmp_path / "routines")],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                await until(control.exists)
                await until(lambda: board.board.remote.rows[0] == "Choose (default)    ")
                seen["idle"] = await massagectl(env, "status", "--json")
                seen["start"] = await massagectl(env, "start", "long")
                seen["running"] = await massagectl(env, "status", "--json")
                seen["started"] = seen["running"][1]["state"] in ("scanning", "running")
                await until(lambda: not board.board.outputs_safe())
                serve.send_signal(signal.SIGTERM)
                loop = asyncio.get_running_loop()
                deadline_s = loop.time() + LIMIT_S
                while serve.poll() is None and loop.time() < deadline_s:
                    await asyncio.sleep(0.05)
                seen["exit"] = serve.poll()
                seen["board"] = (board.board.state, board.board.outputs_safe())
            finally:
                if serve.poll() is None:
                    serve.kill()
                    serve.wait()
                seen["log"] = serve.stderr.read().decode()
                serve.stderr.close()

    asyncio.run(serve_then_sigterm())
    code, idle = seen["idle"]
    assert code == 0 and {"state": "idle", "routine": None, "intensity": 3}.items() <= idle.items()
    assert {"remaining_s", "chair_id", "faults", "heat_on"} <= idle.keys()
    assert seen["start"][0] == 0
    assert seen["started"] and seen["running"][1]["routine"] == "long"
    assert seen["exit"] == 0, seen["log"]
    assert seen["board"] == (DeviceState.SHUTDOWN, True)
    assert "SIGTERM received" in seen["log"]
    assert "long stopped" in seen["log"]
    assert not control.exists()
    # The session's history and trace were written before the service exited.
    [history] = (tmp_path / "state").glob("massagectl/chairs/*/sessions.json")
    [entry] = json.loads(history.read_text())["sessions"]
    assert (entry["routine"], entry["ended_how"]) == ("long", "stopped")
    assert load_trace(entry["trace"]).routine == "long"
