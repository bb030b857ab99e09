"""What the simulated board saw and did, kept in memory as numpy columns and saved to .npz.

    trace = board.trace
    trace.times_s                 host seconds of each telemetry sample (1-D)
    trace.ticks                   the board's unwrapped clock at each sample
    trace.states                  DeviceState at each sample
    trace.output("airbag_calves") commanded value per sample (after intensity, mask and clamp;
                                  NaN where a position-like drive is stopped)
    trace.actual("airbag_calves") the physical value (position, speed, pressure, contact temp)
    trace.sensor("pressure_calves") the reading the board reported
    trace.segments                one row per ScheduleSegment received (SEGMENT_RECORD_DTYPE):
                                  planned, arrival and executed clock, late flag, outcome
    trace.timing_errors_s()       executed - planned start of every segment that ran, seconds
    trace.heartbeat_ticks         arrival clock of each Heartbeat and KeepAlive (the host's
                                  watchdog frames)
    trace.events                  TraceEvent(time_s, ticks, kind, detail) in order: "command"
                                  (every other host message), "state", "fault" (reported by the
                                  board), "inject" (a fault a test switched), "key"
    trace.save(path); Trace.load(path)

A segment's outcome is one of SegmentOutcome; `executed_ticks` is -1 for one that never ran.
Host seconds (`times_s`, `TraceEvent.time_s`) only grow; the board's ticks start again from its
power-on count after a RESET fault, as a real board's counter does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

import numpy as np

from massagectl.routines.device import close_matches
from massagectl.routines.errors import UnknownNameError

SEGMENT_RECORD_DTYPE = np.dtype(
    [
        ("channel", np.int32),
        ("planned_ticks", np.int64),  # unwrapped board clock the host asked for
        ("arrival_ticks", np.int64),
        ("executed_ticks", np.int64),  # -1: never ran
        ("late", np.bool_),
        ("outcome", np.int8),  # SegmentOutcome
        ("duration_ticks", np.int64),
        ("start_value", np.float64),
        ("end_value", np.float64),
        ("amplitude", np.float64),
        ("period_ticks", np.int64),
    ]
)

# Rows are stored in arrays that double when full; this many to start.
INITIAL_ROWS = 1024


class SegmentOutcome(IntEnum):
    QUEUED = 0  # accepted, not started yet
    EXECUTED = 1  # started running (on time or late)
    BAD_SEGMENT = 2  # refused: broke the channel's limits
    QUEUE_FULL = 3  # refused: no room
    SHUTDOWN = 4  # refused: the board was shut down
    CLEARED = 5  # accepted, then cleared by a stop, reset or shutdown before it ran


@dataclass(frozen=True)
class TraceEvent:
    time_s: float
    ticks: int
    kind: str
    detail: dict[str, Any]


class Trace:
    """See the module docstring."""

    def __init__(
        self, device: str, channel_ids: list[str], sensor_ids: list[str], clock_hz: int
    ) -> None:
        self.device = device
        self.channel_ids = list(channel_ids)
        self.sensor_ids = list(sensor_ids)
        self.clock_hz = clock_hz
        self._rows = 0
        self._times_s = np.empty(INITIAL_ROWS)
        self._ticks = np.empty(INITIAL_ROWS, dtype=np.int64)
        self._states = np.empty(INITIAL_ROWS, dtype=np.int8)
        self._outputs = np.empty((INITIAL_ROWS, len(channel_ids)))
        self._actual = np.empty((INITIAL_ROWS, len(channel_ids)))
        self._sensors = np.empty((INITIAL_ROWS, len(sensor_ids)))
        self._segment_rows: list[list] = []
        self._heartbeats: list[int] = []
        self.events: list[TraceEvent] = []

    # --- recording --------------------------------------------------------------------------

    def add_sample(
        self,
        time_s: float,
        ticks: int,
        state: int,
        outputs: list[float | None],
        actual: list[float],
        readings: list[float],
    ) -> None:
        row = self._rows
        if row == len(self._times_s):
            self._grow()
        self._times_s[row] = time_s
        self._ticks[row] = ticks
        self._states[row] = state
        self._outputs[row] = outputs
        self._actual[row] = actual
        self._sensors[row] = readings
        self._rows = row + 1

    def add_segment(self, channel: int, planned: int, arrival: int, message: Any) -> int:
        """Record a received segment; returns its record number."""
        self._segment_rows.append(
            [channel, planned, arrival, -1, False, SegmentOutcome.QUEUED,
             message.duration_ticks, message.start_value, message.end_value,
             message.amplitude, message.period_ticks]
        )
        return len(self._segment_rows) - 1

    def segment_started(self, record: int, executed_ticks: int) -> None:
        row = self._segment_rows[record]
        row[3] = executed_ticks
        row[4] = executed_ticks > row[1]
        row[5] = SegmentOutcome.EXECUTED

    def segment_outcome(self, record: int, outcome: SegmentOutcome) -> None:
        self._segment_rows[record][5] = outcome

    def heartbeat(self, ticks: int) -> None:
        self._heartbeats.append(ticks)

    def event(self, time_s: float, ticks: int, kind: str, **detail: Any) -> None:
        self.events.append(TraceEvent(time_s, ticks, kind, detail))

    def _grow(self) -> None:
        for name in ("_times_s", "_ticks", "_states", "_outputs", "_actual", "_sensors"):
            column = getattr(self, name)
            rows = max(INITIAL_ROWS, 2 * len(column))
            bigger = np.empty((rows,) + column.shape[1:], dtype=column.dtype)
            bigger[: len(column)] = column
            setattr(self, name, bigger)

    # --- reading ----------------------------------------------------------------------------

    @property
    def times_s(self) -> np.ndarray:
        return self._times_s[: self._rows]

    @property
    def ticks(self) -> np.ndarray:
        return self._ticks[: self._rows]

    @property
    def states(self) -> np.ndarray:
        return self._states[: self._rows]

    @property
    def outputs(self) -> np.ndarray:
        """Commanded values, one column per channel."""
        return self._outputs[: self._rows]

    @property
    def actuals(self) -> np.ndarray:
        return self._actual[: self._rows]

    @property
    def sensors(self) -> np.ndarray:
        """Reported readings, one column per sensor."""
        return self._sensors[: self._rows]

    def output(self, channel_id: str) -> np.ndarray:
        return self.outputs[:, self._column(self.channel_ids, channel_id, "channel")]

    def actual(self, channel_id: str) -> np.ndarray:
        return self.actuals[:, self._column(self.channel_ids, channel_id, "channel")]

    def sensor(self, sensor_id: str) -> np.ndarray:
        return self.sensors[:, self._column(self.sensor_ids, sensor_id, "sensor")]

    @property
    def segments(self) -> np.ndarray:
        return np.array([tuple(row) for row in self._segment_rows], dtype=SEGMENT_RECORD_DTYPE)

    @property
    def heartbeat_ticks(self) -> np.ndarray:
        return np.array(self._heartbeats, dtype=np.int64)

    def timing_errors_s(self) -> np.ndarray:
        """executed - planned start, in seconds, of every segment that ran."""
        segments = self.segments
        ran = segments[segments["executed_ticks"] >= 0]
        return (ran["executed_ticks"] - ran["planned_ticks"]) / self.clock_hz

    def events_of(self, kind: str) -> list[TraceEvent]:
        return [event for event in self.events if event.kind == kind]

    @staticmethod
    def _column(ids: list[str], name: str, what: str) -> int:
        try:
            return ids.index(name)
        except ValueError:
            raise UnknownNameError(what, name, close_matches(name, ids), ids) from None

    # --- files ------------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write the trace as a compressed .npz (numpy arrays plus JSON for the rest)."""
        path = Path(path)
        meta = {
            "device": self.device,
            "channel_ids": self.channel_ids,
            "sensor_ids": self.sensor_ids,
            "clock_hz": self.clock_hz,
        }
        events = [
            {"time_s": e.time_s, "ticks": e.ticks, "kind": e.kind, "detail": e.detail}
            for e in self.events
        ]
        with path.open("wb") as file:
            np.savez_compressed(
                file,
                meta=np.array(json.dumps(meta)),
                events=np.array(json.dumps(events, default=_jsonable)),
                times_s=self.times_s,
                ticks=self.ticks,
                states=self.states,
                outputs=self.outputs,
                actuals=self.actuals,
                sensors=self.sensors,
                segments=self.segments,
                heartbeat_ticks=self.heartbeat_ticks,
            )
        return path

    @classmethod
    def load(cls, path: str | Path) -> Trace:
        with np.load(Path(path), allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            trace = cls(meta["device"], meta["channel_ids"], meta["sensor_ids"], meta["clock_hz"])
            trace._rows = len(data["times_s"])
            trace._times_s = data["times_s"].copy()
            trace._ticks = data["ticks"].copy()
            trace._states = data["states"].copy()
            trace._outputs = data["outputs"].copy()
            trace._actual = data["actuals"].copy()
            trace._sensors = data["sensors"].copy()
            trace._segment_rows = [list(row.item()) for row in data["segments"]]
            trace._heartbeats = [int(t) for t in data["heartbeat_ticks"]]
            trace.events = [
                TraceEvent(e["time_s"], e["ticks"], e["kind"], e["detail"])
                for e in json.loads(str(data["events"]))
            ]
        return trace


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return str(value)
