"""`massagectl remote`: the handheld remote in the terminal, on the built-in simulator."""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import TYPE_CHECKING

from rich.console import Console

from massagectl.controller.cli_options import add_service_options, service_options_of
from massagectl.controller.service.logs import set_up_logging

if TYPE_CHECKING:
    from massagectl.controller.service.core import ServiceOptions


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "remote", help="the handheld remote in the terminal, driving the built-in simulator",
        description="Draw the chair's handheld remote (its display and keys) in the terminal "
        "and run the chair service on the built-in simulator behind it, so the whole product "
        "can be used from a keyboard. q or Ctrl-C stops a running session safely and quits.",
    )
    add_service_options(parser)
    parser.set_defaults(handler=remote_command)


def remote_command(args: argparse.Namespace) -> int:
    set_up_logging("error")  # the drawing owns the terminal; only errors interrupt it
    options = service_options_of(args, "sim")
    return asyncio.run(run_remote(options, Console()))


async def run_remote(options: ServiceOptions, console: Console) -> int:
    # Imported here, not at the top: every command's module loads for `massagectl --help` and
    # for `run`, which need none of the service or its front-ends.
    from massagectl.controller.frontends.handheld import HandheldRemote
    from massagectl.controller.frontends.virtual_remote import VirtualRemote
    from massagectl.controller.service.core import ChairService

    loop = asyncio.get_running_loop()
    service = ChairService(options)
    await service.open([HandheldRemote()])
    try:
        async with VirtualRemote(service, console) as remote:
            for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.add_signal_handler(number, remote.done.set)
            await remote.done.wait()
    finally:
        for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(number)
        await service.close()  # a running session stops through the stop path first
    return 0
