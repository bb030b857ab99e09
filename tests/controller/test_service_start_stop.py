"""A stop at any moment of a start, and sessions one after another in one resident service.

A start is several steps (the quick checks, the admission in a worker thread, the board held
safe, the body scan or the routine's first segments); a STOP may come during any of them, from
any source. Whenever it comes, the chair ends in the one safe state of the stop path (the board
stopped, SHUTDOWN, every output safe), no fault is latched for it, and the board runs nothing
after the stop was confirmed. And nothing a session hangs on the chair outlives it.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from massagectl.controller.service import session_actions
from massagectl.controller.service.operations import (
    ChairState,
    Origin,
    Refused,
    SessionEnded,
)
from massagectl.controller.session.preflight import preflight
from massagectl.firmware_bridge.messages import DeviceState, RemoteKey
from massagectl.sim.virtual_loop import VirtualTimeLoop
from tests.controller.service_rig import running_service

LONG = """
name = "long_knead"
description = "Kneading for ten minutes, for stopping"
warm_up_s = 2
cool_down_s = 10

[[steps]]
kind = "knead"
duration_s = 600
speed_cpm = 20
band = "upper_back"
depth_mm = 6
"""
# After the session ended, the board is watched this long for anything that runs again.
WATCH_AFTER_S = 3.0
STOP_SOURCES = ("socket", "remote_key", "mqtt")


async def start_then_stop(service, delay_s: float, source: str) -> dict[str, object]:
    """Start the long routine, stop it `delay_s` later (0: in the same breath), and watch."""
    loop = asyncio.get_running_loop()
    board = service.simulator.board
    ended: list = []
    unsubscribe = service.subscribe(
        lambda event: ended.append(event.summary) if isinstance(event, SessionEnded) else None)
    try:
        began = service.start("long_knead", Origin.SOCKET)
        if delay_s:
            await asyncio.sleep(delay_s)
        if source == "remote_key":
            service.press_key(RemoteKey.STOP)
        else:
            service.stop(Origin.MQTT if source == "mqtt" else Origin.SOCKET, "stop")
        ran_after_stop = 0
        deadline_s = None
        while deadline_s is None or loop.time() < deadline_s:
            await asyncio.sleep(0.005)
            over = ended or (began.done() and began.exception() is not None)
            if deadline_s is None and over and service.state() is not ChairState.STOPPING:
                deadline_s = loop.time() + WATCH_AFTER_S
            outcome = service.chair.stop_path.last_outcome
            if outcome is not None and outcome.confirmed_s is not None \
                    and not board.outputs_safe():
                ran_after_stop += 1
        return {
            "refused": began.exception() if began.done() else None,
            "ended": [(summary.ended_how, summary.detail) for summary in ended],
            "faults": list(service.snapshot().faults),
            "board": (board.state, board.outputs_safe()),
            "ran_after_stop": ran_after_stop,
            "state": service.state(),
        }
    finally:
        unsubscribe()


def assert_one_safe_state(seen: dict[str, object]) -> None:
    assert seen["faults"] == []  # no segment_refused, no motor_stall, nothing latched
    assert seen["board"] == (DeviceState.SHUTDOWN, True)  # the stop path's safe state
    assert seen["ran_after_stop"] == 0
    assert seen["state"] is ChairState.IDLE
    if seen["ended"]:
        [(how, _detail)] = seen["ended"]
        assert how == "stopped"
    else:  # stopped while its plan was admitted: the session never began
        assert isinstance(seen["refused"], Refused)
        assert "stopped before the routine began" in str(seen["refused"])


def run_service(tmp_path, scenario, *, body_scan: bool = False):
    (tmp_path / "routines").mkdir(parents=True, exist_ok=True)
    (tmp_path / "routines" / "long_knead.toml").write_text(LONG)

    async def main():
        async with running_service(tmp_path, body_scan=body_scan) as service:
            return await scenario(service)

    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(main())


# The moments of a start, in virtual seconds after it was asked for: the same breath (the plan
# still being admitted), the board being held safe (a few line round trips), the first segments
# on their way, the warm-up under way.
EDGES_S = (0.0, 0.001, 0.004, 0.008, 0.012, 0.02, 0.05, 0.15, 0.5, 2.5)


@pytest.mark.parametrize("source", STOP_SOURCES)
def test_a_stop_at_each_moment_of_a_start_ends_in_the_one_safe_state(tmp_path, source):
    async def every_moment(service):
        seen = []
        for delay_s in EDGES_S:
            seen.append((delay_s, await start_then_stop(service, delay_s, source)))
        return seen

    for delay_s, seen in run_service(tmp_path, every_moment):
        try:
            assert_one_safe_state(seen)
        except AssertionError as error:
            raise AssertionError(f"a stop {delay_s} s into the start: {seen}") from error


@settings(max_examples=25)
@given(delay_s=st.floats(0.0, 0.4) | st.floats(0.0, 60.0),
       source=st.sampled_from(STOP_SOURCES), body_scan=st.booleans())
def test_a_stop_at_any_moment_of_a_start_ends_in_the_one_safe_state(tmp_path_factory, delay_s,
                                                                      source, body_scan):
    folder = tmp_path_factory.mktemp("service")
    seen = run_service(folder, lambda service: start_then_stop(service, delay_s, source),
                       body_scan=body_scan)
    assert_one_safe_state(seen)


def test_a_stop_never_waits_behind_the_admission_of_a_start(tmp_path, monkeypatch):
    """The admission of a start runs off the loop: a STOP asked for while it runs acts at once
    (here the admission itself waits until the STOP has been written, which on the loop would
    never happen), and the routine being admitted never begins."""
    stop_written = threading.Event()
    waited: list[bool] = []

    def slow_preflight(*args):
        waited.append(stop_written.wait(timeout=10.0))
        return preflight(*args)

    monkeypatch.setattr(session_actions, "preflight", slow_preflight)

    async def scenario(service):
        began = service.start("long_knead", Origin.SOCKET)
        await asyncio.sleep(0)  # the admission is under way in its thread
        service.stop(Origin.MQTT, "stop command over MQTT")
        written = service.chair.stop_path.last_outcome is not None or \
            service.chair.stop_path.stopping
        stop_written.set()
        with pytest.raises(Refused, match="stopped before the routine began"):
            await began
        await asyncio.sleep(1.0)
        return written, service.state(), service.simulator.board.state, service.session

    written, state, board_state, session = run_service(tmp_path, scenario)
    assert waited == [True]  # the STOP was written while the admission waited
    assert written and state is ChairState.IDLE and board_state is DeviceState.SHUTDOWN
    assert session is None


def test_sessions_one_after_another_leave_nothing_hanging_on_the_chair(tmp_path):
    """A resident service runs session after session on one chair: every listener a session
    puts on the chair's stop path, its messages or the link goes with it."""

    async def sessions(service):
        chair = service.chair
        counts = []
        for _ in range(5):
            await start_then_stop(service, 3.0, "socket")
            counts.append((chair.stop_path.listener_count, len(chair._listeners),
                           len(chair.link._fanout._listeners)))
        return counts

    counts = run_service(tmp_path, sessions)
    assert len(set(counts)) == 1, counts


def test_a_restart_at_once_trips_no_stall_and_a_stalled_carriage_still_trips(tmp_path):
    """Stop, start again at once, several times (the carriage left wherever the stop found
    it): no motor_stall. Then the carriage really stalls while driven: motor_stall."""

    async def scenario(service):
        loop = asyncio.get_running_loop()
        faults_after_restarts = []
        for stop_after_s in (0.3, 1.0, 2.5, 6.0, 12.0):
            await start_then_stop(service, stop_after_s, "socket")
            faults_after_restarts += service.snapshot().faults
        await service.start("long_knead", Origin.SOCKET)
        await asyncio.sleep(20.0)  # the carriage travels up the back
        clean = list(service.snapshot().faults)
        service.simulator.driver.inject_fault("motor_stall", "roller_position")
        stalled_s = loop.time()
        while service.state() is not ChairState.FAULT and loop.time() < stalled_s + 60.0:
            await asyncio.sleep(0.1)
        service.simulator.driver.clear_fault("motor_stall", "roller_position")
        return faults_after_restarts, clean, service.snapshot().faults

    restarts, clean, stalled = run_service(tmp_path, scenario)
    assert restarts == [] and clean == []
    assert stalled and stalled[0].startswith("motor_stall: roller_position")
