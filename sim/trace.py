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

By default a trace keeps everything: a test or a `run` reads all of it. A board that runs for
days (the built-in simulator of a resident service, `massagectl sim` without --trace) keeps only
the newest records of each kind (`Trace(..., keep=BOUNDED)`): a heartbeat arrives 20 times a
second, so a day of them alone would be 1.7 million records. `dropped` counts what went.
Samples and heartbeats sit in arrays that hold up to twice what is kept before the oldest half
goes (nothing to do per record); segments and events in queues that let the oldest go as each
new one comes.
"""

from __future__ import annotations

import json
from collections import deque
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
# What a bounded trace keeps of each kind of record, newest first: a minute of samples and of
# heartbeats, the last segments and events (commands, keys, state changes). Nobody reads a
# bounded trace but a test or a debugger looking at the board right now.
BOUNDED = {"samples": 1_200, "heartbeats": 1_200, "segments": 50, "events": 200}


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
        self, device: str, channel_ids: list[str], sensor_ids: list[str], clock_hz: int,
        keep: dict[str, int] | None = None,
    ) -> None:
        self.device = device
        self.channel_ids = list(channel_ids)
        self.sensor_ids = list(sensor_ids)
        self.clock_hz = clock_hz
        # Per kind of record, how many of the newest are kept (None: everything).
        self.keep = dict(keep) if keep is not None else None
        self.dropped = {kind: 0 for kind in BOUNDED}
        self._rows = 0
        self._times_s = np.empty(INITIAL_ROWS)
        self._ticks = np.empty(INITIAL_ROWS, dtype=np.int64)
        self._states = np.empty(INITIAL_ROWS, dtype=np.int8)
        self._outputs = np.empty((INITIAL_ROWS, len(channel_ids)))
        self._actual = np.empty((INITIAL_ROWS, len(channel_ids)))
        self._sensors = np.empty((INITIAL_ROWS, len(sensor_ids)))
        self._segment_rows: list[list] | deque[list] = (
            deque(maxlen=keep["segments"]) if keep is not None else [])
        self._first_segment = 0  # the record number of _segment_rows[0]
        # Heartbeat arrival clocks: one int64 each (a list of Python ints would take 36 bytes).
        self._heartbeats = np.empty(INITIAL_ROWS, dtype=np.int64)
        self._heartbeat_count = 0
        self.events: list[TraceEvent] | deque[TraceEvent] = (
            deque(maxlen=keep["events"]) if keep is not None else [])

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
        keep = self._to_keep("samples", row)
        if keep is not None:
            row = self._rows = self._drop_samples(keep)
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
        rows = self._segment_rows
        if len(rows) == getattr(rows, "maxlen", None):  # the oldest goes with this append
            self._first_segment += 1
            self.dropped["segments"] += 1
        rows.append(
            [channel, planned, arrival, -1, False, SegmentOutcome.QUEUED,
             message.duration_ticks, message.start_value, message.end_value,
             message.amplitude, message.period_ticks]
        )
        return self._first_segment + len(rows) - 1

    def _segment_row(self, record: int) -> list | None:
        index = record - self._first_segment
        return self._segment_rows[index] if index >= 0 else None  # None: dropped already

    def segment_started(self, record: int, executed_ticks: int) -> None:
        row = self._segment_row(record)
        if row is None:
            return
        row[3] = executed_ticks
        row[4] = executed_ticks > row[1]
        row[5] = SegmentOutcome.EXECUTED

    def segment_outcome(self, record: int, outcome: SegmentOutcome) -> None:
        row = self._segment_row(record)
        if row is not None:
            row[5] = outcome

    def heartbeat(self, ticks: int) -> None:
        count = self._heartbeat_count
        keep = self._to_keep("heartbeats", count)
        if keep is not None:
            self._heartbeats[:keep] = self._heartbeats[count - keep:count]
            self.dropped["heartbeats"] += count - keep
            count = keep
        if count == len(self._heartbeats):
            bigger = np.empty(max(INITIAL_ROWS, 2 * count), dtype=np.int64)
            bigger[:count] = self._heartbeats
            self._heartbeats = bigger
        self._heartbeats[count] = ticks
        self._heartbeat_count = count + 1

    def event(self, time_s: float, ticks: int, kind: str, **detail: Any) -> None:
        if len(self.events) == getattr(self.events, "maxlen", None):
            self.dropped["events"] += 1
        self.events.append(TraceEvent(time_s, ticks, kind, detail))

    def _to_keep(self, kind: str, count: int) -> int | None:
        """How many samples or heartbeats to keep, once `count` of them reached twice that in
        a bounded trace; None: keep them all for now."""
        if self.keep is None or count < 2 * self.keep[kind]:
            return None
        return self.keep[kind]

    def _drop_samples(self, keep: int) -> int:
        """Keep the newest `keep` samples at the front of the arrays; returns how many."""
        rows = self._rows
        for name in ("_times_s", "_ticks", "_states", "_outputs", "_actual", "_sensors"):
            column = getattr(self, name)
            column[:keep] = column[rows - keep:rows]
        self.dropped["samples"] += rows - keep
        return keep

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
        return self._heartbeats[: self._heartbeat_count].copy()

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
            "dropped": self.dropped,
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
            trace._heartbeats = data["heartbeat_ticks"].astype(np.int64)
            trace._heartbeat_count = len(trace._heartbeats)
            trace.dropped.update(meta.get("dropped", {}))
            trace.events = [
                TraceEvent(e["time_s"], e["ticks"], e["kind"], e["detail"])
                for e in json.loads(str(data["events"]))
            ]
        return trace


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return str(value)
