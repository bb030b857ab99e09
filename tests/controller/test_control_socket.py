"""The control socket's ordering rule: on one connection, a stop never waits for a start sent
before it. The stop acts the moment it is read; the start is answered "stopped before the
routine began" and never begins, or, if its session had already begun, that session stops."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from massagectl.controller.frontends.control_requests import STOPPED_BEFORE
from massagectl.controller.frontends.control_socket import (
    MAX_WAITING_REQUESTS,
    ControlSocket,
    ask,
)
from massagectl.controller.service import session_actions
from massagectl.controller.service.operations import ChairState, SessionEnded
from massagectl.controller.session.preflight import preflight
from massagectl.firmware_bridge.messages import DeviceState
from tests.controller.test_service_start_stop import run_service

START = b'{"op": "start", "routine": "long_knead", "id": "start"}\n'
STOP = b'{"op": "stop", "id": "stop"}\n'
SETTLE_S = 3.0  # after both replies: the board is watched this long for anything running


async def start_then_stop(service, gap_s: float | None) -> dict[str, object]:
    """A start and a stop on one connection: in one write (`gap_s` None) or `gap_s` apart."""
    with tempfile.TemporaryDirectory(prefix="sock") as folder:  # a socket path is short
        control = ControlSocket(Path(folder) / "chair.sock")
        await control.start(service)
        try:
            return await _start_then_stop(service, control, gap_s)
        finally:
            await control.stop()


async def _start_then_stop(service, control: ControlSocket,
                           gap_s: float | None) -> dict[str, object]:
    order: list[str] = []  # what happened, in order: the stop sent and acting, each reply
    ended: list[SessionEnded] = []
    replies: dict[str, dict] = {}
    service.chair.stop_path.add_listener(lambda source, detail: order.append("stop acted"))
    unsubscribe = service.subscribe(
        lambda event: ended.append(event) if isinstance(event, SessionEnded) else None)
    reader, writer = await asyncio.open_unix_connection(str(control.path))

    async def collect() -> None:
        for _ in range(2):
            reply = json.loads(await reader.readline())
            order.append(f"{reply['id']} answered")
            replies[reply["id"]] = reply

    collecting = asyncio.get_running_loop().create_task(collect())
    try:
        if gap_s is None:
            order.append("stop sent")
            writer.write(START + STOP)
        else:
            writer.write(START)
            await writer.drain()
            await asyncio.sleep(gap_s)
            order.append("stop sent")
            writer.write(STOP)
        await writer.drain()
        await collecting
        writer.close()
        await writer.wait_closed()
        await asyncio.sleep(SETTLE_S)
        board = service.simulator.board
        return {"order": order, "replies": replies, "state": service.state(),
                "session": service.session, "board": (board.state, board.outputs_safe()),
                "faults": list(service.snapshot().faults),
                "ended": [event.summary.ended_how for event in ended]}
    finally:
        collecting.cancel()
        await asyncio.gather(collecting, return_exceptions=True)
        unsubscribe()


def assert_stopped_safe(seen: dict[str, object]) -> None:
    order, replies = seen["order"], seen["replies"]
    assert replies["stop"]["ok"] is True
    started = replies["start"]["ok"]
    if not started:  # the stop came first: the routine never began
        assert STOPPED_BEFORE in replies["start"]["error"]
        assert order.index("stop acted") < order.index("start answered")
        assert order.index("stop answered") < order.index("start answered")
        assert seen["ended"] == []
    else:  # its session had begun before the stop was even sent, and the stop ended it
        assert order.index("start answered") < order.index("stop sent")
        assert seen["ended"] == ["stopped"]
    assert seen["state"] is ChairState.IDLE and seen["session"] is None
    assert seen["board"] == (DeviceState.SHUTDOWN, True)
    assert seen["faults"] == []


def test_a_stop_in_the_same_write_as_a_start_acts_before_the_start_is_answered(tmp_path):
    seen = run_service(tmp_path, lambda service: start_then_stop(service, None))
    assert_stopped_safe(seen)
    assert seen["replies"]["start"]["ok"] is False
    assert seen["order"][:3] == ["stop sent", "stop acted", "stop answered"]


def test_a_stop_does_not_wait_for_the_admission_of_a_start_on_the_same_connection(
        tmp_path, monkeypatch):
    """The admission is held until the stop has acted: a connection that answered its
    requests one after another would never read the stop, and the admission would wait in
    vain."""
    stop_acted = threading.Event()
    waited: list[bool] = []

    def slow_preflight(*args):
        waited.append(stop_acted.wait(timeout=10.0))
        return preflight(*args)

    monkeypatch.setattr(session_actions, "preflight", slow_preflight)

    async def scenario(service):
        service.chair.stop_path.add_listener(lambda source, detail: stop_acted.set())
        return await start_then_stop(service, 0.0)

    seen = run_service(tmp_path, scenario)
    assert waited == [True]
    assert_stopped_safe(seen)
    assert seen["replies"]["start"]["ok"] is False


# Moments after the start was sent: before it is read, while it is admitted, while the board is
# held safe for it, once its session runs.
GAPS_S = (0.0, 0.001, 0.005, 0.02, 0.1, 1.0)


@pytest.mark.parametrize("gap_s", GAPS_S)
def test_a_stop_at_each_moment_after_a_start_on_one_connection_leaves_the_chair_safe(
        tmp_path, gap_s):
    assert_stopped_safe(run_service(tmp_path, lambda service: start_then_stop(service, gap_s)))


@settings(max_examples=15, deadline=None)
@given(gap_s=st.none() | st.floats(0.0, 0.3) | st.floats(0.0, 5.0))
def test_a_stop_at_any_moment_after_a_start_on_one_connection_leaves_the_chair_safe(
        tmp_path_factory, gap_s):
    folder = tmp_path_factory.mktemp("socket")
    assert_stopped_safe(run_service(folder, lambda service: start_then_stop(service, gap_s)))


def test_a_flood_is_answered_request_by_request_and_a_stop_behind_it_goes_first(tmp_path):
    """300 status requests in one write, then a stop: every request gets one reply (those
    beyond what may wait are refused at once), and the stop is answered before the statuses
    still waiting their turn."""

    async def scenario(service):
        folder = tempfile.mkdtemp(prefix="sock")  # a socket path is short
        control = ControlSocket(Path(folder) / "chair.sock")
        await control.start(service)
        try:
            reader, writer = await asyncio.open_unix_connection(str(control.path))
            writer.write(b''.join(b'{"op": "status", "id": %d}\n' % n for n in range(300))
                         + STOP)
            await writer.drain()
            replies = [json.loads(await reader.readline()) for _ in range(301)]
            writer.write(b'{"op": "start", "rout')  # and leaves in the middle
            writer.close()
            await writer.wait_closed()
            await asyncio.sleep(1.0)
            return replies, service.state(), (await ask(control.path, {"op": "status"}))["ok"]
        finally:
            await control.stop()
            shutil.rmtree(folder, ignore_errors=True)

    replies, state, still_serving = run_service(tmp_path, scenario)
    ids = [reply["id"] for reply in replies]
    assert sorted(ids, key=str) == sorted([*range(300), "stop"], key=str)
    answered = [reply["id"] for reply in replies if reply["ok"] and reply["id"] != "stop"]
    refused = [reply for reply in replies if not reply["ok"]]
    assert len(answered) >= MAX_WAITING_REQUESTS
    assert answered == sorted(answered)  # in turn
    assert all("too many requests" in reply["error"] for reply in refused)
    assert ids.index("stop") < ids.index(answered[-1])  # ahead of those still waiting
    assert state is ChairState.IDLE and still_serving


@pytest.mark.parametrize("request_id, error", [
    (True, '"id" is a string'), ("x" * 129, '"id" is a string'), ([1], '"id" is a string')])
def test_a_bad_id_is_refused_and_a_good_one_comes_back(tmp_path, request_id, error):
    async def scenario(service):
        control = ControlSocket(tmp_path / "chair.sock")  # never listening
        control.ops = service
        bad = await control.handle(json.dumps({"op": "status", "id": request_id}).encode())
        good = await control.handle(b'{"op": "status", "id": "a1"}')
        return bad, good

    bad, good = run_service(tmp_path, scenario)
    assert bad["ok"] is False and error in bad["error"]
    assert good["ok"] is True and good["id"] == "a1"
