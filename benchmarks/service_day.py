"""A day of the resident chair service in virtual time: what the process holds, hour by hour.

    python -m benchmarks.service_day               # 24 virtual hours (about ten minutes)
    python -m benchmarks.service_day --hours 3

The service runs on its built-in simulator (an in-memory line paced at 115200 baud, the board
sending telemetry 20 times a second all day) with the handheld remote's menu. Every hour a
session of a short routine runs to its end; every third hour the board is unplugged for 30 s
first (a link lost and found again while idle). At each hour mark, after a full garbage
collection: the memory blocks the interpreter has allocated (sys.getallocatedblocks, which
counts every live object whatever its size), the objects the collector tracks, resident
memory, the tasks on the loop and the open file descriptors.

The first hours fill caches (imports, compiled routines, the simulator's bounded trace
filling up to its size), so growth is counted from WARM_UP_HOURS on. Memory is not traced
allocation by allocation (tracemalloc): that multiplies the run time several times over.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from massagectl.controller.config import Config, LogSettings
from massagectl.controller.frontends.handheld import HandheldRemote
from massagectl.controller.service.core import ChairService, ServiceOptions
from massagectl.controller.service.operations import ChairState, Origin, SessionEnded
from massagectl.sim.virtual_loop import VirtualTimeLoop

ROUTINE = """
name = "hourly"
description = "Twenty seconds of kneading, once an hour"
warm_up_s = 2
cool_down_s = 10

[[steps]]
kind = "knead"
duration_s = 20
speed_cpm = 20
band = "upper_back"
depth_mm = 6
"""
HOUR_S = 3600.0
UNPLUGGED_S = 30.0
UNPLUG_EVERY_HOURS = 3
# Imports, caches and the simulator's bounded trace settle in these (its heartbeats alone fill
# for an hour); growth is counted after them.
WARM_UP_HOURS = 3
# Growth after the warm-up that still counts as none: a few kB of allocator noise per hour
# (dictionaries resizing, the loop's free lists). A leak of one object per telemetry report
# would be 144,000 blocks an hour.
BLOCKS_PER_HOUR_BOUND = 500


@dataclass(frozen=True)
class HourMark:
    hour: int
    blocks: int  # sys.getallocatedblocks()
    objects: int  # len(gc.get_objects())
    rss_mb: float
    tasks: int
    fds: int
    state: str
    session: str  # how the hour's session ended ("" at hour 0)


@dataclass(frozen=True)
class Day:
    marks: list[HourMark]
    wall_s: float

    def after_warm_up(self) -> list[HourMark]:
        return [mark for mark in self.marks if mark.hour >= WARM_UP_HOURS] or self.marks[-1:]

    @property
    def blocks_per_hour(self) -> float:
        marks = self.after_warm_up()
        hours = marks[-1].hour - marks[0].hour
        return (marks[-1].blocks - marks[0].blocks) / hours if hours else 0.0

    def problems(self) -> list[str]:
        marks = self.after_warm_up()
        found = []
        if len({mark.tasks for mark in marks}) > 1:
            found.append(f"tasks changed: {[mark.tasks for mark in marks]}")
        if len({mark.fds for mark in marks}) > 1:
            found.append(f"file descriptors changed: {[mark.fds for mark in marks]}")
        if self.blocks_per_hour > BLOCKS_PER_HOUR_BOUND:
            found.append(f"memory grew by {self.blocks_per_hour:.0f} blocks an hour "
                         f"(bound {BLOCKS_PER_HOUR_BOUND})")
        unfinished = [(mark.hour, mark.session) for mark in self.marks
                      if mark.hour and mark.session != "finished"]
        if unfinished:
            found.append(f"sessions that did not finish: {unfinished}")
        if any(mark.state != "idle" for mark in self.marks):
            found.append(f"not idle at an hour mark: {[m.state for m in self.marks]}")
        return found


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _mark(hour: int, service: ChairService, session: str) -> HourMark:
    gc.collect()
    return HourMark(hour, sys.getallocatedblocks(), len(gc.get_objects()), _rss_mb(),
                    len(asyncio.all_tasks()), len(os.listdir("/proc/self/fd")),
                    str(service.state()), session)


async def _until_idle(service: ChairService, limit_s: float = 600.0) -> None:
    loop = asyncio.get_running_loop()
    deadline_s = loop.time() + limit_s
    while service.state() is not ChairState.IDLE:
        if loop.time() > deadline_s:
            raise TimeoutError(f"the chair stayed {service.state()} for {limit_s:g} s")
        await asyncio.sleep(0.5)


async def a_day(folder: Path, hours: int) -> list[HourMark]:
    routines = folder / "routines"
    routines.mkdir(parents=True, exist_ok=True)
    (routines / "hourly.toml").write_text(ROUTINE)
    service = ChairService(ServiceOptions(
        config=Config(logs=LogSettings(directory=folder / "state")), body_scan=False,
        routine_folder=routines, user_folder=folder / "users"))
    ended: list[str] = []
    await service.open([HandheldRemote()])
    unsubscribe = service.subscribe(
        lambda event: ended.append(event.summary.ended_how)
        if isinstance(event, SessionEnded) else None)
    loop = asyncio.get_running_loop()
    marks = []
    try:
        await service.wait_connected()
        await _until_idle(service)
        marks.append(_mark(0, service, ""))
        for hour in range(1, hours + 1):
            hour_start_s = loop.time()
            if hour % UNPLUG_EVERY_HOURS == 0:
                service.simulator.driver.inject_fault("unplug")
                await asyncio.sleep(UNPLUGGED_S)
                service.simulator.board.clear_fault("unplug", None, now_s=loop.time())
                await _until_idle(service)
            before = len(ended)
            await service.start("hourly", Origin.SOCKET)
            await _until_idle(service)
            await asyncio.sleep(hour_start_s + HOUR_S - loop.time())
            marks.append(_mark(hour, service, ended[before] if len(ended) > before else "none"))
    finally:
        unsubscribe()
        await service.close()
    return marks


def run_day(hours: int) -> Day:
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder, \
            asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        marks = runner.run(a_day(Path(folder), hours))
    return Day(marks, time.monotonic() - started)


def table(day: Day) -> str:
    lines = ["| hour | blocks | objects | resident MB | tasks | fds | state | session |",
             "|---:|---:|---:|---:|---:|---:|---|---|"]
    for mark in day.marks:
        lines.append(f"| {mark.hour} | {mark.blocks} | {mark.objects} | {mark.rss_mb:.1f} | "
                     f"{mark.tasks} | {mark.fds} | {mark.state} | {mark.session} |")
    first = day.after_warm_up()[0]
    last = day.marks[-1]
    lines.append(f"\nfrom hour {first.hour} to {last.hour}: {last.blocks - first.blocks:+d} "
                 f"blocks ({day.blocks_per_hour:+.0f} an hour, bound {BLOCKS_PER_HOUR_BOUND}), "
                 f"{last.objects - first.objects:+d} objects, "
                 f"{last.rss_mb - first.rss_mb:+.1f} MB resident, "
                 f"{last.tasks - first.tasks:+d} tasks, {last.fds - first.fds:+d} fds; "
                 f"{day.wall_s:.0f} s wall")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=24)
    args = parser.parse_args()
    # The unplugs are meant: their warnings would only interleave with the table.
    logging.getLogger("massagectl").setLevel(logging.ERROR)
    day = run_day(args.hours)
    print(f"{args.hours} hours in virtual time: a session every hour, unplugged every "
          f"{UNPLUG_EVERY_HOURS} hours")
    print(table(day))
    for problem in day.problems():
        print(f"problem: {problem}")


if __name__ == "__main__":
    main()
