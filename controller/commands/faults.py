"""`massagectl faults`: the fault log, readable; and clearing a latched fault."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from massagectl.controller.cli_options import add_config, config_of
from massagectl.routines.errors import InputError
from massagectl.safety.fault_log import FaultLog, read_fault_log
from massagectl.safety.faults import FaultLatch

DEFAULT_LAST = 20  # the latest few tell what happened; --all shows everything


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "faults", help="show the fault log; --clear clears a latched fault after a check")
    parser.add_argument("log", type=Path, nargs="?", default=None, metavar="LOG",
                        help="fault log file (default: the config's, "
                        "~/.local/state/massagectl/faults.jsonl)")
    parser.add_argument("--all", action="store_true", help="every record, not the last 20")
    parser.add_argument("--clear", action="store_true",
                        help="clear the latched faults (after checking the chair)")
    add_config(parser)
    parser.set_defaults(handler=faults_command)


def faults_command(args: argparse.Namespace) -> int:
    path = args.log if args.log is not None else config_of(args).logs.fault_log
    # The config's log not existing yet is normal (no fault so far); a log named on the command
    # line that is not there is a typo or the wrong machine, and "no records" would mislead.
    if args.log is not None and not path.exists():
        raise InputError(f"no fault log at {path}",
                         "check the path, or leave LOG out for the config's log")
    console = Console(soft_wrap=True)
    reading = read_fault_log(path)
    records = reading.records if args.all else reading.records[-DEFAULT_LAST:]
    if not reading.records:
        console.print(f"{path}: no records", highlight=False)
    else:
        table = Table("time", "event", "source", "cause", "action / outcome", box=None)
        for record in records:
            style = "bold red" if record.latched else None
            action = " / ".join(part for part in (record.action, record.outcome) if part)
            table.add_row(record.time[:19].replace("T", " "), record.event, record.source,
                          record.cause, action, style=style)
        console.print(table)
    if reading.corrupted_lines:
        console.print(f"{reading.corrupted_lines} unreadable line(s) skipped", style="yellow")
    log = FaultLog(path)
    latch = FaultLatch.restored(log, reading)
    if args.clear and latch.latched:
        cleared = latch.clear("terminal")
        console.print(f"cleared {len(cleared)} latched fault(s); a new session may start",
                      highlight=False)
    elif latch.latched:
        console.print(f"latched: {len(latch.faults)} fault(s) block new sessions; check the "
                      "chair, then run `massagectl faults --clear`", style="bold red",
                      highlight=False)
    else:
        console.print("no latched fault", highlight=False)
    return 0
