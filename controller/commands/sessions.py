"""`massagectl sessions`: past sessions of every chair (or the one picked), when, which routine,
whose, how they ended, the trace. Read from each chair's folder (controller.service.chair_files),
which `massagectl run` and the service both write: its session history, and the traces the
history does not name (sessions of earlier versions, which kept only a trace)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.table import Table

from massagectl.controller.cli_options import add_config, config_of
from massagectl.controller.frontends.remote_menu import clock_text
from massagectl.controller.output import console_out
from massagectl.controller.service.chair_files import ChairFiles, every_chair, folder_name
from massagectl.controller.service.history import read_history
from massagectl.controller.session_history import past_sessions
from massagectl.routines.errors import InputError
from massagectl.safety.fault_log import read_fault_log

DEFAULT_LAST = 20
_EARLIEST = datetime.min.replace(tzinfo=UTC)  # histories and traces carry their time zone
NO_SERIAL = "-"  # the chair column for a board without a serial number, and earlier versions


@dataclass(frozen=True)
class Row:
    chair: str
    started: datetime | None  # None: unreadable
    routine: str = ""
    user: str = ""
    length_s: float = 0.0
    ended: str = ""
    trace: str = ""
    bad: bool = False  # a fault, or unreadable: shown in red


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sessions", help="list past sessions: chair, when, routine, user, how they ended, the "
        "trace")
    parser.add_argument("--all", action="store_true", help=f"every session, not the last "
                        f"{DEFAULT_LAST}")
    parser.add_argument("--chair", default=None, metavar="SERIAL",
                        help="only this chair's sessions (its board's serial number)")
    add_config(parser)
    parser.set_defaults(handler=sessions_command)


def sessions_command(args: argparse.Namespace) -> int:
    logs = config_of(args).logs
    chairs = every_chair(logs)
    if args.chair is not None:
        known = [files.chair for files in chairs if files.chair]
        chairs = [files for files in chairs if files.chair == folder_name(args.chair)]
        if not chairs:
            raise InputError(f"no chair {args.chair!r} in {logs.directory}",
                             f"the chairs with sessions here: {', '.join(known) or 'none'}")
    console = console_out()
    # Stable: sessions that began in the same second keep the order their chair recorded.
    rows = sorted((row for files in chairs for row in chair_rows(files)),
                  key=lambda r: (r.started is None, r.started or _EARLIEST))
    if not rows:
        console.print(f"no sessions yet (kept in {logs.directory / 'chairs'})", highlight=False)
        return 0
    shown = rows if args.all else rows[-DEFAULT_LAST:]
    table = Table("chair", "started", "routine", "user", "length", "ended", "trace", box=None)
    for row in shown:
        if row.started is None:
            table.add_row(row.chair, "?", "", "", "", row.ended, row.trace, style="red")
            continue
        table.add_row(row.chair, row.started.astimezone().strftime("%Y-%m-%d %H:%M"),
                      row.routine, row.user, clock_text(row.length_s), row.ended, row.trace,
                      style="red" if row.bad else None)
    console.print(table)
    if len(shown) < len(rows):
        console.print(f"({len(rows) - len(shown)} earlier sessions: --all shows them)",
                      style="dim", highlight=False)
    console.print(f"traces in {logs.directory / 'chairs'}/SERIAL/traces; `massagectl trace "
                  "FILE` shows one", highlight=False)
    return 0


def chair_rows(files: ChairFiles) -> list[Row]:
    """One chair's sessions: its history, then the traces the history does not name."""
    chair = files.chair or NO_SERIAL
    rows: list[Row] = []
    named: set[str] = set()
    try:
        history = read_history(files.sessions)
    except FileNotFoundError:
        history = []
    except (OSError, ValueError, KeyError, TypeError):
        history = []
        rows.append(Row(chair, None, ended="unreadable history", trace=files.sessions.name))
    for summary in history:
        if summary.trace:
            named.add(Path(summary.trace).name)
        try:
            started: datetime | None = datetime.fromisoformat(summary.started)
        except ValueError:
            started = None
        ended = summary.ended_how or "no end recorded"
        if summary.detail and summary.ended_how != "finished":
            ended += f" ({summary.detail})"
        rows.append(Row(chair, started, summary.routine, summary.user, summary.massage_s,
                        ended, Path(summary.trace).name if summary.trace else "",
                        summary.ended_how in ("fault", "error")))
    faults = read_fault_log(files.fault_log).records
    for session in past_sessions(files.traces, faults):
        if session.trace.name in named:
            continue
        if session.started is None:
            rows.append(Row(chair, None, ended="unreadable trace", trace=session.trace.name))
            continue
        ended = session.ended or "no end recorded"
        if session.ended == "stopped" and session.detail:
            ended += f" ({session.detail})"
        if session.faults and session.ended != "stopped":
            ended += f" ({', '.join(session.faults)})"
        rows.append(Row(chair, session.started, session.routine, session.user,
                        session.duration_s, ended, session.trace.name,
                        bool(session.faults) or session.ended == "fault"))
    return rows
