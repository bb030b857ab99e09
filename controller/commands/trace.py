"""`massagectl trace`: a recorded session (sent against measured) or a simulated board's trace."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from rich.table import Table

from massagectl.controller.frontends.remote_menu import clock_text
from massagectl.controller.output import console_out
from massagectl.controller.session.recorder import SessionTrace
from massagectl.controller.trace_files import read_trace
from massagectl.controller.trace_report import (
    board_summary,
    compare,
    plot_board_trace,
    plot_trace,
)
from massagectl.sim.trace import Trace

MS_PER_S = 1000.0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "trace", help="show a recorded session: sent against measured, per channel",
        description="Show a session trace (written by `massagectl run`) or a board trace "
        "(written by `massagectl sim --trace`).")
    parser.add_argument("trace", type=Path, metavar="TRACE", help="a trace file (.npz)")
    parser.add_argument("--plot", type=Path, default=None, metavar="FILE",
                        help="also draw it, one lane per channel (needs massagectl[plot])")
    parser.set_defaults(handler=trace_command)


def _number(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def trace_command(args: argparse.Namespace) -> int:
    trace = read_trace(args.trace)
    if isinstance(trace, Trace):
        _show_board_trace(trace, args.plot)
    else:
        _show_session_trace(trace, args.plot)
    return 0


def _show_session_trace(trace: SessionTrace, plot: Path | None) -> None:
    console = console_out()
    console.print(f"{trace.routine} on {trace.device.name}, started {trace.started}, "
                  f"{clock_text(trace.duration_s)} long, {len(trace.segments)} segments, "
                  f"{len(trace.sensor_times_s)} telemetry samples", highlight=False)
    table = Table("channel", "unit", "measured by", "sent max", "measured max",
                  "mean |error|", "lag", "|error| after lag", box=None)
    for row in compare(trace):
        lag = f"{row.lag_s:.0f} s" if row.lag_s is not None else "-"
        table.add_row(row.channel, row.unit, row.sensor or "-", _number(row.planned_peak),
                      _number(row.measured_peak), _number(row.mean_abs_error, 2), lag,
                      _number(row.lagged_error, 2))
    console.print(table)
    console.print("lag: the delay that best explains what was measured (a heater follows its "
                  "set point minutes late); |error| after lag is what is left once it is "
                  "allowed for", style="dim", highlight=False)
    stops = [e for e in trace.events if e["kind"] in ("stop", "end", "pause", "resume", "scan")]
    for event in stops:
        console.print(f"{clock_text(event['t_s'])} {event['kind']}: {event['detail']}",
                      highlight=False)
    if plot is not None:
        console.print(f"plot: {plot_trace(trace, plot)}", highlight=False)


def _show_board_trace(trace: Trace, plot: Path | None) -> None:
    console = console_out()
    summary = board_summary(trace)
    console.print(f"board trace of a simulated {summary.device}, {clock_text(summary.duration_s)} "
                  f"long, {summary.samples} samples", highlight=False)
    counts = summary.segments
    received = sum(count for name, count in counts.items() if name != "late")
    console.print(f"segments: {received} received, {counts['executed']} ran "
                  f"({counts['late']} late), {counts['cleared']} cleared by a stop or reset, "
                  f"{counts['bad_segment'] + counts['queue_full'] + counts['shutdown']} refused",
                  highlight=False)
    errors_ms = summary.timing_errors_s * MS_PER_S
    if errors_ms.size:
        console.print(f"start time at the board, executed - planned: median "
                      f"{np.median(errors_ms):.2f} ms, p99 {np.percentile(errors_ms, 99):.2f} ms, "
                      f"max {np.max(errors_ms):.2f} ms", highlight=False)
    driven = [row for row in summary.channels
              if row.commanded_peak is not None or row.actual_peak is not None]
    if driven:
        table = Table("channel", "commanded max", "actual max", box=None)
        for row in driven:
            table.add_row(row.channel, _number(row.commanded_peak), _number(row.actual_peak))
        console.print(table)
    for time_s, text in summary.events:
        console.print(f"{clock_text(time_s)} {text}", highlight=False)
    if plot is not None:
        console.print(f"plot: {plot_board_trace(trace, plot)}", highlight=False)
