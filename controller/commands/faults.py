"""`massagectl faults`: every chair's fault log, readable (its folder, shared by `run` and the
service: controller.service.chair_files); every chair's safety record (latched faults, heat and
cold carried; safety.chair_record); and clearing a latched fault, for one chair at a time.

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
from massagectl.controller.config import LogSettings
from massagectl.controller.fault_report import fault_entries
from massagectl.controller.output import console_out
from massagectl.controller.service.chair_files import ChairFiles, every_chair
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
                        help="one fault log file (default: every chair's, "
                        "~/.local/state/massagectl/chairs/SERIAL/faults.jsonl)")
    parser.add_argument("--all", action="store_true", help="every event, not the last 20")
    parser.add_argument("--clear", action="store_true",
                        help="clear the latched faults (after checking the chair)")
    parser.add_argument("--port", default=None, metavar="URL",
                        help="with --clear: also clear the fault latched on the board at this "
                        "port")
    parser.add_argument("--chair", default=None, metavar="SERIAL",
                        help="with --clear: the chair (board serial number) whose latched "
                        "faults to clear (default: the board at --port, or the one chair with "
                        "a latched fault)")
    add_board_device(parser)
    add_config(parser)
    parser.set_defaults(handler=faults_command)


def faults_command(args: argparse.Namespace) -> int:
    if args.port is not None and not args.clear:
        raise InputError("--port is for --clear: it clears the fault latched on that board",
                         "add --clear after checking the chair")
    config = config_of(args)
    console = console_out()
    if args.log is not None:
        # The config's log not existing yet is normal (no fault so far); a log named on the
        # command line that is not there is a typo or the wrong machine, and "no records" would
        # mislead.
        if not args.log.exists():
            raise InputError(f"no fault log at {args.log}",
                             "check the path, or leave LOG out for every chair's log")
        latch = show_log(console, args.log, every=args.all)
        if args.clear and latch.latched:
            cleared = latch.clear("terminal")
            console.print(f"cleared {len(cleared)} latched fault(s); a new session may start",
                          highlight=False)
        show_chairs(console)
        return 0
    chairs = every_chair(config.logs) or [ChairFiles.of(config.logs, "")]
    latched = {files.chair: show_log(console, files.fault_log, every=args.all, chair=files.chair)
               for files in chairs}
    chair = args.chair
    if args.clear and chair is None and args.port is None:
        chair = _chair_to_clear(latched)  # refuses before anything is cleared
    if args.clear and args.port is not None:
        device = load_device(args.device or config.device.profile)
        serial, said = asyncio.run(clear_board_fault(args.port, device, config.device.baud))
        console.print(said, highlight=False)
        chair = chair or serial or None
    if args.clear:
        clear_chair(console, config.logs, chair or "")
    show_chairs(console)
    return 0


def show_log(console: Console, path: Path, *, every: bool, chair: str | None = None
             ) -> FaultLatch:
    """Print one fault log's events (the latest few unless `every`) and what it holds
    latched; returns its latch."""
    if chair is not None:
        console.print(f"chair {chair or '(no serial number)'}: {path}", style="bold",
                      highlight=False)
    reading = read_fault_log(path)
    entries = fault_entries(reading.records)
    shown = entries if every else entries[-DEFAULT_LAST:]
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
    latch = FaultLatch.restored(FaultLog(path), reading)
    if latch.latched:
        console.print(f"latched: {len(latch.faults)} fault(s) block new sessions; check the "
                      "chair, then run `massagectl faults --clear`", style="bold red",
                      highlight=False)
    else:
        console.print("no latched fault", highlight=False)
    return latch


def _chair_to_clear(logs: dict[str, FaultLatch]) -> str | None:
    """The one chair (by serial number) with a latched fault in its folder or its safety
    record; more than one is refused, so a clear is always for the chair a person checked."""
    latched = [chair for chair, latch in logs.items() if chair and latch.latched]
    latched += [r.serial for r in all_records() if r.is_latched and r.serial not in latched]
    if len(latched) > 1:
        raise InputError(f"{len(latched)} chairs have latched faults: {', '.join(latched)}",
                         "name the one you checked with --chair SERIAL")
    return latched[0] if latched else None


def clear_chair(console: Console, logs: LogSettings, chair: str) -> None:
    """Clear what `chair` holds latched: in its folder (what `run` and the service read), in
    the top-level log earlier versions kept for every chair, and in its safety record."""
    files = ChairFiles.of(logs, chair)
    log = FaultLog(files.fault_log)
    latch = FaultLatch.restored(log, read_fault_log(files.fault_log))
    cleared = [*(latch.clear("terminal") if latch.latched else []),
               *files.clear_old("terminal")]
    record_cleared: list[dict[str, str]] = []
    if chair:
        record = ChairRecord.load(chair)
        record_cleared = record.clear()
        if record_cleared:
            record.save()
    name = chair or "without a serial number"
    if cleared or record_cleared:
        console.print(f"chair {name}: cleared {len(cleared) + len(record_cleared)} latched "
                      "fault(s); a new session may start", highlight=False)
    else:
        console.print(f"chair {name}: nothing latched to clear", highlight=False)


def show_chairs(console: Console) -> None:
    """Every chair's safety record on this computer (safety.chair_record)."""
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
