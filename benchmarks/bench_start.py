"""Starting a routine in the chair service: how long the event loop is held, and how long a STOP
asked for meanwhile waits.

    python -m benchmarks.bench_start            # 40 starts of each kind
    python -m benchmarks.bench_start --quick    # 12

Real time, the service on its built-in simulator (an in-memory line paced at 115200 baud). A
start compiles the routine and admits its plan (milliseconds to tens of milliseconds of CPU),
holds the board safe, and streams the first segments. Measured, for the longest built-in
routine:

1. the loop held during a start: the largest lateness of a 1 ms ticker on the loop from the
   start being asked for until the session runs;
2. a STOP asked for 1 ms after a start (say, from MQTT): how late the stop's callback ran
   (the stop path writes STOP within that callback).

Naive, in the same run: the compile and admission on the loop, twice, as `start()` and
`Session.run()` did before they moved to a worker thread.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from pathlib import Path

from massagectl.controller.config import Config, LogSettings
from massagectl.controller.service.core import ChairService, ServiceOptions
from massagectl.controller.service.operations import ChairState, Origin, Refused
from massagectl.controller.session.preflight import preflight
from massagectl.routines.library import load_builtin
from massagectl.safety import chair_record

ROUTINE = "full_body"  # the longest built-in routine of the chair: the most to compile
TICK_S = 0.001


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def row(name: str, samples: list[float]) -> str:
    return (f"| {name:<52} | {len(samples):5d} | {statistics.median(samples):8.2f} | "
            f"{percentile(samples, 0.99):8.2f} | {max(samples):8.2f} |")


HEADER = ("| {:<52} | {:>5} | {:>8} | {:>8} | {:>8} |".format(
    "milliseconds", "n", "median", "p99", "max") + "\n|" + "|".join(
    "-" * width for width in (54, 7, 10, 10, 10)) + "|")


class Ticker:
    """A callback every TICK_S on the loop; `worst_s` is the largest lateness seen."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.worst_s = 0.0
        self._due_s = self.loop.time() + TICK_S
        self._handle = self.loop.call_at(self._due_s, self._tick)

    def _tick(self) -> None:
        now_s = self.loop.time()
        self.worst_s = max(self.worst_s, now_s - self._due_s)
        self._due_s = now_s + TICK_S
        self._handle = self.loop.call_at(self._due_s, self._tick)

    def cancel(self) -> None:
        self._handle.cancel()


def naive_admission(service: ChairService) -> None:
    """What start() and then Session.run() did on the loop before: compile and admit, twice."""
    routine = load_builtin(ROUTINE)
    user = service.user_folder.load(service.user_name)
    limits, _ = service.record.remaining(service.config.limits, service.device,
                                         chair_record.wall_clock())
    for _ in range(2):
        preflight(routine, service.device, user, limits)


def stop_now(service: ChairService, ran: list[float]) -> None:
    """A STOP from home automation; when it ran goes to `ran`."""
    ran.append(asyncio.get_running_loop().time())
    service.stop(Origin.MQTT, "benchmark")


async def until(predicate, limit_s: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline_s = loop.time() + limit_s
    while not predicate():
        if loop.time() > deadline_s:
            raise TimeoutError
        await asyncio.sleep(0.005)


async def idle(service: ChairService) -> None:
    await until(lambda: service.state() in (ChairState.IDLE, ChairState.FAULT))
    if service.state() is ChairState.FAULT:
        service.clear_faults(Origin.REMOTE)
        await until(lambda: service.state() is ChairState.IDLE)
    await asyncio.sleep(0.2)


async def measure(folder: Path, count: int) -> dict[str, list[float]]:
    service = ChairService(ServiceOptions(
        config=Config(logs=LogSettings(directory=folder / "state")), body_scan=False,
        routine_folder=folder / "routines", user_folder=folder / "users"))
    await service.open([])
    loop = asyncio.get_running_loop()
    results: dict[str, list[float]] = {key: [] for key in (
        "held", "held naive", "stop", "stop naive")}
    try:
        await service.wait_connected()
        for index in range(count * 2):
            naive = index % 2 == 1
            suffix = " naive" if naive else ""
            # 1. The loop held from the start until the session runs.
            await idle(service)
            ticker = Ticker()
            if naive:
                naive_admission(service)
            began = service.start(ROUTINE, Origin.SOCKET)
            await until(lambda: service.state() is ChairState.RUNNING)
            ticker.cancel()
            results["held" + suffix].append(ticker.worst_s * 1000)
            await began
            service.stop(Origin.SOCKET, "benchmark")
            # 2. A STOP asked for 1 ms after a start.
            await idle(service)
            asked_s = loop.time() + TICK_S
            ran: list[float] = []
            loop.call_at(asked_s, stop_now, service, ran)
            if naive:
                naive_admission(service)
            began = service.start(ROUTINE, Origin.SOCKET)
            try:
                await began
            except Refused:
                pass  # stopped before it began: what a stop during a start does now
            await until(ran.__len__)
            results["stop" + suffix].append((ran[0] - asked_s) * 1000)
            service.stop(Origin.SOCKET, "benchmark")
    finally:
        await service.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        results = asyncio.run(measure(Path(folder), 12 if args.quick else 40))
    print(f"Starting {ROUTINE} in the service (real time, built-in simulator at 115200 baud)")
    print(HEADER)
    print(row("loop held, start until running", results["held"]))
    print(row("naive: compile and admit on the loop (twice)", results["held naive"]))
    print(row("STOP asked 1 ms into a start: its callback late by", results["stop"]))
    print(row("naive: the same with compile on the loop", results["stop naive"]))


if __name__ == "__main__":
    main()
