"""Saved traces, read back: a session's sent against measured; a board's segments and states."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from massagectl.controller.session.recorder import SessionTrace
from massagectl.routines.errors import InputError
from massagectl.routines.plot import Lane, Mark, draw_lanes
from massagectl.sim.trace import SegmentOutcome, Trace


@dataclass(frozen=True)
class ChannelComparison:
    channel: str
    unit: str
    sensor: str | None
    planned_peak: float
    measured_peak: float | None
    mean_abs_error: float | None  # over the samples where something was sent
    # A heater follows its set point minutes late by nature: the delay that best explains the
    # measurement, and the error left once it is allowed for (None: no lag worth naming).
    lag_s: float | None = None
    lagged_error: float | None = None


def compare(trace: SessionTrace) -> list[ChannelComparison]:
    """One row per channel that received segments."""
    rows = []
    times = trace.sensor_times_s
    for index in sorted(set(int(i) for i in trace.segments["channel"])):
        channel = trace.device.channels[index]
        sensor = trace.observing_sensor(channel.id)
        grid = times if len(times) else np.array([0.0])
        planned = trace.planned(channel.id, grid)
        planned_peak = float(np.nanmax(planned)) if np.any(~np.isnan(planned)) else float("nan")
        measured_peak = mean_error = lag_s = lagged_error = None
        if sensor is not None:
            sensor_times, measured = trace.measured(sensor)
            if len(measured):
                measured_peak = float(np.max(measured))
                planned_here = trace.planned(channel.id, sensor_times)
                both = ~np.isnan(planned_here)
                if both.any():
                    mean_error = float(np.mean(np.abs(measured[both] - planned_here[both])))
                    lag = best_lag(sensor_times, planned_here, measured)
                    if lag is not None and lag[1] < mean_error * LAG_MUST_EXPLAIN:
                        lag_s, lagged_error = lag
        rows.append(ChannelComparison(channel.id, channel.unit.value, sensor, planned_peak,
                                      measured_peak, mean_error, lag_s, lagged_error))
    return rows


# Heaters take minutes to follow (a thermal RC of a few minutes); a drive that lags longer than
# this is not following at all.
MAX_LAG_S = 300.0
LAG_STEP_S = 2.0
# A lag is named only when allowing for it removes at least a third of the error; otherwise
# the error is a real one, not the channel's expected slowness.
LAG_MUST_EXPLAIN = 2 / 3


def best_lag(times_s: np.ndarray, planned: np.ndarray,
             measured: np.ndarray) -> tuple[float, float] | None:
    """(lag s, mean |error| with the sent values delayed by it), the lag from 0 to MAX_LAG_S
    that fits best; None when no lag of at least one step fits better than none."""
    sent = ~np.isnan(planned)
    if sent.sum() < 2:
        return None
    filled = np.where(sent, planned, 0.0)
    best: tuple[float, float] | None = None
    for lag_s in np.arange(LAG_STEP_S, MAX_LAG_S + LAG_STEP_S / 2, LAG_STEP_S):
        earlier = times_s - lag_s
        inside = (earlier >= times_s[0]) & (np.interp(earlier, times_s, sent.astype(float)) > 0.999)
        if inside.sum() < 2:
            break
        delayed = np.interp(earlier[inside], times_s, filled)
        error = float(np.mean(np.abs(measured[inside] - delayed)))
        if best is None or error < best[1]:
            best = (float(lag_s), error)
    return best


def plot_trace(trace: SessionTrace, path: str | Path) -> Path:
    lanes = []
    for row in compare(trace):
        channel = trace.device.channel(row.channel)
        lane = Lane(row.channel, row.unit, channel.min, channel.max)
        if len(trace.sensor_times_s):
            lane.lines.append((trace.sensor_times_s,
                               trace.planned(row.channel, trace.sensor_times_s), "sent"))
        if row.sensor is not None:
            times, values = trace.measured(row.sensor)
            lane.lines.append((times, values, f"measured ({row.sensor})"))
        lanes.append(lane)
    title = f"{trace.routine} on {trace.device.name}, {trace.started}: sent and measured"
    return draw_lanes(lanes, title, "session time, minutes", path, session_marks(trace))


FAULT_COLOR = "tab:red"
MARK_LABEL_CHARS = 48  # a mark's label above the lanes: long enough to say what, no more
STOP_COLOR = "tab:orange"


def session_marks(trace: SessionTrace) -> tuple[Mark, ...]:
    """The body scan and pauses as stretches; stops, faults and the end as moments."""
    marks: list[Mark] = []
    started_s = next((e["t_s"] for e in trace.events if e["kind"] == "plan"), 0.0)
    paused_at: float | None = None
    for event in trace.events:
        kind, t_s = event["kind"], float(event["t_s"])
        if kind == "scan":
            marks.append(Mark(started_s, "body scan", t_s, "tab:green"))
        elif kind == "pause":
            paused_at = t_s
        elif kind == "resume" and paused_at is not None:
            marks.append(Mark(paused_at, "paused", t_s, "tab:purple"))
            paused_at = None
        elif kind == "stop":
            marks.append(Mark(t_s, f"stop: {event['detail']}"[:MARK_LABEL_CHARS],
                              color=STOP_COLOR))
        elif kind == "end" and str(event["detail"]).startswith(("fault", "error")):
            # A finished or stopped end is marked already (the plan's end, the stop itself).
            marks.append(Mark(t_s, str(event["detail"])[:MARK_LABEL_CHARS], color=FAULT_COLOR))
    if paused_at is not None:
        marks.append(Mark(paused_at, "paused", trace.duration_s, "tab:purple"))
    return tuple(marks)


@dataclass(frozen=True)
class BoardChannelRow:
    channel: str
    commanded_peak: float | None  # None: never commanded (a position drive left stopped)
    actual_peak: float | None


@dataclass(frozen=True)
class BoardSummary:
    """What a board trace (`massagectl sim --trace`) tells at a glance."""

    device: str
    duration_s: float
    samples: int
    segments: dict[str, int]  # outcome name -> count, plus "late"
    timing_errors_s: np.ndarray
    channels: list[BoardChannelRow]
    events: list[tuple[float, str]]  # (seconds since the first sample, what happened)


def _peak(column: np.ndarray) -> float | None:
    finite = column[np.isfinite(column)]
    return float(np.max(finite)) if finite.size else None


def board_summary(trace: Trace) -> BoardSummary:
    times = trace.times_s
    start_s = float(times[0]) if len(times) else (trace.events[0].time_s if trace.events else 0.0)
    end_s = float(times[-1]) if len(times) else start_s
    segments = trace.segments
    counts = {outcome.name.lower(): int(np.sum(segments["outcome"] == outcome))
              for outcome in SegmentOutcome}
    counts["late"] = int(np.sum(segments["late"])) if len(segments) else 0
    channels = [
        BoardChannelRow(channel_id,
                        _peak(trace.output(channel_id)) if len(times) else None,
                        _peak(trace.actual(channel_id)) if len(times) else None)
        for channel_id in trace.channel_ids
    ]
    events = []
    for event in trace.events:
        if event.kind == "state":
            text = f"board {event.detail.get('state', '?')} ({event.detail.get('cause', '?')})"
        elif event.kind == "fault":
            text = f"board fault {event.detail.get('code', '?')}"
        elif event.kind == "inject":
            switched = "on" if event.detail.get("on") else "off"
            text = f"injected {event.detail.get('fault', '?')} {switched}"
        elif event.kind == "key":
            text = f"remote key {event.detail.get('key', '?')}"
        else:
            continue  # host commands: too many to list; the segments say what they asked
        events.append((event.time_s - start_s, text))
    return BoardSummary(trace.device, end_s - start_s, len(times), counts,
                        trace.timing_errors_s(), channels, events)


def plot_board_trace(trace: Trace, path: str | Path) -> Path:
    """Commanded against actual per channel that was ever driven, as in a session plot."""
    lanes = []
    times = trace.times_s - (trace.times_s[0] if len(trace.times_s) else 0.0)
    for channel_id in trace.channel_ids:
        commanded, actual = trace.output(channel_id), trace.actual(channel_id)
        if not np.any(np.isfinite(commanded)) and not np.any(np.isfinite(actual)):
            continue
        values = np.concatenate([commanded[np.isfinite(commanded)], actual[np.isfinite(actual)]])
        low, high = float(np.min(values)), float(np.max(values))
        lane = Lane(channel_id, "", low, high + max(1e-6, 0.05 * (high - low)))
        lane.lines += [(times, commanded, "commanded"), (times, actual, "actual")]
        lanes.append(lane)
    if not lanes:
        raise InputError("the board trace holds no samples; there is nothing to plot",
                         "was it saved with per-sample rows (`massagectl sim --trace`)?")
    return draw_lanes(lanes, f"board trace of {trace.device}: commanded and actual",
                      "board time, minutes", path)
