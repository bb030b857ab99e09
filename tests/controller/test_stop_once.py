"""One input, one STOP: the remote's STOP key reaches the host three ways (its StatusReport,
its KeyPress, the remote menu) and is still one stop, written once and named once."""

from __future__ import annotations

import asyncio

from massagectl.firmware_bridge.messages import RemoteKey
from massagectl.routines.device import load_device
from massagectl.routines.library import load_builtin
from massagectl.safety.stop_path import StopEnd, StopSource
from massagectl.sim.faults import FaultKind
from tests.controller.sessions import run_on_simulator

CHAIR = load_device("chair")


def test_the_remote_stop_key_is_one_stop_written_once_and_named_once(run_virtual_time):
    async def press_stop(session, driver, chair):
        await asyncio.sleep(5.0)
        driver.press(RemoteKey.STOP)
        session.stop(StopSource.REMOTE_KEY, "STOP key on the remote")  # as the menu does

    ran = run_virtual_time(run_on_simulator(CHAIR, load_builtin("relax"), during=press_stop))
    stop = ran.outcome.stop
    assert stop.ended is StopEnd.CONFIRMED
    assert stop.sources == (StopSource.REMOTE_KEY,) and stop.stops_sent == 1
    assert ran.outcome.detail == "remote_key: STOP key on the remote"
    pressed_s = ran.board.trace.events_of("key")[-1].time_s
    stops_at_board = [e for e in ran.board.trace.events_of("command")
                      if e.detail["message"].startswith("Stop(") and e.time_s >= pressed_s]
    # The one of the stop path; the end of the session finds the board stopped already.
    assert len(stops_at_board) == 1


def test_a_board_that_restarts_mid_session_is_one_fault_board_reset(run_virtual_time):
    """hardware.md 4.9: the session ends with the fault 'board restarted', named once, and the
    restarted board confirms the stop."""

    async def restart(session, driver, chair):
        await asyncio.sleep(5.0)
        driver.inject_fault(FaultKind.RESET)

    ran = run_virtual_time(run_on_simulator(CHAIR, load_builtin("relax"), during=restart))
    assert ran.outcome.ended == "fault"
    [fault] = ran.outcome.faults
    assert fault.startswith("board_reset: the board restarted: ")
    assert ran.outcome.stop.ended is StopEnd.CONFIRMED
    assert ran.chair.link.board_restarted
