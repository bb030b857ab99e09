"""`massagectl trace`: a recorded session, what was sent against what the board measured."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from rich.console import Console
from rich.table import Table

from massagectl.controller.session.recorder import load_trace
from massagectl.controller.frontends.remote_menu import clock_text
from massagectl.controller.trace_report import compare, plot_trace


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "trace", help="show a recorded session: sent against measured, per channel")
    parser.add_argument("trace", type=Path, metavar="TRACE", help="a trace file (.npz)")
    parser.add_argument("--plot", type=Path, default=None, metavar="FILE",
                        help="also draw it, one lane per channel (needs massagectl[plot])")
    parser.set_defaults(handler=trace_command)


def _number(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def trace_command(args: argparse.Namespace) -> int:
    trace = load_trace(args.trace)
    console = Console(soft_wrap=True)
    console.print(f"{trace.routine} on {trace.device.name}, started {trace.started}, "
                  f"{clock_text(trace.duration_s)} long, {len(trace.segments)} segments, "
                  f"{len(trace.sensor_times_s)} telemetry samples", highlight=False)
    table = Table("channel", "unit", "measured by", "sent max", "measured max",
                  "mean |error|", box=None)
    for row in compare(trace):
        table.add_row(row.channel, row.unit, row.sensor or "-", _number(row.planned_peak),
                      _number(row.measured_peak), _number(row.mean_abs_error, 2))
    console.print(table)
    stops = [e for e in trace.events if e["kind"] in ("stop", "end", "pause", "resume", "scan")]
    for event in stops:
        console.print(f"{clock_text(event['t_s'])} {event['kind']}: {event['detail']}",
                      highlight=False)
    if args.plot is not None:
        console.print(f"plot: {plot_trace(trace, args.plot)}", highlight=False)
    return 0
