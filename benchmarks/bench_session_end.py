"""A session's end in the chair service: how long the event loop is held while the session's
files are written, and how long a STOP asked for meanwhile waits.

    python -m benchmarks.bench_session_end              # 30 session ends of each kind
    python -m benchmarks.bench_session_end --quick      # 10
    python -m benchmarks.bench_session_end --minutes 30 # the length of session the trace holds

Real time, the service on its built-in simulator (an in-memory line paced at 115200 baud). A
session ends by a stop; then its trace (a compressed archive of every telemetry sample and
segment), the session history (up to 720 sessions) and the chair's safety record are written,
each flushed to disk. What a trace holds grows with the session: so that each sample does not
take a real session's length, the session runs a second and its recorder is then given
`--minutes` of telemetry (20 Hz, 16 sensors, noisy values that compress like measured ones).
The history holds 200 earlier sessions. Measured:

1. the loop held at a session's end: the largest lateness of a 1 ms ticker on the loop from
   the stop until every file is written;
2. a STOP asked for 1 ms after the session ended (its event): how late its callback ran (the
   stop path writes STOP within that callback).

Naive, in the same run: the same files written on the loop, as the session's end did before
they moved to the file writer's thread.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.bench_start import HEADER, Ticker, idle, row, until
from massagectl.controller.config import Config, LogSettings
from massagectl.controller.service.core import ChairService, ServiceOptions
from massagectl.controller.service.file_writer import FileWriter
from massagectl.controller.service.operations import (
    ChairState,
    Origin,
    Refused,
    SessionEnded,
    SessionSummary,
)

ROUTINE = "relax"
TELEMETRY_HZ = 20
EARLIER_SESSIONS = 200
RESTARTS: list[object] = []  # starts refused (a fault from a lost link), retried


class OnTheLoop(FileWriter):
    """The naive writer: every file written at once, on the loop, as before."""

    def write(self, work, what):  # type: ignore[override]
        future = asyncio.get_running_loop().create_future()
        try:
            future.set_result(work())
        except OSError:
            future.set_result(None)
        return future  # type: ignore[return-value]


class NoFiles(FileWriter):
    """No files at all: what the session's end holds the loop for apart from its files."""

    def write(self, work, what):  # type: ignore[override]
        future = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future  # type: ignore[return-value]


def noisy_rounds(minutes: float, rng: np.random.Generator) -> list[tuple[float, ...]]:
    """`minutes` of telemetry values, two reports of 8 sensors a round, made before the clock
    runs (making them takes long enough to stall the loop)."""
    base = rng.uniform(0.0, 40.0, (2, 8))
    rows = int(minutes * 60 * TELEMETRY_HZ)
    noisy = (base[None, :, :] + rng.normal(0.0, 0.05, (rows, 2, 8))).reshape(rows * 2, 8)
    return [tuple(values) for values in noisy.tolist()]


def pad_recording(service: ChairService, values: list[tuple[float, ...]]) -> None:
    """Give the running session's recorder those rounds of telemetry after what it recorded."""
    recorder = service._recorder
    assert recorder is not None
    rows = len(values) // 2
    last_s = recorder._times[-1] if recorder._times else 0.0
    first_row = len(recorder._times)
    recorder._times.extend((last_s + (np.arange(rows) + 1) / TELEMETRY_HZ).tolist())
    row_of = np.repeat(np.arange(first_row, first_row + rows), 2).tolist()
    recorder._reports.extend(zip(row_of, [0, 8] * rows, values, strict=True))


def earlier_history(service: ChairService) -> None:
    assert service.history is not None
    for index in range(EARLIER_SESSIONS):
        service.history.remember(SessionSummary(
            routine=ROUTINE, user="default", started=f"2026-12-01T{index % 24:02d}:00:00+00:00",
            ended=f"2026-12-01T{index % 24:02d}:20:00+00:00", ended_how="finished",
            detail="", massage_s=1200.0, origin="remote",
            trace=f"/var/lib/massagectl/chairs/x/traces/20261201-{index:06d}-relax.npz"))


async def started(service: ChairService) -> None:
    """Idle, then a session running. A loop held long enough (the naive writer under load)
    loses the board for a moment; it reconnects with a fault the benchmark clears."""
    for _ in range(20):
        await idle(service)
        try:
            await service.start(ROUTINE, Origin.SOCKET)
            return
        except Refused:
            RESTARTS.append(service.snapshot().faults[:1])
            if service.state() is ChairState.FAULT:
                with contextlib.suppress(Refused):
                    service.clear_faults(Origin.REMOTE)
            await asyncio.sleep(1.0)
    raise RuntimeError("the service did not start a session 20 times in a row")


async def measure(folder: Path, count: int, minutes: float) -> dict[str, list[float]]:
    service = ChairService(ServiceOptions(
        config=Config(logs=LogSettings(directory=folder / "state")), body_scan=False,
        routine_folder=folder / "routines", user_folder=folder / "users"))
    await service.open([])
    loop = asyncio.get_running_loop()
    padding = noisy_rounds(minutes, np.random.default_rng(1))
    variants = {"": service.files_writer, " naive": OnTheLoop(), " none": NoFiles()}
    results: dict[str, list[float]] = {what + suffix: [] for what in ("held", "stop")
                                       for suffix in variants}
    asked: list[float] = []
    ran: list[float] = []

    def stop_now() -> None:
        ran.append(loop.time())
        service.stop(Origin.MQTT, "benchmark")

    def on_event(event: object) -> None:
        if isinstance(event, SessionEnded):
            asked.append(loop.time() + 0.001)
            loop.call_at(asked[-1], stop_now)

    service.subscribe(on_event)
    threaded = service.files_writer
    try:
        await service.wait_connected()
        earlier_history(service)
        for index in range(count * len(variants)):
            suffix = list(variants)[index % len(variants)]
            service.files_writer = variants[suffix]
            await started(service)
            await until(lambda: service.state() is ChairState.RUNNING)
            await asyncio.sleep(1.0)
            pad_recording(service, padding)
            asked.clear()
            ran.clear()
            ticker = Ticker()
            service.stop(Origin.SOCKET, "benchmark")
            await until(lambda: service.session is None and bool(ran)
                        and not threaded.busy)
            ticker.cancel()
            results["held" + suffix].append(ticker.worst_s * 1000)
            results["stop" + suffix].append((ran[0] - asked[0]) * 1000)
    finally:
        service.files_writer = threaded
        await service.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--minutes", type=float, default=15.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        results = asyncio.run(measure(Path(folder), 10 if args.quick else 30, args.minutes))
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"A session's end in the service: a {args.minutes:g} min trace, {EARLIER_SESSIONS} "
          f"sessions in the history (real time, built-in simulator; load average {load})")
    print(HEADER)
    print(row("loop held, stop until every file written", results["held"]))
    print(row("naive: the files written on the loop", results["held naive"]))
    print(row("STOP asked 1 ms after the end: its callback late by", results["stop"]))
    print(row("naive: the same with the files on the loop", results["stop naive"]))
    print(row("(no files written at all: the rest of the end)", results["held none"]))
    print(row("(the same: the STOP 1 ms after the end)", results["stop none"]))
    if RESTARTS:
        print(f"({len(RESTARTS)} starts refused after a lost link and retried: {RESTARTS[0]})")


if __name__ == "__main__":
    main()
