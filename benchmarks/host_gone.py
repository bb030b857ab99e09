"""Host gone: the controller killed (SIGKILL) or frozen (SIGSTOP) mid-session -> the board safe.

The board process (benchmarks.board_process) stays; the controller is killed once an output
is live, and the time runs from the signal to the board in SHUTDOWN with every output safe
(its own watchdog: 500 ms without a valid frame). SIGKILL: a fresh controller process each
time. SIGSTOP: one controller, frozen until the board is safe, then let go on (SIGCONT); its
session then ends on the board's shutdown and the next one starts.

The same figure is the naive baseline of the stop rows: a host without a stop path (a program
that simply dies on Ctrl-C) leaves the chair to this watchdog.
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

from benchmarks.figures import Figure, Target
from benchmarks.rig import Rig
from benchmarks.stop_latency import RANDOM_DELAY_S, ROUTINE, Chair, start_session, wait_live

TO_SAFE_MS = Target("max", "<=", 600.0)


def killed(runs: int, workdir: Path, loaded: bool) -> tuple[list[float], list[str]]:
    routine = workdir / "held.toml"
    routine.write_text(ROUTINE)
    safe_ms, causes = [], []
    rng = random.Random(11)
    with Rig(workdir, loaded=loaded) as rig:
        board = rig.board()
        for _ in range(runs):
            controller = rig.controller(board, str(routine))
            chair, odd = Chair(board, controller), []
            wait_live(chair, start_session(chair, odd), odd)
            time.sleep(rng.uniform(0, RANDOM_DELAY_S))
            fired = time.monotonic()
            controller.process.kill()
            safe = board.wait("safe", fired)
            safe_ms.append(1000 * (safe["t"] - fired))
            causes.append(safe["cause"])
            controller.process.wait()
        board.finish()
    return safe_ms, causes


def frozen(runs: int, workdir: Path, loaded: bool) -> tuple[list[float], list[str]]:
    routine = workdir / "held.toml"
    routine.write_text(ROUTINE)
    safe_ms, causes = [], []
    rng = random.Random(13)
    with Rig(workdir, loaded=loaded) as rig:
        board = rig.board()
        controller = rig.controller(board, str(routine))
        chair, odd = Chair(board, controller), []
        for _ in range(runs):
            began, _ = wait_live(chair, start_session(chair, odd), odd)
            time.sleep(rng.uniform(0, RANDOM_DELAY_S))
            fired = time.monotonic()
            os.kill(controller.pid, signal.SIGSTOP)
            try:
                safe = board.wait("safe", fired)
            finally:
                os.kill(controller.pid, signal.SIGCONT)
            safe_ms.append(1000 * (safe["t"] - fired))
            causes.append(safe["cause"])
            controller.ended(began)
        controller.finish()
        board.finish()
    return safe_ms, causes


def figures(runs: int, workdir: Path, loads=(False, True)) -> list[Figure]:
    result = []
    for loaded in loads:
        load = "loaded" if loaded else "idle"
        for label, measure in (("SIGKILL", killed), ("SIGSTOP", frozen)):
            safe_ms, causes = measure(runs, workdir, loaded)
            odd = sorted(set(causes) - {"WATCHDOG"})
            note = f"board stopped by {', '.join(odd)}" if odd else ""
            result.append(Figure("3 host gone", f"controller {label} -> board safe, {load}",
                                 "ms", safe_ms, TO_SAFE_MS, note=note))
    return result
