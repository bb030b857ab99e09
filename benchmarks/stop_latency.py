"""Stop latency from real inputs, across processes, to the wire and to a safe board.

The board runs in one process (benchmarks.board_process, on a pty, the line paced at 115200
baud), the controller in another (benchmarks.controller_process: sessions back to back, the
inputs wired as `massagectl run` wires them). For each stop: a session starts, the board says
an output is live, a random 0-30 ms later the input fires, then

    to the wire: input -> the STOP block read from the pty at the board's end (wire tap)
    to safe:     input -> the board in SHUTDOWN with every output safe

Each stop source is one small function that fires its input and returns when it fired (time
.monotonic(), the same clock in every process); adding a source is adding one to STOP_SOURCES.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.figures import Figure, Target
from benchmarks.rig import BoardProcess, ControllerProcess, Rig, RigError
from massagectl.safety.detectors import CONFIRM_READINGS

TO_WIRE_MS = Target("p99", "<=", 2.0)
TO_SAFE_MS = Target("p99", "<=", 10.0)
RANDOM_DELAY_S = 0.03  # inputs land at a random phase of the telemetry and the streaming
SETTLE_S = 0.3  # six telemetry periods
ATTEMPTS = 3  # sessions that may end before an output goes live, per stop (counted as odd)
TRIP_SENSOR = "tap_current"  # range-checked only: its return after the trip trips nothing
ROUTINE = """\
name = "held"
description = "One airbag held for minutes: an output live until a stop ends it"
warm_up_s = 0
cool_down_s = 10

[[steps]]
kind = "press"
zones = ["seat"]
pressure_kpa = 6
ramp_in_s = 4
hold_s = 240
release_s = 5
"""


@dataclass(frozen=True)
class StopInput:
    name: str
    fire: Callable[[BoardProcess, ControllerProcess], float]  # returns the input's time
    after: Callable[[BoardProcess], None] | None = None  # puts things back for the next stop
    note: str = ""
    board_cause: str = "HOST_STOP"  # what the board must give as the reason it stopped


def signal_to_process(board: BoardProcess, controller: ControllerProcess) -> float:
    now = time.monotonic()
    os.kill(controller.pid, signal.SIGINT)
    return now


def terminal_key(board: BoardProcess, controller: ControllerProcess) -> float:
    now = time.monotonic()
    os.write(controller.tty_fd, b"q")
    return now


def remote_stop_key(board: BoardProcess, controller: ControllerProcess) -> float:
    asked = time.monotonic()
    board.command("press stop")
    return board.wait("pressed", asked)["t"]


def supervisor_trip(board: BoardProcess, controller: ControllerProcess) -> float:
    """A pressure sensor goes dead; the supervisor trips on its CONFIRM_READINGS-th reading out
    of range. The input is the moment that reading reached the host's end of the line."""
    asked = time.monotonic()
    board.command(f"inject dead_sensor {TRIP_SENSOR}")
    injected = board.wait("injected", asked)["t"]
    return board.wait("bad_report", injected, count=CONFIRM_READINGS)["t"]


def clear_dead_sensor(board: BoardProcess) -> None:
    """The sensor back: its first good reading after the dead ones is a jump the supervisor
    may trip on too; that happens while the session ends, and the latch is cleared with it."""
    asked = time.monotonic()
    board.command(f"clear dead_sensor {TRIP_SENSOR}")
    board.wait("cleared", asked)


STOP_SOURCES = [
    StopInput("signal (SIGINT)", signal_to_process),
    StopInput("terminal key q (pty)", terminal_key),
    StopInput("remote STOP key", remote_stop_key, board_cause="REMOTE_STOP_KEY",
              note="the board acts on its own STOP key at once, so 'to safe' is the board's "
              "own reaction; 'to the wire' is the host's STOP after the key's report"),
    StopInput("supervisor trip", supervisor_trip, clear_dead_sensor, board_cause="HOST_FAULT",
              note="input: the confirming out-of-range reading at the host's end of the line"),
]


def start_live(board: BoardProcess, controller: ControllerProcess, odd: list[str]) -> float:
    """Start a session and wait for an output to go live; a session that ends first (a stale
    fault of the last stop) is noted and a new one started."""
    for _ in range(ATTEMPTS):
        began = controller.go()
        try:
            board.wait("live", began)
            return began
        except RigError:
            ended = controller.events.since("ended", began)
            if not ended:
                raise
            odd.append(f"a session ended before going live ({ended[0]['detail'][:60]}...); "
                       "started again")
            time.sleep(SETTLE_S)
    raise RigError(f"{ATTEMPTS} sessions in a row ended before going live: {odd[-1]}")


def measure(source: StopInput, stops: int, workdir: Path, loaded: bool
            ) -> tuple[list[float], list[float], list[str]]:
    """(to-the-wire ms, to-safe ms, anything odd) over `stops` stops."""
    routine = workdir / "held.toml"
    routine.write_text(ROUTINE)
    wire_ms, safe_ms, odd = [], [], []
    rng = random.Random(7)
    with Rig(workdir, loaded=loaded) as rig:
        board = rig.board()
        controller = rig.controller(board, str(routine))
        for _ in range(stops):
            began = start_live(board, controller, odd)
            time.sleep(rng.uniform(0, RANDOM_DELAY_S))
            fired = source.fire(board, controller)
            safe = board.wait("safe", fired)
            stop_bytes = board.wait("stop_bytes", fired)
            if source.after is not None:  # while the session ends: what follows is its own
                source.after(board)
            ended = controller.ended(began)
            if safe["cause"] != source.board_cause:
                odd.append(f"board stopped by {safe['cause']}")
            if ended["ended"] not in ("stopped", "fault"):
                odd.append(f"session ended {ended['ended']}: {ended['detail']}")
            wire_ms.append(1000 * (stop_bytes["t"] - fired))
            safe_ms.append(1000 * (safe["t"] - fired))
        controller.finish()
        board.finish()
    return wire_ms, safe_ms, odd


def figures(stops: int, workdir: Path, loads=(False, True)) -> list[Figure]:
    result = []
    for loaded in loads:
        load = "loaded" if loaded else "idle"
        for source in STOP_SOURCES:
            wire_ms, safe_ms, odd = measure(source, stops, workdir, loaded)
            counted = [f"{odd.count(what)}x {what}" for what in sorted(set(odd))]
            note = "; ".join([source.note, *counted] if source.note else counted)
            result.append(Figure("1 stop", f"{source.name} -> STOP on the wire, {load}", "ms",
                                 wire_ms, TO_WIRE_MS))
            result.append(Figure("1 stop", f"{source.name} -> board safe, {load}", "ms",
                                 safe_ms, TO_SAFE_MS, note=note))
    return result
