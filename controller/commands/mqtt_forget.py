"""`massagectl mqtt-forget`: remove a chair from Home Assistant and the MQTT broker."""

from __future__ import annotations

import argparse
import asyncio

from rich.console import Console

from massagectl.controller.cli_options import add_config, config_of
from massagectl.routines.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "mqtt-forget", help="remove a chair from Home Assistant and the MQTT broker",
        description="Clear every retained MQTT message of one chair: its Home Assistant "
        "discovery (both forms) and its state, availability and routine topics. Home "
        "Assistant then removes the device and its entities. Stop the chair's service first "
        "(or set [mqtt] enabled = false), or it announces the chair again.")
    parser.add_argument("--chair-id", default=None, metavar="ID",
                        help="the chair's id in its topics, massagectl/ID/... (default: the "
                        "config's [mqtt] node_id)")
    add_config(parser)
    parser.set_defaults(handler=mqtt_forget_command)


def mqtt_forget_command(args: argparse.Namespace) -> int:
    # Imported here, not at the top: every command's module loads for `massagectl --help` and
    # for `run`, which need no MQTT client.
    from massagectl.mqtt_bridge.bridge import bridge_settings
    from massagectl.mqtt_bridge.removal import forget_chair

    config = config_of(args)
    chair_id = args.chair_id or config.mqtt.node_id
    if chair_id is None:
        raise InputError("which chair? the config sets no [mqtt] node_id",
                         "give --chair-id ID, the ID in the chair's topics massagectl/ID/state")
    cleared = asyncio.run(forget_chair(bridge_settings(config.mqtt), chair_id))
    console = Console()
    if not cleared:
        console.print(f"nothing retained for chair {chair_id!r} on {config.mqtt.host}:"
                      f"{config.mqtt.port}; check --chair-id and the broker settings")
        return 1
    console.print(f"cleared {len(cleared)} retained topics of chair {chair_id!r}; Home "
                  "Assistant has removed it")
    return 0
