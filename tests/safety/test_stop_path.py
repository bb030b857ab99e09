"""The one stop path: STOP written at once, confirmed, repeated, escalated; stops coalesce."""

from __future__ import annotations

import asyncio

import pytest

from massagectl.firmware_bridge.messages import (
    DeviceState,
    HostStopCause,
    StatusReport,
    Stop,
    StopCause,
)
from massagectl.safety.fault_log import FaultLog
from massagectl.safety.stop_path import STOP_ESCALATE_AFTER_S, StopEnd, StopPath, StopSource
from tests.safety.fakes import FakeBoard


def wired(board: FakeBoard, log: FaultLog | None = None) -> StopPath:
    stop_path = StopPath(board, log)
    board.listener = stop_path.on_message
    return stop_path


def test_stop_is_written_before_anything_is_awaited_then_confirmed(run_virtual_time):
    async def scenario():
        board = FakeBoard(confirm_delay_s=0.003)
        stop_path = wired(board)
        future = stop_path.request(StopSource.TERMINAL, "Ctrl-C")
        written_at_once = board.stops_sent()
        return written_at_once, await future, board

    written_at_once, outcome, board = run_virtual_time(scenario())
    assert written_at_once == 1
    assert outcome.ended is StopEnd.CONFIRMED
    assert outcome.write_latency_s == 0.0
    assert outcome.confirm_latency_s == pytest.approx(0.003)
    assert outcome.confirmation.state is DeviceState.SHUTDOWN and outcome.confirmation.outputs_safe
    assert board.state is DeviceState.SHUTDOWN


@pytest.mark.parametrize("source", list(StopSource))
def test_every_stop_source_ends_in_the_same_recorded_safe_state(source, run_virtual_time):
    async def scenario():
        board = FakeBoard()
        log = FaultLog(None)
        outcome = await wired(board, log).stop(source, f"from {source}")
        return outcome, board, log

    outcome, board, log = run_virtual_time(scenario())
    assert (outcome.ended, outcome.sources, outcome.port_closed) == (
        StopEnd.CONFIRMED, (source,), False)
    assert (board.state, board.outputs_safe) == (DeviceState.SHUTDOWN, True)
    requested, ended = log.records
    assert (requested.event, requested.source, requested.outcome) == ("stop", source, "requested")
    assert ended.source == source and ended.outcome.startswith("confirmed safe after")


def test_stops_arriving_during_a_stop_join_it_and_each_writes_stop(run_virtual_time):
    async def scenario():
        board = FakeBoard(confirm_delay_s=0.01)
        stop_path = wired(board)
        first = stop_path.request(StopSource.REMOTE_KEY)
        second = stop_path.request(StopSource.MQTT)
        third = stop_path.request(StopSource.SEAT_SENSOR)
        assert first is second is third
        return await first, board

    outcome, board = run_virtual_time(scenario())
    assert outcome.sources == (StopSource.REMOTE_KEY, StopSource.MQTT, StopSource.SEAT_SENSOR)
    assert board.stops_sent() == 3 and outcome.stops_sent == 3


def test_no_confirmation_repeats_stop_then_closes_the_port(run_virtual_time):
    async def scenario():
        board = FakeBoard(answers=False)
        loop = asyncio.get_running_loop()
        start_s = loop.time()
        outcome = await wired(board).stop(StopSource.SUPERVISOR, "over_pressure")
        return outcome, board, loop.time() - start_s

    outcome, board, took_s = run_virtual_time(scenario())
    assert outcome.ended is StopEnd.ESCALATED and outcome.port_closed and board.closed
    assert outcome.stops_sent == 5  # at 0, 50, 100, 150 and 200 ms
    assert took_s == pytest.approx(STOP_ESCALATE_AFTER_S)
    assert "board watchdog acts" in outcome.summary()


def test_a_port_that_cannot_be_written_escalates_at_once(run_virtual_time):
    async def scenario():
        board = FakeBoard(fail_writes=True)
        loop = asyncio.get_running_loop()
        start_s = loop.time()
        outcome = await wired(board).stop(StopSource.MQTT)
        return outcome, board, loop.time() - start_s

    outcome, board, took_s = run_virtual_time(scenario())
    assert outcome.ended is StopEnd.ESCALATED and board.closed and took_s == 0.0
    assert outcome.written_s is None and "port /dev/fake is closed" in outcome.error


def test_a_link_reporting_a_lost_port_escalates_too(run_virtual_time):
    class LostLink(FakeBoard):
        def send_immediate(self, message) -> bool:
            return False  # firmware_bridge.Link's answer when the port is gone

    async def scenario():
        board = LostLink()
        return await wired(board).stop(StopSource.TERMINAL), board

    outcome, board = run_virtual_time(scenario())
    assert outcome.ended is StopEnd.ESCALATED and board.closed
    assert outcome.error == "cannot write STOP: the port is gone"


def test_only_a_safe_shutdown_reported_after_the_request_confirms(run_virtual_time):
    async def scenario():
        board = FakeBoard(answers=False)
        stop_path = wired(board)
        loop = asyncio.get_running_loop()
        future = stop_path.request(StopSource.TERMINAL)
        # An old report (before the request) and a shutdown with an output still unsafe:
        stop_path.on_message(board.status(), loop.time() - 0.1)
        stop_path.on_message(board.status(outputs_safe=False), loop.time())
        await asyncio.sleep(0.01)
        assert not future.done()
        stop_path.on_message(board.status(state=DeviceState.SHUTDOWN,
                                          stop_cause=StopCause.HOST_STOP), loop.time())
        return await future

    outcome = run_virtual_time(scenario())
    assert outcome.ended is StopEnd.CONFIRMED and outcome.stops_sent == 1
    assert isinstance(outcome.confirmation, StatusReport)


def test_a_new_stop_after_one_finished_starts_afresh(run_virtual_time):
    async def scenario():
        board = FakeBoard()
        stop_path = wired(board)
        first = await stop_path.stop(StopSource.TERMINAL)
        second = await stop_path.stop(StopSource.REMOTE_KEY)
        return first, second, board

    first, second, board = run_virtual_time(scenario())
    assert first.sources == (StopSource.TERMINAL,) and second.sources == (StopSource.REMOTE_KEY,)
    assert second.ended is StopEnd.CONFIRMED
    assert [type(m) for _, m in board.sent] == [Stop, Stop]


def test_a_stop_for_a_latched_fault_asks_the_board_to_latch_it_too(run_virtual_time):
    """A person's stop sends cause REQUESTED; a fault joining it turns every later STOP of the
    attempt into cause FAULT, at once (hardware.md section 5, the fault latch)."""

    async def scenario():
        board = FakeBoard(confirm_delay_s=0.01)
        stop_path = wired(board)
        first = stop_path.request(StopSource.TERMINAL, "q")
        stop_path.request(StopSource.SUPERVISOR, "heater stuck on", fault=True)
        await first
        return [message.cause for _, message in board.sent if isinstance(message, Stop)]

    causes = run_virtual_time(scenario())
    assert causes == [HostStopCause.REQUESTED, HostStopCause.FAULT]


def test_the_same_input_reported_twice_is_one_stop_written_once(run_virtual_time):
    async def scenario():
        board = FakeBoard(confirm_delay_s=0.002)
        stop_path = wired(board)
        first = stop_path.request(StopSource.REMOTE_KEY, "STOP key on the remote")
        stop_path.request(StopSource.REMOTE_KEY, "STOP key on the remote")  # its KeyPress
        return await first, board

    outcome, board = run_virtual_time(scenario())
    assert board.stops_sent() == 1 and outcome.stops_sent == 1
    assert outcome.sources == (StopSource.REMOTE_KEY,)
