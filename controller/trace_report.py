"""A saved session trace, read back: what was sent against what the board measured."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from massagectl.controller.session.recorder import SessionTrace
from massagectl.routines.plot import Lane, draw_lanes


@dataclass(frozen=True)
class ChannelComparison:
    channel: str
    unit: str
    sensor: str | None
    planned_peak: float
    measured_peak: float | None
    mean_abs_error: float | None  # over the samples where something was sent


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
        measured_peak = mean_error = None
        if sensor is not None:
            sensor_times, measured = trace.measured(sensor)
            if len(measured):
                measured_peak = float(np.max(measured))
                planned_here = trace.planned(channel.id, sensor_times)
                both = ~np.isnan(planned_here)
                if both.any():
                    mean_error = float(np.mean(np.abs(measured[both] - planned_here[both])))
        rows.append(ChannelComparison(channel.id, channel.unit.value, sensor, planned_peak,
                                      measured_peak, mean_error))
    return rows


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
    return draw_lanes(lanes, title, "session time, minutes", path)
