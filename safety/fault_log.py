"""The fault log: one JSON object per line for every fault, stop and clear, and its reader.

A line looks like (wrapped here):

    {"time": "2026-11-24T14:27:07.123456+00:00", "host_s": 812.25, "device_clock": 81225000,
     "event": "fault", "source": "supervisor", "cause": "over_pressure",
     "values": {"pressure_calves": {"value": 18.4, "unit": "kPa"},
                "limit": {"value": 17.5, "unit": "kPa"}},
     "action": "STOP sent", "outcome": "", "latched": true}

`time` is the wall clock (for people), `host_s` the event loop's clock (to line events up with
each other), `device_clock` the board's ticks when a message carried them. Each event is
appended and flushed as it happens (not fsync'd: that costs milliseconds, and the log is
written after the STOP bytes, never before). A line that cannot be parsed (a crash mid-write, a
disk error) is skipped and counted by the reader, so one bad line never hides the others.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path


class LogEvent(StrEnum):
    FAULT = "fault"  # a supervisor trip or a fault the board reported
    STOP = "stop"  # a stop request and how it ended
    CLEAR = "clear"  # a person cleared the latched faults
    NOTICE = "notice"  # worth knowing, needs no action (a late segment, a queue full)


@dataclass(frozen=True)
class FaultRecord:
    time: str
    event: str
    source: str
    cause: str
    host_s: float | None = None
    device_clock: int | None = None
    values: dict[str, dict[str, object]] = field(default_factory=dict)
    action: str = ""
    outcome: str = ""
    latched: bool = False

    def to_json(self) -> str:
        data = {
            "time": self.time, "host_s": self.host_s, "device_clock": self.device_clock,
            "event": self.event, "source": self.source, "cause": self.cause,
            "values": self.values, "action": self.action, "outcome": self.outcome,
            "latched": self.latched,
        }
        return json.dumps(data, allow_nan=False, separators=(", ", ": "))


def measured(values: dict[str, tuple[float, str]]) -> dict[str, dict[str, object]]:
    """`{"name": (value, unit)}` as the log stores it; non-finite numbers become text."""
    return {
        name: {"value": value if isinstance(value, int) or math.isfinite(value) else str(value),
               "unit": unit}
        for name, (value, unit) in values.items()
    }


class FaultLog:
    """Appends records to a JSON-lines file (or only keeps them in memory when `path` is None)."""

    def __init__(
        self,
        path: str | Path | None,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.path = None if path is None else Path(path)
        self.records: list[FaultRecord] = []
        self.write_error: str | None = None  # the last error writing the file, if any
        self._wall_clock = wall_clock

    def append(
        self,
        event: LogEvent,
        source: str,
        cause: str,
        *,
        host_s: float | None = None,
        device_clock: int | None = None,
        values: dict[str, tuple[float, str]] | None = None,
        action: str = "",
        outcome: str = "",
        latched: bool = False,
    ) -> FaultRecord:
        record = FaultRecord(
            time=self._wall_clock().isoformat(), event=str(event), source=str(source),
            cause=str(cause), host_s=host_s, device_clock=device_clock,
            values=measured(values or {}), action=action, outcome=outcome, latched=latched,
        )
        self.records.append(record)
        if self.path is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as handle:
                    handle.write(record.to_json() + "\n")
                    handle.flush()
            except OSError as error:
                # Never let a full disk break a stop: the record stays in memory and the
                # error is kept for the status display.
                self.write_error = f"cannot write {self.path}: {error.strerror or error}"
        return record


@dataclass(frozen=True)
class FaultLogReading:
    records: tuple[FaultRecord, ...]
    corrupted_lines: int  # lines skipped because they were not a valid record


def read_fault_log(path: str | Path) -> FaultLogReading:
    """Every valid record of the log, oldest first; a missing file is an empty log."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return FaultLogReading((), 0)
    records = []
    corrupted = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        record = _parse(line)
        if record is None:
            corrupted += 1
        else:
            records.append(record)
    return FaultLogReading(tuple(records), corrupted)


def _parse(line: str) -> FaultRecord | None:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    text_fields = ("time", "event", "source", "cause")
    if not all(isinstance(data.get(name), str) for name in text_fields):
        return None
    values = data.get("values")
    host_s = data.get("host_s")
    clock = data.get("device_clock")
    return FaultRecord(
        time=data["time"], event=data["event"], source=data["source"], cause=data["cause"],
        host_s=float(host_s) if isinstance(host_s, (int, float)) else None,
        device_clock=clock if isinstance(clock, int) and not isinstance(clock, bool) else None,
        values=values if isinstance(values, dict) else {},
        action=str(data.get("action", "")), outcome=str(data.get("outcome", "")),
        latched=data.get("latched") is True,
    )
