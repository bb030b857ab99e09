"""One place for a chair's latched faults and sessions: `massagectl run`, the service,
`faults`, `faults --clear` and `sessions` all read and write `chairs/<serial>/`, and the
top-level fault log of earlier versions still blocks every chair until it is cleared."""

from __future__ import annotations

import asyncio

import pytest

from massagectl.controller.cli import main
from massagectl.controller.config import LogSettings
from massagectl.controller.service.chair_files import ChairFiles
from massagectl.controller.service.operations import ChairState, Origin, Refused
from massagectl.safety.chair_record import ChairRecord
from massagectl.safety.fault_log import FaultLog, LogEvent
from massagectl.safety.faults import Fault, FaultLatch
from tests.controller.service_rig import running_service
from tests.controller.test_service_state import until

SIMULATED_CHAIR = "SIM-chair-1"  # the built-in simulator's serial number


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[logs]\ndirectory = "state"\n')
    return path


def cli(capsys, *args: str) -> tuple[int, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out + captured.err


async def state_and_refusal(tmp_path) -> tuple[ChairState, str]:
    """A new service's state, and what a start says (cancelled at once if it began)."""
    async with running_service(tmp_path) as service:
        state = service.state()
        try:
            service.start("tiny", Origin.SOCKET)
        except Refused as refused:
            return state, str(refused)
        service.stop(Origin.SOCKET)
        await until(lambda: service.session is None and service._starting is None)
        return state, ""


def test_a_fault_run_latched_blocks_the_service_until_faults_clear(tmp_path, config, capsys,
                                                                   run_virtual_time):
    # `massagectl run` trips its latch on the chair's own log, where the service looks too.
    files = ChairFiles.of(LogSettings(directory=tmp_path / "state"), SIMULATED_CHAIR)
    run_log, _ = files.restore_latch()
    FaultLatch(run_log).trip(Fault("stuck_valve", "pressure_calves: the vent does not open"),
                             "supervisor", "STOP sent")
    status, text = cli(capsys, "run", "relax", "--speed", "max", "--config", str(config))
    assert status == 1 and "a fault is latched (stuck_valve)" in text

    state, refusal = run_virtual_time(state_and_refusal(tmp_path))
    assert state is ChairState.FAULT
    assert refusal.startswith("a fault is latched: stuck_valve")

    status, text = cli(capsys, "faults", "--config", str(config))
    assert f"chair {SIMULATED_CHAIR}: {files.fault_log}" in text
    assert "latched: 1 fault(s)" in text
    status, text = cli(capsys, "faults", "--clear", "--config", str(config))
    assert f"chair {SIMULATED_CHAIR}: cleared 1 latched fault(s)" in text
    assert run_virtual_time(state_and_refusal(tmp_path)) == (ChairState.IDLE, "")


def test_faults_clear_clears_what_the_service_reads_after_a_restart_and_sessions_lists_it(
        tmp_path, config, capsys, run_virtual_time):
    async def a_session_then_a_fault():
        async with running_service(tmp_path) as service:
            done = service.start("tiny", Origin.SOCKET)
            await done
            await until(lambda: service.session is None and service.last_summary is not None)
            service.start("tiny", Origin.SOCKET)
            await asyncio.sleep(5.0)
            service.simulator.driver.inject_fault("motor_stall", "roller_position")
            await until(lambda: service.state() is ChairState.FAULT)

    run_virtual_time(a_session_then_a_fault())
    assert run_virtual_time(state_and_refusal(tmp_path))[0] is ChairState.FAULT

    status, text = cli(capsys, "sessions", "--config", str(config))
    rows = [line.split() for line in text.splitlines()[1:3]]
    assert text.splitlines()[0].split() == ["chair", "started", "routine", "user", "length",
                                            "ended", "trace"]
    assert [(row[0], row[3], row[4], row[6]) for row in rows] == [
        (SIMULATED_CHAIR, "tiny", "default", "finished"),
        (SIMULATED_CHAIR, "tiny", "default", "fault")]
    status, text = cli(capsys, "sessions", "--chair", "SIM-chair-9", "--config", str(config))
    assert status != 0 and "no chair 'SIM-chair-9'" in text and SIMULATED_CHAIR in text

    status, text = cli(capsys, "faults", "--clear", "--config", str(config))
    assert f"chair {SIMULATED_CHAIR}: cleared" in text
    assert not ChairRecord.load(SIMULATED_CHAIR).is_latched
    assert run_virtual_time(state_and_refusal(tmp_path)) == (ChairState.IDLE, "")


def test_a_fault_in_the_old_top_level_log_blocks_every_chair_until_cleared_once(
        tmp_path, run_virtual_time):
    old = FaultLog(tmp_path / "state" / "faults.jsonl")  # where earlier versions kept it
    old.append(LogEvent.FAULT, "supervisor", "heater_stuck_on", action="STOP sent",
               outcome="temp_lower_back: heat cannot be switched off", latched=True)

    async def clear_from_the_remote():
        async with running_service(tmp_path) as service:
            assert service.state() is ChairState.FAULT
            assert "may be any chair's" in service.snapshot().faults[0]
            service.clear_faults(Origin.REMOTE)
            await until(lambda: service.state() is ChairState.IDLE)

    run_virtual_time(clear_from_the_remote())
    # The clear reached the old log too: a restart does not bring the fault back.
    assert run_virtual_time(state_and_refusal(tmp_path)) == (ChairState.IDLE, "")


def test_two_latched_chairs_need_the_one_checked_named_and_nothing_is_cleared_before(
        tmp_path, config, capsys):
    logs = LogSettings(directory=tmp_path / "state")
    for serial in ("chair-A", "chair-B"):
        log, _ = ChairFiles.of(logs, serial).restore_latch()
        FaultLatch(log).trip(Fault("motor_stall", "roller_position"), "supervisor", "STOP")
    status, text = cli(capsys, "faults", "--clear", "--config", str(config))
    assert status != 0 and "2 chairs have latched faults: chair-A, chair-B" in text
    for serial in ("chair-A", "chair-B"):
        assert ChairFiles.of(logs, serial).restore_latch()[1].latched
    status, text = cli(capsys, "faults", "--clear", "--chair", "chair-B", "--config",
                       str(config))
    assert "chair chair-B: cleared 1 latched fault(s)" in text
    assert ChairFiles.of(logs, "chair-A").restore_latch()[1].latched
    assert not ChairFiles.of(logs, "chair-B").restore_latch()[1].latched


def test_a_serial_number_names_one_folder_inside_the_chairs_folder(tmp_path):
    logs = LogSettings(directory=tmp_path)
    assert ChairFiles.of(logs, "../../etc").folder == tmp_path / "chairs" / "_.._.._etc"
    assert ChairFiles.of(logs, "").folder == tmp_path
