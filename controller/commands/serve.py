"""`massagectl serve`: the resident chair service, run until stopped."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from massagectl.controller.cli_options import add_service_options, service_options_of
from massagectl.controller.service.logs import LEVELS, set_up_logging

if TYPE_CHECKING:
    from massagectl.controller.service.core import ServiceOptions

log = logging.getLogger(__name__)

SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve", help="run the chair service: the remote, the control socket, sessions",
        description="Run the resident chair service until SIGTERM or Ctrl-C: it connects to "
        "the chair (the built-in simulator when no port is configured), keeps reconnecting, "
        "runs the handheld remote's menu, listens on a local control socket for "
        "`massagectl status/start/stop`, and runs the MQTT bridge when the config says "
        "`[mqtt] enabled = true`. A running session stops safely before it exits.",
    )
    parser.add_argument("--port", default=None, metavar="URL",
                        help="serial port or pyserial URL of the chair, or `sim` (default: "
                        "the config's, else the built-in simulator)")
    parser.add_argument("--chair", default=None, metavar="ID",
                        help="name of this chair's control socket, for several services on "
                        "one machine (default: chair)")
    parser.add_argument("--log-level", choices=LEVELS, default="info")
    add_service_options(parser)
    parser.set_defaults(handler=serve_command)


def serve_command(args: argparse.Namespace) -> int:
    from massagectl.controller.frontends.control_socket import socket_path

    set_up_logging(args.log_level)
    options = service_options_of(args, args.port)
    if args.chair is not None:  # several simulated chairs on one machine: tell them apart
        options = replace(options, simulator_serial=args.chair)
    return asyncio.run(serve(options, socket_path(args.chair)))


async def serve(options: ServiceOptions, control: Path) -> int:
    # Imported here, not at the top: every command's module loads for `massagectl --help` and
    # for `run`, which need none of the service, its front-ends or MQTT.
    from massagectl.controller.frontends.control_socket import ControlSocket
    from massagectl.controller.frontends.handheld import HandheldRemote
    from massagectl.controller.service.core import ChairService
    from massagectl.controller.service.operations import Extension, Origin
    from massagectl.mqtt_bridge.bridge import MqttBridge, bridge_settings

    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    service = ChairService(options)

    def on_signal(name: str) -> None:
        # The stop goes through the one stop path at once; the service then winds down.
        log.info("%s received: stopping", name)
        service.stop(Origin.TERMINAL, f"{name} received")
        done.set()

    for number in SIGNALS:
        loop.add_signal_handler(number, on_signal, signal.Signals(number).name)
    extensions: list[Extension] = [HandheldRemote(), ControlSocket(control)]
    if options.config.mqtt.enabled:
        extensions.append(MqttBridge(
            bridge_settings(options.config.mqtt, service_name=control.stem,
                            state_folder=options.config.logs.directory), service.device,
            readings=lambda: service.chair.readings if service.chair is not None else {}))
    try:
        await service.open(extensions)
        log.info("serving %s; control socket %s", service.port or "the built-in simulator",
                 control)
        await done.wait()
    finally:
        await service.close()
        for number in SIGNALS:
            loop.remove_signal_handler(number)
    log.info("stopped; the chair is safe")
    return 0
