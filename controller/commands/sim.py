"""`massagectl sim`: a simulated board on a pseudo-terminal, for a host to open like a serial port.

The first line of output is the port path (e.g. /dev/pts/7), so a script can read it and start
a controller on it. The board runs until interrupted (Ctrl-C or SIGTERM); `--trace FILE` saves
what it saw and did (sim.trace) on the way out.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from massagectl.routines.device import DeviceProfile, load_device
from massagectl.sim.faults import FIRMWARE_BUGS, FaultKind
from massagectl.sim.pty_runner import DEFAULT_BAUD, PtyBoard

EXIT_OK = 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sim", help="run a simulated board on a pseudo-terminal; prints the port path first"
    )
    parser.add_argument("--device", default="chair", metavar="chair|pad|PATH",
                        help="device profile: a built-in name or a file (default: chair)")
    parser.add_argument("--baud", type=int, default=DEFAULT_BAUD,
                        help=f"line speed the board paces its bytes at (default: {DEFAULT_BAUD})")
    parser.add_argument("--seed", type=int, default=0, help="sensor noise seed (default: 0)")
    parser.add_argument("--serial", default="1", metavar="VALUE",
                        help="the board's serial number is SIM-<device>-VALUE, so several "
                        "simulated chairs can differ (default: 1)")
    parser.add_argument("--board-fault", action="append", default=[], metavar="BUG",
                        choices=sorted(kind.value for kind in FIRMWARE_BUGS),
                        help="switch on a firmware bug, to see `massagectl conformance` catch "
                        "it (repeatable): %(choices)s")
    parser.add_argument("--trace", type=Path, default=None, metavar="FILE",
                        help="save the board's trace (.npz) when it stops")
    parser.set_defaults(handler=run_sim)


def run_sim(args: argparse.Namespace) -> int:
    profile = load_device(args.device)  # a bad name or file fails here, before any port exists
    try:
        asyncio.run(_serve(profile, args))
    except KeyboardInterrupt:
        pass  # Ctrl-C is how this command ends
    return EXIT_OK


async def _serve(profile: DeviceProfile, args: argparse.Namespace) -> None:
    terminated = asyncio.Event()
    # A service manager stops it with SIGTERM: end as cleanly as on Ctrl-C.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, terminated.set)
    # Without --trace nobody reads the board's trace: it keeps only its newest records and no
    # per-sample rows, so a board left running for days does not grow.
    keep_all = args.trace is not None
    async with PtyBoard(profile, baud=args.baud, seed=args.seed, serial=args.serial,
                        trace_samples=keep_all, bounded_trace=not keep_all) as pty_board:
        board = pty_board.board
        assert board is not None, "PtyBoard makes its board on entry"
        for bug in args.board_fault:
            board.inject_fault(FaultKind(bug), now_s=asyncio.get_running_loop().time())
        print(pty_board.port_path, flush=True)
        print(f"simulated {profile.name} (serial number {board.serial_number}) at "
              f"{args.baud} baud; Ctrl-C to stop", file=sys.stderr)
        try:
            await terminated.wait()
        finally:
            if args.trace is not None:
                path = board.trace.save(args.trace)
                print(f"trace saved to {path}", file=sys.stderr)
