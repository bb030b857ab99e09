"""`massagectl conformance`: check a board against the duties hardware.md gives it.

One line per check, with the section of hardware.md it comes from and pass or FAIL (n/a where a
duty cannot be shown from the line and needs a hand on the board, section 7). Exit 0 only when
every check passes. It moves the chair's outputs: run it with nobody in the chair.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING

from rich.console import Console

from massagectl.controller.cli_options import add_board_device, add_config, config_of
from massagectl.routines.device import load_device

if TYPE_CHECKING:
    from massagectl.firmware_bridge.conformance import CheckResult

EXIT_ALL_PASSED = 0
EXIT_SOME_FAILED = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "conformance", help="check a board against hardware.md: one line per duty, pass or FAIL")
    parser.add_argument("--port", required=True, metavar="URL",
                        help="port or pyserial URL of the board (nobody in the chair)")
    add_board_device(parser)
    add_config(parser)
    parser.set_defaults(handler=conformance_command)


def conformance_command(args: argparse.Namespace) -> int:
    config = config_of(args)
    device = load_device(args.device or config.device.profile)
    console = Console(soft_wrap=True, highlight=False)
    results = asyncio.run(_check(args.port, device, config.device.baud, console))
    failed = [r for r in results if r.passed is False]
    passed = sum(r.passed is True for r in results)
    if failed:
        console.print(f"{len(failed)} of {len(results)} checks FAILED ("
                      + ", ".join(f"section {s}" for s in sorted({r.section for r in failed}))
                      + "): the board does not meet hardware.md yet", style="bold red")
        return EXIT_SOME_FAILED
    console.print(f"all {passed} checks passed"
                  + (f" ({len(results) - passed} n/a)" if passed < len(results) else ""))
    return EXIT_ALL_PASSED


async def _check(port: str, device, baud: int, console: Console) -> list[CheckResult]:
    # Imported here, not at the top: every command's module loads for `massagectl --help` and
    # for `run`, which need none of the conformance checks.
    from massagectl.firmware_bridge.conformance import check_board
    from massagectl.firmware_bridge.serial_transport import SerialTransport

    transport = SerialTransport.open(port, baud=baud)
    try:
        def show(result: CheckResult) -> None:
            style = {True: None, False: "bold red", None: "yellow"}[result.passed]
            console.print(result.line(), style=style)

        return await check_board(transport, device, report=show)
    finally:
        await transport.close()
