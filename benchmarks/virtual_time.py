"""Virtual time: a whole session at `--speed max`, as a process and in-process, against the
simulated board alone for the same session, and where the time goes.

- whole process: `python -m massagectl run full_body --speed max --quiet --no-scan` (logs in a
  temporary directory), wall time from start to exit, imports included;
- in-process: `run_routine` with the same options, imports excluded;
- the board alone: the same compiled routine played straight into a SimBoard, with the host's
  watchdog frames, no link and no event loop (benchmarks.bench_sim.run_session): the least the
  simulation can cost.
Every figure is scaled to 30 simulated minutes (full_body lasts 26). The profile is cProfile over
one in-process run, its own time summed per package.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from rich.console import Console

from benchmarks.bench_sim import routine_session, run_session
from benchmarks.figures import Figure, Target
from benchmarks.rig import REPO, fresh_chair_records
from massagectl.controller.app import RunOptions, run_routine
from massagectl.controller.config import Config, LogSettings
from massagectl.routines.device import load_device
from massagectl.routines.library import load_builtin
from massagectl.sim.board import SimBoard

ROUTINE = "full_body"
THIRTY_MIN_S = 1800.0
WHOLE_PROCESS_S = Target("median", "<=", 2.0)
TIMES_THE_BOARD = Target("median", "<=", 2.0)
PACKAGES = ("massagectl/sim", "massagectl/firmware_bridge", "massagectl/safety",
            "massagectl/controller", "massagectl/routines", "asyncio", "numpy")


def in_process(directory: Path) -> float:
    options = RunOptions(routine=ROUTINE, config=Config(logs=LogSettings(directory=directory)),
                         speed=None, show_status=False, body_scan=False)
    with fresh_chair_records():
        began = time.perf_counter()
        result = run_routine(options, Console(file=io.StringIO()))
        wall_s = time.perf_counter() - began
    if result.outcome.ended != "finished":
        raise RuntimeError(f"{ROUTINE} did not finish: {result.outcome.detail}")
    return wall_s


def whole_process(directory: Path) -> float:
    config = directory / "config.toml"
    config.write_text(f'[logs]\ndirectory = "{directory}"\n')
    with fresh_chair_records():
        began = time.perf_counter()
        subprocess.run([sys.executable, "-m", "massagectl", "run", ROUTINE, "--speed", "max",
                        "--quiet", "--no-scan", "--config", str(config)], cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - began


def board_alone() -> float:
    chair = load_device("chair")
    session_s = load_builtin(ROUTINE).duration_s
    plan = routine_session(chair, session_s)
    return run_session(SimBoard(chair, trace_samples=False), plan, session_s)


def _package(filename: str) -> str:
    path = filename.replace("\\", "/")
    for name in PACKAGES:
        short = name.split("/")[-1]
        if f"/{short}/" in path or path.startswith(f"{short}/") or (
                name == "asyncio" and "asyncio" in path):
            return name.replace("massagectl/", "")
    return "other (stdlib, pydantic, builtins)"


def profile(directory: Path) -> tuple[dict[str, float], list[str]]:
    """Share of own time per package, and the ten functions with the most own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    in_process(directory)
    profiler.disable()
    stats = pstats.Stats(profiler)
    per_package: dict[str, float] = defaultdict(float)
    functions = []
    for (filename, line, name), (_, _, own_s, _, _) in stats.stats.items():
        per_package[_package(filename)] += own_s
        functions.append((own_s, f"{Path(filename).name}:{line} {name}"))
    total = sum(per_package.values())
    shares = {k: 100 * v / total for k, v in sorted(per_package.items(), key=lambda i: -i[1])}
    top = [f"{100 * own_s / total:4.1f} %  {where}" for own_s, where in sorted(functions)[-10:]]
    return shares, top[::-1]


def figures(repeats: int, with_profile: bool = True) -> tuple[list[Figure], list[str]]:
    scale = THIRTY_MIN_S / load_builtin(ROUTINE).duration_s
    with tempfile.TemporaryDirectory(prefix="bench-virtual-") as name:
        directory = Path(name)
        process_s = [scale * whole_process(directory) for _ in range(repeats)]
        inside_s = [scale * in_process(directory) for _ in range(repeats)]
        board_s = [scale * board_alone() for _ in range(repeats)]
        shares, top = profile(directory) if with_profile else ({}, [])
    ratios = [inside / board for inside, board in zip(inside_s, board_s, strict=True)]
    board = Figure("7 virtual", "the simulated board alone", "s/30 min", board_s)
    breakdown = ", ".join(f"{k} {v:.0f} %" for k, v in shares.items())
    lines = [f"where the time goes (cProfile, own time, one in-process {ROUTINE} run): "
             + breakdown, *top] if shares else []
    return [
        Figure("7 virtual", f"massagectl run {ROUTINE} --speed max, whole process", "s/30 min",
               process_s, WHOLE_PROCESS_S, board),
        Figure("7 virtual", f"run {ROUTINE} in-process", "s/30 min", inside_s, baseline=board),
        Figure("7 virtual", "in-process / the board alone", "x", ratios, TIMES_THE_BOARD,
               note=f"profile: {breakdown}" if shares else ""),
    ], lines
