"""`massagectl faults`: the fault log, readable; every chair's safety record (latched faults,
heat and cold carried; safety.chair_record); and clearing a latched fault.

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

from massagectl.controller.cli_options import add_board_device, add_config, config_of
from massagectl.controller.fault_report import fault_entries
from massagectl.controller.output import console_out
from massagectl.firmware_bridge.link import Link
from massagectl.routines.device import DeviceProfile, load_device
from massagectl.routines.errors import InputError
from massagectl.safety import chair_record
from massagectl.safety.chair_record import ChairRecord, ZoneUse, all_records
from massagectl.safety.fault_log import FaultLog, read_fault_log
from massagectl.safety.faults import FaultLatch

DEFAULT_LAST = 20  # the latest few events tell what happened; --all shows everything
DETAIL_INDENT = 4


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "faults", help="show the fault log; --clear clears a latched fault after a check")
    parser.add_argument("log", type=Path, nargs="?", default=None, metavar="LOG",
                        help="fault log file (default: the config's, "
                        "~/.local/state/massagectl/faults.jsonl)")
    parser.add_argument("--all", action="store_true", help="every event, not the last 20")
    parser.add_argument("--clear", action="store_true",
                        help="clear the latched faults (after checking the chair)")
    parser.add_argument("--port", default=None, metavar="URL",
                        help="with --clear: also clear the fault latched on the board at this "
                        "port")
    parser.add_argument("--chair", default=None, metavar="SERIAL",
                        help="with --clear: the chair (board serial number) whose safety "
                        "record to clear (default: the board at --port, or the one chair with "
                        "a latched fault)")
    add_board_device(parser)
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
    console = console_out()
    reading = read_fault_log(path)
    entries = fault_entries(reading.records)
    shown = entries if args.all else entries[-DEFAULT_LAST:]
    if not reading.records:
        console.print(f"{path}: no records", highlight=False)
    for entry in shown:
        console.print(entry.headline(), style="bold red" if entry.latched else "bold",
                      highlight=False)
        if not console.is_terminal:  # a file or a pipe: whole lines, for grep
            for line in entry.details():
                console.print(" " * DETAIL_INDENT + line, highlight=False)
            continue
        # Indented by a grid column, so a detail wrapped at the terminal's edge stays indented.
        details = Table.grid()
        details.add_column(width=DETAIL_INDENT)
        details.add_column(overflow="fold")
        for line in entry.details():
            details.add_row("", line)
        console.print(details, highlight=False, soft_wrap=False)
    if len(shown) < len(entries):
        console.print(f"({len(entries) - len(shown)} earlier events: --all shows them)",
                      style="dim", highlight=False)
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
    chair = args.chair
    if args.clear and args.port is not None:
        device = load_device(args.device or config.device.profile)
        serial, said = asyncio.run(clear_board_fault(args.port, device, config.device.baud))
        console.print(said, highlight=False)
        chair = chair or serial or None
    show_chairs(console, clear=args.clear, chair=chair)
    return 0


def show_chairs(console: Console, *, clear: bool, chair: str | None) -> None:
    """Every chair's safety record on this computer (safety.chair_record); with `clear`, clear
    the named chair's latched faults (or the one chair that has any)."""
    records = all_records()
    now_s = chair_record.wall_clock()
    if records:
        table = Table("chair", "latched", "heat and cold carried", box=None)
        for record in records:
            carried = [_carried(channel, record.carried(channel, now_s))
                       for channel in sorted(record.zones)]
            table.add_row(record.serial, ", ".join(f["cause"] for f in record.latched) or "-",
                          "; ".join(c for c in carried if c) or "-",
                          style="bold red" if record.is_latched else None)
        console.print(table)
    if not clear:
        return
    if chair is None:
        latched = [r.serial for r in records if r.is_latched]
        if len(latched) > 1:
            raise InputError(f"{len(latched)} chairs have latched faults: {', '.join(latched)}",
                             "name the one you checked with --chair SERIAL")
        if not latched:
            return
        chair = latched[0]
    record = ChairRecord.load(chair)
    cleared = record.clear()
    if cleared:
        record.save()
    console.print(f"chair {record.serial}: cleared {len(cleared)} latched fault(s)",
                  highlight=False)


def _carried(channel: str, use: ZoneUse | None) -> str:
    if use is None or (use.on_s <= 0.0 and use.dose <= 0.0):
        return ""
    dose = f", dose {use.dose:.1%} of a burn" if use.kind == "heat" else ""
    return f"{channel}: {use.on_s / 60:.1f} min {use.kind}{dose}"


async def clear_board_fault(port: str, device: DeviceProfile,
                            baud: int) -> tuple[str, str]:
    """Clear the board's latched fault, if it holds one: its serial number, and what happened
    in one line."""
    link = await Link.open(port, device, baud=baud)
    try:
        identity = link.identity
        serial = identity.serial_number if identity is not None else ""
        cause = await link.clear_board_fault()
    finally:
        await link.close()
    name = serial or "without a serial number"
    if cause is None:
        return serial, f"board {name} on {port}: no latched fault"
    return serial, (f"board {name} on {port}: cleared its latched fault "
                    f"({cause.name.lower()}); it is READY with every output safe")
