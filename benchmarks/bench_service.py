"""The resident chair service: remote STOP to a safe chair, key to display, the idle service,
and a day in virtual time.

Run from the repository root:

    python benchmarks/bench_service.py               # every table
    python benchmarks/bench_service.py --quick       # fewer samples, a 2-hour day
    python benchmarks/bench_service.py --hours 24    # the day's length in virtual time
    python benchmarks/bench_service.py --stop-only   # table 1 only

Tables:
1. remote STOP key -> every simulated output safe, in real time, during a running session on the
   built-in simulator (an in-memory line paced at 115200 baud): board-local (the board acts on
   its own key at once) and through the host (the STOP operation the menu calls: the stop path
   writes STOP, the bytes cross the line, the board acts); naive: the same stop asked of the
   session as a pause (a request its loop picks up, then a queued Stop and a confirmation);
2. remote key -> display updated over a real pty at 115200 baud (`massagectl sim`-style board
   on a pty, the service opening it with pyserial): only changed rows sent, against every row
   sent again on every change (the naive redraw);
3. the idle service (`massagectl serve` against a board on a pty in another process): CPU
   share of one core and resident memory over a measured stretch;
4. a day in virtual time: a session every hour and the board unplugged every 3 hours; the
   process's allocated memory blocks, objects, resident memory, tasks and file descriptors
   every hour (benchmarks/service_day.py, about 15 s of CPU per virtual hour).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.service_day import UNPLUG_EVERY_HOURS, run_day
from benchmarks.service_day import table as day_table
from massagectl.controller.config import Config, LogSettings
from massagectl.controller.frontends.handheld import HandheldRemote
from massagectl.controller.service.core import ChairService, ServiceOptions
from massagectl.controller.service.operations import ChairState, Origin, Refused
from massagectl.firmware_bridge.messages import RemoteKey
from massagectl.routines.device import load_device
from massagectl.sim.pty_runner import PtyBoard

CHAIR = load_device("chair")
LONG = """
name = "bench"
description = "Kneading the whole time, for stopping"
warm_up_s = 2
cool_down_s = 10

[[steps]]
kind = "knead"
duration_s = 600
speed_cpm = 20
band = "upper_back"
depth_mm = 6
"""
TINY = LONG.replace("duration_s = 600", "duration_s = 20").replace('"bench"', '"tiny"')


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def row(name: str, samples: list[float], target: str) -> str:
    return (f"| {name:<44} | {len(samples):5d} | {statistics.median(samples):8.2f} | "
            f"{percentile(samples, 0.99):8.2f} | {max(samples):8.2f} | {target:>8} |")


HEADER = ("| {:<44} | {:>5} | {:>8} | {:>8} | {:>8} | {:>8} |".format(
    "milliseconds", "n", "median", "p99", "max", "target") + "\n|" + "|".join(
    "-" * width for width in (46, 7, 10, 10, 10, 10)) + "|")


def options(folder: Path, **overrides) -> ServiceOptions:
    routines = folder / "routines"
    routines.mkdir(parents=True, exist_ok=True)
    (routines / "bench.toml").write_text(LONG)
    (routines / "tiny.toml").write_text(TINY)
    return ServiceOptions(**({"config": Config(logs=LogSettings(directory=folder / "state")),
                              "body_scan": False, "routine_folder": routines,
                              "user_folder": folder / "users"} | overrides))


async def until(predicate, step_s: float = 0.0, limit_s: float = 20.0) -> float:
    """Wait for `predicate`, looking at every turn of the loop; the loop time it came true.
    TimeoutError after `limit_s` (a sample that went another way is skipped, not waited out)."""
    loop = asyncio.get_running_loop()
    deadline_s = loop.time() + limit_s
    while not predicate():
        if loop.time() > deadline_s:
            raise TimeoutError
        await asyncio.sleep(step_s)
    return loop.time()


# --- 1. STOP ---------------------------------------------------------------------------------


async def stop_samples(folder: Path, count: int) -> dict[str, list[float]]:
    service = ChairService(options(folder))
    await service.open([HandheldRemote()])
    results: dict[str, list[float]] = {"local": [], "host": [], "naive": []}
    faults: list[str] = []
    skipped: list[str] = []
    try:
        await service.wait_connected()
        board = service.simulator.board
        for index in range(count * 3):
            kind = ("local", "host", "naive")[index % 3]
            try:
                await stop_once(service, board, kind, results, faults)
            except (TimeoutError, Refused):
                skipped.append(kind)
    finally:
        await service.close()
    results["faults"] = faults  # type: ignore[assignment]
    results["skipped"] = skipped  # type: ignore[assignment]
    return results


async def stop_once(service, board, kind, results, faults) -> None:
    """One stop sample of `kind`; a session that faulted first is counted and skipped."""
    loop = asyncio.get_running_loop()
    deadline_s = loop.time() + 60.0
    while service.state() is not ChairState.IDLE:
        if loop.time() > deadline_s:
            raise TimeoutError
        latched = service.snapshot().faults
        if service.state() is ChairState.FAULT and latched:  # counted, cleared
            faults.append(latched[0])
            await asyncio.sleep(0.5)
            service.clear_faults(Origin.REMOTE)
        await asyncio.sleep(0.01)
    service.start("bench", Origin.SOCKET)
    await until(lambda: service.state() in (ChairState.RUNNING, ChairState.FAULT), 0.01)
    await until(lambda: not board.outputs_safe() or service.state() is ChairState.FAULT,
                0.005)
    if service.state() is ChairState.FAULT:
        return
    await asyncio.sleep(0.05)
    loop = asyncio.get_running_loop()
    asked_s = loop.time()
    if kind == "local":
        service.simulator.driver.press(RemoteKey.STOP)
    elif kind == "host":
        service.stop(Origin.REMOTE, "benchmark")
    else:
        service.pause(Origin.REMOTE)
    safe_s = await until(board.outputs_safe)
    results[kind].append((safe_s - asked_s) * 1000)
    if kind == "naive":
        await until(lambda: service.state() is ChairState.PAUSED, 0.01)
        service.stop(Origin.SOCKET, "benchmark")


# --- 2. key to display -----------------------------------------------------------------------


async def display_samples(folder: Path, count: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {"changed rows": [], "naive: every row": []}
    async with PtyBoard(CHAIR) as pty:
        service = ChairService(options(folder, port=pty.port_path))
        remote = HandheldRemote()
        await service.open([remote])
        try:
            await service.wait_connected()
            await until(lambda: pty.board.remote.rows[0].startswith("Choose"), 0.01)
            await asyncio.sleep(0.5)
            for index in range(count * 2):
                naive = index % 2 == 1
                if naive:
                    remote.shown = []  # the naive redraw: every row goes again
                before = list(pty.board.remote.rows)
                loop = asyncio.get_running_loop()
                pressed_s = loop.time()
                pty.driver.press(RemoteKey.DOWN if index % 4 < 2 else RemoteKey.UP)
                # Done when the whole display shows the new screen (every row it needs).
                expected = None
                while True:
                    await asyncio.sleep(0)
                    if remote.shown and list(pty.board.remote.rows) == list(remote.shown) \
                            and list(pty.board.remote.rows) != before:
                        expected = loop.time()
                        break
                key = "naive: every row" if naive else "changed rows"
                results[key].append((expected - pressed_s) * 1000)
                await asyncio.sleep(0.05)
        finally:
            await service.close()
    return results


# --- 3. the idle service ---------------------------------------------------------------------


def idle_service(folder: Path, measure_s: float) -> tuple[float, float]:
    """CPU share of one core and resident MB of `massagectl serve`, idle, on a pty board."""
    env = dict(os.environ, XDG_RUNTIME_DIR=str(folder / "run"),
               XDG_STATE_HOME=str(folder / "state"))
    board = subprocess.Popen([sys.executable, "-m", "massagectl", "sim"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    port = board.stdout.readline().strip()
    serve = subprocess.Popen([sys.executable, "-m", "massagectl", "serve", "--port", port,
                              "--log-level", "warning"], env=env, stderr=subprocess.DEVNULL)
    try:
        time.sleep(5.0)  # connected and settled
        ticks = os.sysconf("SC_CLK_TCK")

        def cpu_s() -> float:
            fields = Path(f"/proc/{serve.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / ticks

        start_cpu, start_wall = cpu_s(), time.monotonic()
        time.sleep(measure_s)
        share = (cpu_s() - start_cpu) / (time.monotonic() - start_wall)
        status = Path(f"/proc/{serve.pid}/status").read_text()
        rss_kb = int(next(line.split()[1] for line in status.splitlines()
                          if line.startswith("VmRSS")))
        return share * 100, rss_kb / 1024
    finally:
        for process in (serve, board):
            process.send_signal(2)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        board.stdout.close()


# --- 4. a day in virtual time: benchmarks.service_day ------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--hours", type=int, default=None)
    parser.add_argument("--stop-only", action="store_true",
                        help="table 1 only (light on a shared machine)")
    args = parser.parse_args()
    samples = 30 if args.quick else 60
    hours = args.hours or (2 if args.quick else 24)
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        stops = asyncio.run(stop_samples(base / "stop", samples))
        print("\n1. Remote STOP key -> every simulated output safe (real time, 115200 baud)")
        print(HEADER)
        print(row("board-local (the board acts on its own key)", stops["local"], "10"))
        print(row("through the host (the STOP operation)", stops["host"], "10"))
        print(row("naive: asked of the session as a pause", stops["naive"], "-"))
        if stops["skipped"]:
            print(f"({len(stops['skipped'])} samples skipped: the session went another way)")
        if stops["faults"]:
            print(f"({len(stops['faults'])} sessions tripped a fault before they could be "
                  f"stopped, and were cleared: {sorted(set(stops['faults']))[0]})")
        if args.stop_only:
            print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
            return

        shown = asyncio.run(display_samples(base / "display", samples))
        print("\n2. Remote key -> display updated, over a real pty at 115200 baud")
        print(HEADER)
        print(row("changed rows only", shown["changed rows"], "100"))
        print(row("naive: every row sent again", shown["naive: every row"], "-"))

        cpu_pct, rss_mb = idle_service(base / "idle", 10.0 if args.quick else 30.0)
        print("\n3. The idle service (massagectl serve on a pty board in another process)")
        print(f"CPU {cpu_pct:.2f} % of one core (target <= 1 %), resident {rss_mb:.1f} MB "
              "(target <= 80 MB)")

        day = run_day(hours)
        print(f"\n4. {hours} hours in virtual time: a session every hour, unplugged every "
              f"{UNPLUG_EVERY_HOURS} hours (benchmarks/service_day.py)")
        print(day_table(day))
        for problem in day.problems():
            print(f"problem: {problem}")

if __name__ == "__main__":
    main()
