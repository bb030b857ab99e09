"""`massagectl remote`: the handheld remote in the terminal, on the built-in simulator."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path

from rich.console import Console

from massagectl.controller.cli_options import add_config, config_of
from massagectl.controller.frontends.handheld import HandheldRemote
from massagectl.controller.frontends.virtual_remote import VirtualRemote
from massagectl.controller.service.core import ChairService, ServiceOptions
from massagectl.controller.service.logs import set_up_logging


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "remote", help="the handheld remote in the terminal, driving the built-in simulator",
        description="Draw the chair's handheld remote (its display and keys) in the terminal "
        "and run the chair service on the built-in simulator behind it, so the whole product "
        "can be used from a keyboard. q or Ctrl-C stops a running session safely and quits.",
    )
    parser.add_argument("--device", default=None, metavar="chair|pad|PATH",
                        help="device profile (default: the config's)")
    parser.add_argument("--no-scan", dest="body_scan", action="store_false", default=None,
                        help="skip the body scan before each session")
    parser.add_argument("--routines", type=Path, default=None, metavar="DIR",
                        help="the owner's routine folder (default: routines/ in the log folder)")
    parser.add_argument("--users", type=Path, default=None, metavar="DIR",
                        help="the owner's user profiles (default: users/ in the log folder)")
    add_config(parser)
    parser.set_defaults(handler=remote_command)


def remote_command(args: argparse.Namespace) -> int:
    set_up_logging("error")  # the drawing owns the terminal; only errors interrupt it
    from massagectl.routines.device import load_device

    options = ServiceOptions(
        config=config_of(args), port="sim", body_scan=args.body_scan,
        device=load_device(args.device) if args.device else None,
        routine_folder=args.routines, user_folder=args.users,
    )
    return asyncio.run(run_remote(options, Console()))


async def run_remote(options: ServiceOptions, console: Console) -> int:
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
