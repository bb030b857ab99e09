"""`massagectl run`: run a routine on the chair, or on the built-in simulator."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

from massagectl.controller.app import RunOptions, RunResult, run_routine
from massagectl.controller.cli_options import (
    add_config,
    add_routine_argument,
    config_of,
    speed,
)
from massagectl.controller.frontends.terminal import output_may_be_gone
from massagectl.controller.output import console_out
from massagectl.routines.errors import RefusedError
from massagectl.routines.user import UserProfile

EXIT_FINISHED = 0
EXIT_FAULT = 1
EXIT_STOPPED = 3  # stopped before the end by a person or the session timer; no fault


def seated_shoulder_mm(text: str) -> float:
    """A person's seated shoulder height, within what a user profile accepts."""
    field = UserProfile.model_fields["shoulder_height_mm"]
    low, high = (next(m.ge for m in field.metadata if hasattr(m, "ge")),
                 next(m.le for m in field.metadata if hasattr(m, "le")))
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of millimetres") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{value:g} mm is not a seated shoulder height "
                                         f"({low:g}-{high:g} mm)")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run", help="run a routine (on the built-in simulator unless --port is given)",
        description="Run a routine. Exit code: 0 finished, 3 stopped early (a person or the "
        "timer), 1 a fault or an error. Keys while running: q stop, p pause/resume, "
        "+/- intensity, h heat; Ctrl-C stops safely.",
    )
    add_routine_argument(parser, "a built-in name or a routine file")
    parser.add_argument("--port", default=None, metavar="URL",
                        help="serial port or pyserial URL of the chair, or `sim` for the "
                        "built-in simulator (default: the config's, else the simulator)")
    parser.add_argument("--device", default=None, metavar="chair|pad|PATH",
                        help="device profile (default: the config's, else chair)")
    parser.add_argument("--user", default=None, metavar="PATH", help="user profile file")
    parser.add_argument("--intensity", type=int, choices=range(1, 6), default=None,
                        help="starting intensity 1-5 (default: the routine's, else the user's)")
    parser.add_argument("--speed", type=speed, default=1.0, metavar="N|max",
                        help="simulator only: run N times faster than real time, or 'max'")
    parser.add_argument("--no-scan", dest="body_scan", action="store_false", default=None,
                        help="skip the body scan; use the user profile's shoulder height")
    parser.add_argument("--sim-shoulder-mm", type=seated_shoulder_mm, default=None,
                        metavar="MM", help="simulator only: the simulated occupant's shoulder "
                        "height above the seat, 400-800 (default: the user profile's)")
    parser.add_argument("--quiet", action="store_true", help="no live status, only the summary")
    add_config(parser)
    parser.set_defaults(handler=run_command)


def run_command(args: argparse.Namespace) -> int:
    console = Console(stderr=True)
    options = RunOptions(
        routine=args.routine, config=config_of(args), port=args.port, device=args.device,
        user=args.user, intensity=args.intensity, speed=args.speed, body_scan=args.body_scan,
        sim_shoulder_mm=args.sim_shoulder_mm, show_status=not args.quiet,
    )
    try:
        result = run_routine(options, console)
    except RefusedError as error:
        print(f"massagectl run: {args.routine} refused by the safety layer:", file=sys.stderr)
        for violation in error.violations:
            print(f"  {violation}", file=sys.stderr)
        # Intensity + on the remote may take a session up to level 5 at any time, so the plan
        # is checked there whatever level it starts at.
        print("  (values as at intensity 5: + can reach it during any session)",
              file=sys.stderr)
        return EXIT_FAULT
    # A closed terminal (SIGHUP) stopped the session safely; what would be printed cannot
    # reach it, and must not turn the exit status of that safe stop into a crash's.
    outcome = result.outcome
    with output_may_be_gone():
        _report(result)
    if outcome.ended in ("fault", "error"):
        return EXIT_FAULT
    return EXIT_FINISHED if outcome.ended == "finished" else EXIT_STOPPED


def _report(result: RunResult) -> None:
    outcome = result.outcome
    out = console_out()
    # Each event is said once: a fault in its own line, not again in the summary line nor as
    # a closing error (the exit status tells a script it ended in a fault).
    detail = f" ({outcome.detail})" if outcome.ended in ("finished", "stopped", "error") else ""
    out.print(f"{outcome.routine}: {outcome.ended} after {outcome.massage_s / 60:.1f} min "
              f"on {result.port}{detail}", highlight=False)
    if outcome.scan is not None:
        out.print(f"body scan: shoulder line {outcome.scan.shoulder_height_mm:.0f} mm above "
                  "the seat", highlight=False)
    for note in outcome.notes:
        out.print(f"note: {note}", highlight=False)
    for fault in outcome.faults:
        out.print(f"fault: {fault}", style="bold red", highlight=False)
    if result.trace is not None:
        out.print(f"trace: {result.trace}  (massagectl trace {result.trace})", highlight=False)
    out.print(f"fault log: {result.fault_log}", highlight=False)
