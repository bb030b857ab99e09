"""`massagectl sessions`: past sessions, when, which routine, whose, how they ended, the trace."""

from __future__ import annotations

import argparse

from rich.table import Table

from massagectl.controller.cli_options import add_config, config_of
from massagectl.controller.frontends.remote_menu import clock_text
from massagectl.controller.output import console_out
from massagectl.controller.session_history import past_sessions
from massagectl.safety.fault_log import read_fault_log

DEFAULT_LAST = 20


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sessions", help="list past sessions: when, routine, user, how they ended, the trace")
    parser.add_argument("--all", action="store_true", help=f"every session, not the last "
                        f"{DEFAULT_LAST}")
    add_config(parser)
    parser.set_defaults(handler=sessions_command)


def sessions_command(args: argparse.Namespace) -> int:
    logs = config_of(args).logs
    sessions = past_sessions(logs.traces, read_fault_log(logs.fault_log).records)
    console = console_out()
    if not sessions:
        console.print(f"no sessions yet (traces are kept in {logs.traces})", highlight=False)
        return 0
    shown = sessions if args.all else sessions[-DEFAULT_LAST:]
    table = Table("started", "routine", "user", "length", "ended", "trace", box=None)
    for session in shown:
        if session.started is None:
            table.add_row("?", "", "", "", "unreadable trace", session.trace.name)
            continue
        ended = session.ended or "no end recorded"
        if session.ended == "stopped" and session.detail:
            ended += f" ({session.detail})"
        if session.faults:
            ended += f" ({', '.join(session.faults)})" if session.ended != "stopped" else ""
        table.add_row(session.started.astimezone().strftime("%Y-%m-%d %H:%M"), session.routine,
                      session.user, clock_text(session.duration_s), ended, session.trace.name,
                      style="red" if session.faults or session.ended == "fault" else None)
    console.print(table)
    if len(shown) < len(sessions):
        console.print(f"({len(sessions) - len(shown)} earlier sessions: --all shows them)",
                      style="dim", highlight=False)
    console.print(f"traces in {logs.traces}; `massagectl trace FILE` shows one", highlight=False)
    return 0
