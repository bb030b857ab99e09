"""`massagectl faults`: the fault log, readable; and clearing a latched fault.

With `--clear --port PORT` it also clears the fault the board itself holds latched (ClearFault,
then Reset: hardware.md section 5): a board keeps a fault shutdown through Reset and power
cycles, so clearing the host's record alone would leave the chair refusing to start.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from rich.console import Console
from rich.table import Table

from massagectl.controller.cli_options import add_config, config_of
from massagectl.firmware_bridge.link import Link
from massagectl.routines.device import load_device
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
    parser.add_argument("--port", default=None, metavar="URL",
                        help="with --clear: also clear the fault latched on the board at this "
                        "port")
    parser.add_argument("--device", default=None, metavar="chair|pad|PATH",
                        help="profile the board must match (default: the config's, else chair)")
    add_config(parser)
    parser.set_defaults(handler=faults_command)


def faults_command(args: argparse.Namespace) -> int:
    if args.port is not None and not args.clear:
        raise InputError("--port is for --clear: it clears the fault latched on that board",
                         "add --clear after checking the chair")
    config = config_of(args)
    path = args.log if args.log is not None else config.logs.fault_log
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
    if args.clear and args.port is not None:
        device = load_device(args.device or config.device.profile)
        console.print(asyncio.run(clear_board_fault(args.port, device, config.device.baud)),
                      highlight=False)
    return 0


async def clear_board_fault(port: str, device, baud: int) -> str:
    """Clear the board's latched fault, if it holds one; what happened, in one line."""
    link = await Link.open(port, device, baud=baud)
    try:
        serial = link.identity.serial_number or "without a serial number"
        cause = await link.clear_board_fault()
    finally:
        await link.close()
    if cause is None:
        return f"board {serial} on {port}: no latched fault"
    return (f"board {serial} on {port}: cleared its latched fault ({cause.name.lower()}); "
            "it is READY with every output safe")
