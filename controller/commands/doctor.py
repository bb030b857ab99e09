"""`massagectl doctor`: find serial ports, open one, and report what the board says about itself.

With --port (or a port in the config) it runs the handshake, listens for a few seconds, and
prints the board's identity, its clock as the host sees it, the round-trip time and the link
counters. Without one it lists the serial ports it can see. It runs nothing on the board: the
handshake leaves it in its safe state and closing the port keeps it there.
"""

from __future__ import annotations

import argparse
import asyncio

from rich.console import Console
from rich.table import Table
from serial.tools import list_ports

from massagectl.controller.cli_options import add_board_device, add_config, config_of
from massagectl.controller.output import console_out
from massagectl.firmware_bridge.link import Link
from massagectl.routines.device import DeviceProfile, load_device
from massagectl.routines.errors import HandshakeError

LISTEN_S = 3.0  # six clock samples (two a second): enough for a clock fit and a round trip


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "doctor", help="list serial ports, or check one: handshake, clock, round trip, counters")
    parser.add_argument("--port", default=None, metavar="URL",
                        help="port or pyserial URL to check (default: the config's)")
    add_board_device(parser)
    add_config(parser)
    parser.set_defaults(handler=doctor_command)


def doctor_command(args: argparse.Namespace) -> int:
    config = config_of(args)
    console = console_out()
    port = args.port or config.device.port
    if port is None:
        return list_serial_ports(console)
    device = load_device(args.device or config.device.profile)
    asyncio.run(check_port(console, port, device, config.device.baud))
    return 0


def list_serial_ports(console: Console) -> int:
    ports = sorted(list_ports.comports(), key=lambda p: p.device)
    if not ports:
        console.print("no serial ports found. Check the USB cable and `dmesg`; for a simulated "
                      "board run `massagectl sim` and pass the path it prints to --port.")
        return 1
    table = Table("port", "description", "hardware id", box=None)
    for port in ports:
        table.add_row(port.device, port.description or "", port.hwid or "")
    console.print(table)
    console.print("check one with: massagectl doctor --port PORT")
    return 0


async def check_port(console: Console, port: str, device: DeviceProfile, baud: int) -> None:
    link = await Link.open(port, device, baud=baud)
    try:
        await asyncio.sleep(LISTEN_S)
        identity = link.identity
        if identity is None:  # Link.open returns after the handshake: only a bug gets here
            raise HandshakeError(f"{port}: the board did not identify itself")
        info = identity.info
        console.print(f"{port}: protocol {info.protocol_version}, firmware "
                      f"{info.firmware_version!r}, serial number {info.serial_number!r}, clock "
                      f"{info.clock_hz} Hz, queue {info.queue_capacity} segments, display "
                      f"{info.display_rows} x {info.display_cols}; matches profile "
                      f"{device.name!r}", highlight=False)
        if link.board_fault is not None:
            console.print(f"the board holds a latched fault ({link.board_fault.name.lower()}): "
                          "it refuses to start until a person checks the chair and runs "
                          "`massagectl faults --clear --port PORT`", style="bold red",
                          highlight=False)
        clock = link.clock
        drift_ppm = (clock.rate_hz / info.clock_hz - 1) * 1e6
        console.print(f"clock: {drift_ppm:+.1f} ppm against the host, estimate within "
                      f"{clock.error_s * 1e3:.2f} ms", highlight=False)
        status = link.initial_status
        if status is not None:
            console.print(f"state before the handshake: {status.state.name}, last stop cause "
                          f"{status.stop_cause.name}, late segments {status.late_segments}",
                          highlight=False)
        channels = Table("#", "channel", "kind", "zone", "range", box=None)
        for channel in identity.channels:
            profile_channel = device.channels[channel.index]
            channels.add_row(str(channel.index), profile_channel.id, channel.kind.value,
                             channel.zone.value if channel.zone else "-",
                             f"{channel.min:g}..{channel.max:g} {profile_channel.unit.value}")
        console.print(channels)
        counters = link.counters
        rtt = "-" if counters.rtt_s is None else f"{counters.rtt_s * 1e3:.2f} ms"
        console.print(f"round trip {rtt}; heartbeats {counters.heartbeats_answered}/"
                      f"{counters.heartbeats_sent} answered; retransmits {counters.retransmits}, "
                      f"naks {counters.naks}, bad frames {counters.bad_frames}, bytes in/out "
                      f"{counters.bytes_in}/{counters.bytes_out}", highlight=False)
    finally:
        await link.close()
