"""The controller in a process of its own: sessions back to back on one chair, each ended by a stop.

    python -m benchmarks.controller_process PORT ROUTINE --control-fd FD --fault-log FILE

One chair over the real serial path (pyserial on the pty of benchmarks.board_process), and
for each session the inputs exactly as `massagectl run` wires them (controller.app): the stop
signals (StopSignals), the terminal's keys (TerminalKeys on this process's stdin, a pty), and
the remote's keys (RemoteControl). A session starts when a line `go` arrives on the control
fd, and runs until something stops it; then one JSON line with how it ended and the stop
path's own times (time.monotonic(): the loop's clock on a real loop). A latched fault, the
host's and the board's, is cleared between sessions, as a person would after checking the
chair. `quit` (or end of input) ends the process. Running many sessions in one process keeps
process start-up out of the figures and lets a full run take hundreds of stops in minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time

from rich.console import Console

from massagectl.controller.app import RemoteControl
from massagectl.controller.frontends.keys import press_key
from massagectl.controller.frontends.status import StatusDisplay
from massagectl.controller.frontends.terminal import StopSignals, TerminalKeys
from massagectl.controller.service.chair import Chair
from massagectl.controller.service.connection import connect
from massagectl.controller.session.session import Session, SessionOutcome
from massagectl.routines.device import load_device
from massagectl.routines.errors import MassageError
from massagectl.routines.library import resolve_routine
from massagectl.routines.routine import Routine
from massagectl.routines.user import DEFAULT_USER
from massagectl.safety.fault_log import FaultLog
from massagectl.safety.stop_path import StopSource


async def control_lines(fd: int) -> asyncio.Queue[str]:
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str] = asyncio.Queue()
    buffer = bytearray()

    def readable() -> None:
        data = os.read(fd, 4096)
        if not data:
            loop.remove_reader(fd)
            lines.put_nowait("quit")
            return
        buffer.extend(data)
        while b"\n" in buffer:
            line, _, rest = bytes(buffer).partition(b"\n")
            buffer[:] = rest
            lines.put_nowait(line.decode().strip())

    loop.add_reader(fd, readable)
    return lines


async def serve(args: argparse.Namespace) -> None:
    device = load_device("chair")
    routine = resolve_routine(args.routine)
    lines = await control_lines(args.control_fd)
    async with connect(device, args.port) as connection:
        chair = Chair(connection.link, device, FaultLog(args.fault_log))
        try:
            while (await lines.get()) == "go":
                try:
                    outcome, anchor_clock = await one_session(chair, routine, args.status)
                except MassageError as error:  # refused or latched: say so, take the next
                    print(json.dumps({"ev": "ended", "t": time.monotonic(), "ended": "error",
                                      "detail": str(error)}), flush=True)
                    await clear_faults(chair)
                    continue
                stop = outcome.stop
                print(json.dumps({
                    "ev": "ended", "t": time.monotonic(), "ended": outcome.ended,
                    "detail": outcome.detail,
                    "sources": [str(s) for s in stop.sources] if stop else [],
                    "requested_s": stop.requested_s if stop else None,
                    "written_s": stop.written_s if stop else None,
                    "confirmed_s": stop.confirmed_s if stop else None,
                    "anchor_clock": anchor_clock,  # the board tick of the plan's time 0
                }), flush=True)
                await clear_faults(chair)
        finally:
            await chair.close()


CLEAR_ATTEMPTS = 10
CLEAR_AGAIN_S = 0.2


async def clear_faults(chair: Chair) -> None:
    """What a person does after checking the chair: clear the host's latch and the board's,
    again if a fault latched meanwhile (a dead sensor's last readings, still on their way when
    the sensor came back, trip the supervisor once more while the board clears). Never raises:
    a fault still latched refuses the next session, which says so ("ended": "error")."""
    loop = asyncio.get_running_loop()
    for _ in range(CLEAR_ATTEMPTS):
        if chair.latch.latched:
            chair.latch.clear("benchmark", loop.time())
        if chair.link.board_fault is None:
            return
        try:
            await chair.link.clear_board_fault()
        except MassageError:
            await asyncio.sleep(CLEAR_AGAIN_S)  # the new trip's STOP settles; clear again


async def one_session(chair: Chair, routine: Routine, status: bool
                      ) -> tuple[SessionOutcome, int | None]:
    loop = asyncio.get_running_loop()
    session = Session(chair, routine, DEFAULT_USER, body_scan=False)
    remote = RemoteControl(chair, session, routine)
    session.on_change = remote.refresh
    tasks = []
    if status:
        display = StatusDisplay(chair.device, Console(stderr=True))
        tasks.append(loop.create_task(display.run(session.snapshot), name="status"))
    try:
        with StopSignals(lambda name: session.stop(StopSource.TERMINAL, f"{name} received")), \
                TerminalKeys(lambda key: press_key(session, key)):
            return await session.run(), session.anchor_clock
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        remote.close()  # the session takes its own stop listener back when it ends


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port")
    parser.add_argument("routine")
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--fault-log", required=True)
    parser.add_argument("--status", action="store_true", help="show the live status on stderr")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
