"""Soak: sessions back to back in virtual time, random routines, inputs and faults; nothing leaks.

    python -m benchmarks.soak [--sessions 200] [--seed 1]

All sessions run on one virtual-time loop in one process, as a resident chair service would
run them, each on a board of its own (a fault may have left the last one reset or unplugged).
Each session: a random built-in routine, maybe a body scan, a random board clock drift, a few
random inputs (pause and resume, intensity up and down, heat) at random times, then one
ending: the terminal's stop, the remote's STOP key, a random fault of the fault matrix
(benchmarks.fault_matrix), or none (the routine runs on until the row's time is up and the
terminal stops it). Checked after every session: every output safe, no task left but the
soak's own, no file descriptor left open, every latched fault in the fault log with its cause.
Checked at the end: resident memory grew by at most MEMORY_BOUND_MB after the warm-up
sessions. Whether each fault was caught depends on what the routine was doing with the part it
broke; the fault matrix checks that at each fault's worst moments, the soak counts it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.compile import chair_routine_names
from benchmarks.fault_matrix import (
    FAULTS,
    SETTLE_S,
    UNPLUGGED_S,
    Fault,
    World,
    _act,
    simulated_chair,
)
from massagectl.controller.service.chair import Chair
from massagectl.controller.session.session import Session
from massagectl.firmware_bridge.link import Link
from massagectl.firmware_bridge.messages import RemoteKey
from massagectl.routines.device import DeviceProfile, load_device
from massagectl.routines.errors import MassageError
from massagectl.routines.library import load_builtin
from massagectl.routines.user import DEFAULT_USER
from massagectl.safety.fault_log import FaultLog
from massagectl.safety.stop_path import StopSource
from massagectl.sim.virtual_loop import VirtualTimeLoop

SESSION_LIMIT_S = 240.0  # virtual seconds a session may run before the terminal stops it
AFTER_FAULT_S = 60.0  # the slowest detector the matrix shows is a stuck valve, ~21 s
WARM_UP_SESSIONS = 10  # imports, caches and the allocator settle during these
MEMORY_BOUND_MB = 20.0
DRIFTS_PPM = (0.0, 0.0, 500.0, -500.0)
ENDINGS = ("terminal", "remote", "fault", "fault", "none")
CHAIR_ROUTINES = chair_routine_names()


@dataclass
class SessionResult:
    routine: str
    ending: str
    fault: str | None
    outcome: str
    problems: list[str] = field(default_factory=list)
    caught: bool = False


@dataclass
class SoakReport:
    sessions: list[SessionResult]
    rss_mb: list[float]

    @property
    def problems(self) -> list[str]:
        found = [f"session {i + 1} ({r.routine}, {r.ending} {r.fault or ''}): {p}"
                 for i, r in enumerate(self.sessions) for p in r.problems]
        if len(self.rss_mb) > WARM_UP_SESSIONS + 1:
            grown = self.rss_mb[-1] - self.rss_mb[WARM_UP_SESSIONS]
            if grown > MEMORY_BOUND_MB:
                found.append(f"resident memory grew {grown:.1f} MB after the warm-up "
                             f"(bound {MEMORY_BOUND_MB:g} MB)")
        return found


def rss_mb() -> float:
    with open("/proc/self/status") as file:
        for line in file:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def open_fds() -> set[int]:
    return {int(name) for name in os.listdir("/proc/self/fd")} - {-1}


def random_input(rng: random.Random, session: Session) -> None:
    action = rng.choice(["pause", "up", "down", "heat"])
    with contextlib.suppress(MassageError):  # a request the state refuses changes nothing
        if action == "pause":
            session.resume() if session.state.name == "PAUSED" else session.pause()
        elif action == "up":
            session.change_intensity(+1)
        elif action == "down":
            session.change_intensity(-1)
        else:
            session.toggle_heat()


async def one_session(rng: random.Random, log_path: Path) -> SessionResult:
    device = load_device("chair")
    name = rng.choice(CHAIR_ROUTINES)
    ending = rng.choice(ENDINGS)
    fault: Fault | None = rng.choice(FAULTS) if ending == "fault" else None
    drift_ppm = fault.drift_ppm if fault else rng.choice(DRIFTS_PPM)
    result = SessionResult(name, ending, fault.name if fault else None, "")
    async with simulated_chair(rng.randrange(2**31), drift_ppm) as world:
        try:
            await _session(rng, world, device, name, ending, fault, log_path, result)
        except Exception as error:  # a crash of the controller is a finding, not the end
            result.problems.append(f"{type(error).__name__}: {error}")
    if not world.board.outputs_safe():
        result.problems.append("outputs not safe at the end")
    return result


async def _session(rng: random.Random, world: World, device: DeviceProfile, name: str,
                   ending: str,
                   fault: Fault | None, log_path: Path, result: SessionResult) -> None:
    loop = asyncio.get_running_loop()
    world.link = await Link.open(world.line, device)
    chair = Chair(world.link, device, FaultLog(log_path))
    world.chair = chair
    session = Session(chair, load_builtin(name), DEFAULT_USER, body_scan=rng.random() < 0.2)
    world.session = session
    running = world.running = loop.create_task(session.run(), name="soak session")
    for _ in range(rng.randint(0, 4)):
        await asyncio.wait([running], timeout=rng.uniform(0.5, 30.0))
        if running.done():
            break
        random_input(rng, session)
    if not running.done():
        await asyncio.wait([running], timeout=rng.uniform(0.1, 20.0))
    if not running.done():
        if ending == "terminal":
            session.stop(StopSource.TERMINAL, "q pressed")
        elif ending == "remote":
            world.attached.driver.press(RemoteKey.STOP)
        elif fault is not None:
            await _act(fault.start, world)
            if fault.end is not None:
                await asyncio.wait([running], timeout=UNPLUGGED_S)
                await _act(fault.end, world)
    await asyncio.wait([running], timeout=AFTER_FAULT_S if fault else SESSION_LIMIT_S)
    # Whether a fault was caught depends on what the routine did with it (a stalled motor that
    # is not asked to move, an empty seat while paused harm nobody): the fault matrix checks
    # that at each fault's worst moments. Here it is counted.
    result.caught = running.done() and fault is not None
    if not running.done():
        session.stop(StopSource.TERMINAL, "end of the soak session")
        await asyncio.wait([running], timeout=SESSION_LIMIT_S)
    if running.cancelled():
        result.outcome = "host killed"
    elif running.done() and running.exception() is not None:
        result.outcome = f"error: {running.exception()!r}"
    elif running.done():
        result.outcome = running.result().ended
    else:
        result.problems.append("the session did not end after its stop")
    await chair.close()
    await asyncio.sleep(SETTLE_S)  # the board left to itself: its watchdog acts
    logged = {entry.get("cause") for entry in _log_entries(log_path)}
    for latched in chair.latch.faults:
        if str(latched.cause) not in logged:
            result.problems.append(f"latched fault {latched.cause} not in the fault log")


def _log_entries(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def _soak(sessions: int, seed: int, directory: Path, report: SoakReport) -> None:
    rng = random.Random(seed)
    me = asyncio.current_task()
    for number in range(sessions):
        fds = open_fds()
        result = await one_session(rng, directory / "faults.jsonl")
        await asyncio.sleep(0)  # callbacks of what closed run before the count
        left = [t.get_name() for t in asyncio.all_tasks() if t is not me and not t.done()]
        if left:
            result.problems.append(f"tasks left running: {left}")
            for task in asyncio.all_tasks():
                if task is not me:
                    task.cancel()
        leaked = open_fds() - fds
        if leaked:
            result.problems.append(f"file descriptors left open: {sorted(leaked)}")
        report.sessions.append(result)
        report.rss_mb.append(rss_mb())
        print(f"session {number + 1}: {result.routine}, {result.ending} "
              f"{result.fault or ''} -> {result.outcome}; {report.rss_mb[-1]:.1f} MB",
              file=sys.stderr, flush=True)


def soak(sessions: int, seed: int = 1) -> SoakReport:
    report = SoakReport([], [])
    with tempfile.TemporaryDirectory(prefix="soak-") as name, \
            asyncio.Runner(loop_factory=lambda: VirtualTimeLoop(speed=None)) as runner:
        runner.run(_soak(sessions, seed, Path(name), report))
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    report = soak(args.sessions, args.seed)
    endings: dict[str, int] = {}
    for result in report.sessions:
        endings[result.outcome] = endings.get(result.outcome, 0) + 1
    faulted = [r for r in report.sessions if r.fault]
    print(f"{len(report.sessions)} sessions; outcomes: {endings}; faults injected "
          f"{len(faulted)}, stopped by them {sum(r.caught for r in faulted)}")
    print(f"resident memory: {report.rss_mb[0]:.1f} MB after the first session, "
          f"{report.rss_mb[-1]:.1f} MB after the last")
    for problem in report.problems:
        print(f"PROBLEM: {problem}")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
