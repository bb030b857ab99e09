"""The fault log file, its tolerant reader, and the latch it restores."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

import pytest

from massagectl.routines.errors import FaultLatchedError
from massagectl.safety.fault_log import FaultLog, LogEvent, read_fault_log
from massagectl.safety.faults import Fault, FaultCause, FaultLatch


def fixed_clock():
    return datetime(2026, 11, 24, 14, 27, 7, tzinfo=UTC)


def test_each_event_is_one_json_line_with_time_cause_values_and_action(tmp_path: Path):
    path = tmp_path / "state" / "faults.jsonl"
    log = FaultLog(path, wall_clock=fixed_clock)
    log.append(LogEvent.FAULT, "supervisor", FaultCause.OVER_PRESSURE, host_s=12.5,
               device_clock=12_500_000, values={"pressure_calves": (18.4, "kPa")},
               action="STOP sent", outcome="pressure_calves: 18.4 kPa", latched=True)
    log.append(LogEvent.STOP, "remote_key", "STOP key", values={"bad": (math.nan, "kPa")})
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first == {
        "time": "2026-11-24T14:27:07+00:00", "host_s": 12.5, "device_clock": 12_500_000,
        "event": "fault", "source": "supervisor", "cause": "over_pressure",
        "values": {"pressure_calves": {"value": 18.4, "unit": "kPa"}}, "action": "STOP sent",
        "outcome": "pressure_calves: 18.4 kPa", "latched": True,
    }
    assert json.loads(lines[1])["values"]["bad"]["value"] == "nan"


def test_the_reader_skips_and_counts_corrupted_lines(tmp_path: Path):
    path = tmp_path / "faults.jsonl"
    log = FaultLog(path, wall_clock=fixed_clock)
    log.append(LogEvent.FAULT, "supervisor", "stuck_valve", latched=True)
    with path.open("a") as handle:
        handle.write('{"time": "2026-11-24T14:27:08+00:00", "event": "fau\n')  # cut mid-write
        handle.write("[1, 2, 3]\n\n")
        handle.write('{"event": "fault"}\n')  # no time, source or cause
    log.append(LogEvent.CLEAR, "remote", "cleared")
    reading = read_fault_log(path)
    assert [r.event for r in reading.records] == ["fault", "clear"]
    assert reading.corrupted_lines == 3
    assert read_fault_log(tmp_path / "missing.jsonl").records == ()


def test_a_log_that_cannot_be_written_never_raises(tmp_path: Path):
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("")
    log = FaultLog(blocker / "faults.jsonl")
    record = log.append(LogEvent.STOP, "terminal", "Ctrl-C")
    assert log.records == [record] and "cannot write" in log.write_error


def test_a_latched_fault_blocks_until_cleared_and_survives_a_restart(tmp_path: Path):
    path = tmp_path / "faults.jsonl"
    latch = FaultLatch(FaultLog(path))
    latch.raise_if_latched()
    latch.trip(Fault(FaultCause.HEATER_STUCK_ON, "temp_calves: rose 1.2 C", 30.0), "supervisor",
               "STOP sent")
    with pytest.raises(FaultLatchedError) as caught:
        latch.raise_if_latched()
    assert "heater_stuck_on" in str(caught.value) and "clear the fault" in str(caught.value)
    restarted = FaultLatch.restored(FaultLog(path), read_fault_log(path))
    assert restarted.latched and restarted.faults[0].cause == "heater_stuck_on"
    cleared = restarted.clear("remote OK key")
    assert [f.cause for f in cleared] == ["heater_stuck_on"]
    again = FaultLatch.restored(FaultLog(path), read_fault_log(path))
    assert not again.latched
    assert read_fault_log(path).records[-1].event == "clear"
