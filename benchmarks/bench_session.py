"""Whole sessions: virtual time, schedule accuracy, controller CPU and memory, host kill, wire.

Five measurements of the controller and the simulated board working together: a 30-minute
session in virtual time, schedule accuracy at the board, controller CPU and memory in real
time, host killed -> board safe, and the wire's share.

Run from the repository root:

    python benchmarks/bench_session.py                        # every table (about 5 minutes)
    python benchmarks/bench_session.py --quick                # short runs (under 2 minutes)
    python benchmarks/bench_session.py --only virtual,kill    # some tables only

Sections (`--only` takes a comma-separated list of these names):

1. virtual: a whole session in virtual time, in-process, exactly as
   `massagectl run full_body --speed max --quiet [--no-scan]` runs it (controller.app.run_routine
   with RunOptions(speed=None, show_status=False, body_scan=...), logs in a temp dir), on the
   built-in simulator. full_body is the longest built-in routine (26 min); every figure is
   scaled to 30 simulated minutes (wall s x 1800 / simulated s). Process start-up and imports
   are not counted. One row without the body scan, one with it. N repeats (3; 1 with --quick).
   Columns: wall seconds of the run (median and worst), wall seconds per 30 simulated minutes
   (median; target <= 5), simulated seconds per wall second (median), the share of the wall
   time spent inside the simulated board (SimBoard.advance / handle / host_frame_received,
   timed by wrapping them; its protocol endpoint and driver are not counted; the wrapping
   costs less than the run-to-run noise), and the speed-up over the naive way to get the same
   result: running the session in real time (1800 s).

2. schedule: real time, the real pyserial path over a pty, the board in another process
   (`python -m controller.cli sim --device chair --trace T.npz`, started through the timer
   probe described below). This process opens `Link.open(pty, chair)` and streams a dense
   synthetic stream for 30 s (10 s with --quick): every channel a new ramp every 0.1-0.5 s
   (about 40 segments/s), within the middle of each channel's range and its max_rate_per_s,
   planned on the board's clock (anchor = link.clock.clock_at(now + 0.5 s), as
   controller.session anchors a plan). Two approaches:
   - shipped: every segment sent ahead through `await link.schedule()` (the link's 2 s window,
     the board's 64-entry queue); the board starts each at its planned tick;
   - naive: host-timed: the host sleeps until each segment's planned time, then sends it with
     start = the board clock it estimates *now*; the board starts it on arrival.
   Each without CPU load and with 3 busy-looping Python processes (`while True: pass`) on this
   2-core machine. After the stream the sim gets SIGTERM and saves its trace (sim.trace).
   Columns: approach, load, segments that ran, |error| median / p99 / max in ms where error =
   executed tick (from the board's trace) - the tick the plan asked for (for the shipped
   approach this is exactly `trace.timing_errors_s()`; for the naive one the message's own
   start is already late, so the error is taken against the plan, not the message), late =
   the board's late flag (started after the start in the message), link late = segments the
   link sent with less than its 100 ms minimum lead, and the closest arrival before the
   planned start (ms, shipped only: the margin left). Target: shipped p99 <= 1 ms.
   Honesty note: the simulated board's scheduler starts a queued segment at its planned tick,
   as a firmware timer interrupt would, whenever its process actually wakes up; so the shipped
   error is 0 by construction as long as segments arrive before their start. What the
   simulation cannot hide is shown in a second table: how late the board process's own timer
   woke (the asyncio timer BoardDriver keeps for its next event; measured by the probe as
   loop.time() at the callback - the time it was due). A real board's timer interrupt is
   late by microseconds; this Python board's lateness is the error a person would feel from
   the simulator, not from the protocol.

3. cpu: real time, the sim process as above, and a controller process
   `python -m controller.cli run relax --port PTY --quiet --no-scan --config CFG` (logs in a
   temp dir) for 120 s (30 s with --quick); /proc/PID/stat utime+stime and /proc/PID/status
   VmRSS sampled every second; then SIGINT (it must exit 3, stopped by the user) and SIGTERM
   to the sim. Columns: CPU % of one core (mean over the window after the first 5 s, which
   hold the imports and the handshake; and the worst 10 s window), RSS peak in MB (VmHWM) and
   at the end. Targets: <= 3 % of one core, <= 80 MB. The sim process's CPU is shown for
   context (it includes the probe's bookkeeping, a few microseconds per timer).

4. kill: real time, sim + controller running relax; once the board reports an output not
   safe (the probe prints "outputs live") and at least 5 s after the controller started, the
   controller gets SIGKILL (time.monotonic() taken right after). 1.5 s later the sim gets
   SIGTERM and its trace is read. Trace times (`times_s`, `TraceEvent.time_s`) are the sim
   process's loop.time(), which is time.monotonic() (CLOCK_MONOTONIC, the same clock in every
   process), converted from the board's ticks, so they compare directly with the kill time.
   Columns (ms after the kill): the board's watchdog SHUTDOWN event (board clock: the tick at
   which the firmware acts), the first telemetry sample with every output at its safe value,
   and when the board process actually ran that shutdown (wall clock, from the probe).
   3 repeats (1 with --quick): each row, then median and max. Target: <= 600 ms (watchdog
   500 ms + one telemetry tick).

5. wire: bytes each way per second during the real-time run of section 3 (the window after
   its first 5 s), counted in the sim process (the probe counts every byte that enters the
   paced 115200 baud line in either direction), against the line's capacity of 11,520
   bytes/s (8N1). Compared with the naive alternative, streaming every channel's value at
   50 Hz: (a) the leanest sampled frame, all 12 values in one block (5 bytes of framing +
   1 id + 4 per channel, hardware.md section 8), and (b) one ScheduleSegment per channel per
   sample as the codec encodes it (firmware_bridge.codec + framing, DATA blocks). Targets:
   host -> board <= 5 % of the line and >= 20x fewer bytes than sampling (a). The board ->
   host direction is mostly telemetry (20 Hz), which both designs need alike.

The timer probe: every sim process here runs `python -c PROBE PROBE.json sim ...`, which is
`massagectl.controller.cli.main(["sim", ...])` with two class methods wrapped before it starts:
BoardDriver._fire (records due time, wake time and the board state before and after; prints
"outputs live" once an output is not safe) and MemoryTransport.write (bytes per second each
way). sim/ itself is not changed; the probe writes PROBE.json when the sim exits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import math
import os
import queue
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console

from massagectl.controller.app import RunOptions, run_routine
from massagectl.controller.config import Config, LogSettings
from massagectl.firmware_bridge.codec import encode_message, pack_payloads
from massagectl.firmware_bridge.framing import encode_block
from massagectl.firmware_bridge.link import Link
from massagectl.firmware_bridge.memory_transport import BITS_PER_BYTE
from massagectl.firmware_bridge.messages import DeviceState, ScheduleSegment
from massagectl.firmware_bridge.wire import (
    BLOCK_OVERHEAD_BYTES,
    CLOCK_MODULUS,
    MAX_PAYLOAD_BYTES,
    BlockKind,
)
from massagectl.routines.device import load_device
from massagectl.sim.board import SimBoard
from massagectl.sim.trace import SegmentOutcome, Trace

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
CLI = [PYTHON, "-m", "massagectl"]
CHAIR = load_device("chair")
SECTIONS = ("virtual", "schedule", "cpu", "kill", "wire")

BAUD = 115200
LINE_BYTES_PER_S = BAUD / BITS_PER_BYTE  # 11,520 with 8N1
THIRTY_MIN_S = 1800.0
VIRTUAL_ROUTINE = "full_body"  # the longest built-in routine: 26 minutes
REALTIME_ROUTINE = "relax"

SIM_START_LIMIT_S = 30.0  # a loaded machine may take a while to import and open the pty
EXIT_LIMIT_S = 20.0
STREAM_ANCHOR_LEAD_S = 0.5  # the synthetic plan starts this long after the link is open
SEGMENT_MIN_S, SEGMENT_MAX_S = 0.1, 0.5
BURNERS = 3  # busy-looping processes for "with CPU load" (the machine has 2 cores)
SKIP_FIRST_S = 5.0  # imports, handshake and the plan's start: not the steady state
WORST_WINDOW_S = 10.0
KILL_AFTER_S = 5.0
KILL_AFTER_LIVE_S = 0.5
AFTER_KILL_WAIT_S = 1.5
SAMPLED_HZ = 50  # the naive alternative: every channel's value streamed at 50 Hz

# Runs the sim exactly as `python -m controller.cli sim ...` does, with two class methods
# wrapped first (sim/ is not edited). argv: PROBE_PATH, then the massagectl arguments.
SIM_PROBE = r'''
import json, sys, time
from massagectl.sim.driver import BoardDriver
from massagectl.firmware_bridge.memory_transport import MemoryTransport
from massagectl.controller.cli import main

probe_path = sys.argv[1]
fires = []  # (due_s, woke_s, state before, state after) for every board timer
bytes_per_second = {"to_board": {}, "to_host": {}}
live = []

fire = BoardDriver._fire
def probed_fire(self):
    due_s, woke_s = self._due_s, self.loop.time()
    before = int(self.board.state)
    fire(self)
    fires.append((due_s, woke_s, before, int(self.board.state)))
    if not live and not self.board.outputs_safe():
        live.append(woke_s)
        print("outputs live", flush=True)
BoardDriver._fire = probed_fire

write = MemoryTransport.write
def counted_write(self, data):
    write(self, data)
    way = "to_host" if self.name.startswith("simulated board") else "to_board"
    second = int(time.monotonic())
    counts = bytes_per_second[way]
    counts[second] = counts.get(second, 0) + len(data)
MemoryTransport.write = counted_write

code = 1
try:
    code = main(sys.argv[2:])
finally:
    with open(probe_path, "w") as file:
        json.dump({"fires": fires, "bytes": bytes_per_second,
                   "live_s": live[0] if live else None}, file)
sys.exit(code)
'''

BURNER = "while True: pass"


# --- small helpers ------------------------------------------------------------------------------


def percentile(samples, fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def print_table(title: str, header: list[str], rows: list[list[str]], notes=()) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    print(f"\n{title}")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        print("| " + " | ".join(cells) + " |")
    for note in notes:
        print(f"({note})")
    sys.stdout.flush()


def safe_vector(profile) -> np.ndarray:
    """Each channel's safe output as the trace stores it (a stopped drive is NaN)."""
    return np.array([np.nan if c.safe_default is None else c.safe_default
                     for c in profile.channels])


def all_safe(outputs: np.ndarray, safe: np.ndarray) -> np.ndarray:
    """Per trace row: every output at its safe value."""
    same = (outputs == safe) | (np.isnan(outputs) & np.isnan(safe))
    return same.all(axis=1)


def write_config(directory: Path) -> Path:
    """A config whose traces and fault log go to `directory`, not the user's state dir."""
    path = directory / "config.toml"
    path.write_text(f'[logs]\ndirectory = "{directory / "logs"}"\n')
    return path


# --- subprocesses ---------------------------------------------------------------------------


class Processes:
    """Every subprocess a measurement starts; on leaving, each still running is killed and
    reaped, whatever happened (an exception, Ctrl-C)."""

    def __init__(self) -> None:
        self._started: list[subprocess.Popen] = []

    def start(self, argv: list[str], **options) -> subprocess.Popen:
        options.setdefault("stdin", subprocess.DEVNULL)  # a controller must not grab the tty
        process = subprocess.Popen(argv, cwd=REPO, **options)
        self._started.append(process)
        return process

    def burners(self, count: int) -> list[subprocess.Popen]:
        return [self.start([PYTHON, "-c", BURNER], stdout=subprocess.DEVNULL)
                for _ in range(count)]

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc_info) -> None:
        for process in reversed(self._started):
            if process.poll() is None:
                process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=EXIT_LIMIT_S)


def end_burners(burners: list[subprocess.Popen]) -> None:
    for process in burners:
        process.kill()
    for process in burners:
        process.wait()


@dataclass
class SimProcess:
    process: subprocess.Popen
    port_path: str
    trace_path: Path
    probe_path: Path
    stderr_path: Path
    lines: queue.Queue  # (time.monotonic(), line) of stdout after the port path


@dataclass
class Probe:
    """What the timer probe saw in the sim process (see the module docstring)."""

    fires: np.ndarray  # rows: due_s, woke_s, state before, state after
    bytes_per_second: dict[str, dict[int, int]]
    live_s: float | None

    def lateness_ms(self, from_s: float, to_s: float) -> np.ndarray:
        due_s, woke_s = self.fires[:, 0], self.fires[:, 1]
        inside = (due_s >= from_s) & (due_s <= to_s)
        return (woke_s[inside] - due_s[inside]) * 1000

    def bytes_per_s(self, way: str, from_s: float, to_s: float) -> float:
        """Mean bytes/s over the whole seconds inside [from_s, to_s)."""
        first, last = math.ceil(from_s), math.floor(to_s)  # seconds [first, last)
        counts = self.bytes_per_second[way]
        total = sum(counts.get(second, 0) for second in range(first, last))
        return total / max(1, last - first)


def start_sim(processes: Processes, workdir: Path, name: str) -> SimProcess:
    trace_path, probe_path = workdir / f"{name}.npz", workdir / f"{name}-probe.json"
    stderr_path = workdir / f"{name}-sim.err"
    argv = [PYTHON, "-c", SIM_PROBE, str(probe_path), "sim", "--device", "chair",
            "--trace", str(trace_path)]
    with stderr_path.open("w") as stderr:
        process = processes.start(argv, stdout=subprocess.PIPE, stderr=stderr, text=True)
    lines: queue.Queue = queue.Queue()

    def read_lines() -> None:  # a thread: readline blocks, and the sim may hang
        for line in process.stdout:
            lines.put((time.monotonic(), line.strip()))

    threading.Thread(target=read_lines, daemon=True).start()
    try:
        _, port_path = lines.get(timeout=SIM_START_LIMIT_S)
    except queue.Empty:
        raise RuntimeError(f"the sim printed no port: {stderr_path.read_text()[-2000:]}") from None
    return SimProcess(process, port_path, trace_path, probe_path, stderr_path, lines)


def wait_for_line(sim: SimProcess, text: str, limit_s: float) -> float:
    """time.monotonic() at which the sim printed `text`."""
    deadline_s = time.monotonic() + limit_s
    while True:
        try:
            seen_s, line = sim.lines.get(timeout=max(0.01, deadline_s - time.monotonic()))
        except queue.Empty:
            raise RuntimeError(f"the sim never printed {text!r}") from None
        if line == text:
            return seen_s


def stop_sim(sim: SimProcess) -> tuple[Trace, Probe]:
    """SIGTERM (the sim saves its trace on the way out), then read the trace and the probe."""
    sim.process.send_signal(signal.SIGTERM)
    try:
        sim.process.wait(timeout=EXIT_LIMIT_S)
    except subprocess.TimeoutExpired:
        raise RuntimeError("the sim did not exit on SIGTERM") from None
    if not sim.trace_path.exists():
        raise RuntimeError(f"the sim saved no trace: {sim.stderr_path.read_text()[-2000:]}")
    raw = json.loads(sim.probe_path.read_text())
    fires = np.array(raw["fires"], dtype=float).reshape(-1, 4)
    counts = {way: {int(s): n for s, n in per.items()} for way, per in raw["bytes"].items()}
    return Trace.load(sim.trace_path), Probe(fires, counts, raw["live_s"])


def start_controller(processes: Processes, sim: SimProcess, workdir: Path,
                     name: str) -> subprocess.Popen:
    """`massagectl run relax --port PTY --quiet --no-scan --config CFG`, in real time."""
    config = write_config(workdir)
    argv = [*CLI, "run", REALTIME_ROUTINE, "--port", sim.port_path, "--quiet", "--no-scan",
            "--config", str(config)]
    with (workdir / f"{name}-controller.out").open("w") as out:
        return processes.start(argv, stdout=out, stderr=subprocess.STDOUT)


# --- 1. a 30-minute session in virtual time -------------------------------------------------


class BoardTimer:
    """Wall time spent inside the simulated board (SimBoard's entry points), while active.

    The entry points call each other (handle -> host_frame_received -> advance), so only the
    outermost call is timed."""

    ENTRY_POINTS = ("advance", "handle", "host_frame_received")

    def __init__(self) -> None:
        self.spent_s = 0.0
        self._originals = {name: getattr(SimBoard, name) for name in self.ENTRY_POINTS}
        self._depth = 0

    def _timed(self, original):
        def wrapper(board, *args, **kwargs):
            if self._depth:
                return original(board, *args, **kwargs)
            self._depth = 1
            start = time.perf_counter()
            try:
                return original(board, *args, **kwargs)
            finally:
                self.spent_s += time.perf_counter() - start
                self._depth = 0
        return wrapper

    def __enter__(self) -> BoardTimer:
        for name, original in self._originals.items():
            setattr(SimBoard, name, self._timed(original))
        return self

    def __exit__(self, *exc_info) -> None:
        for name, original in self._originals.items():
            setattr(SimBoard, name, original)


@dataclass
class VirtualRun:
    wall_s: float
    simulated_s: float
    board_s: float


def virtual_session(body_scan: bool) -> VirtualRun:
    with tempfile.TemporaryDirectory(prefix="bench-session-") as directory:
        config = Config(logs=LogSettings(directory=Path(directory)))
        options = RunOptions(routine=VIRTUAL_ROUTINE, config=config, speed=None,
                             show_status=False, body_scan=body_scan)
        with BoardTimer() as board:
            start = time.perf_counter()
            result = run_routine(options, Console(file=io.StringIO()))
            wall_s = time.perf_counter() - start
        if result.outcome.ended != "finished":
            raise RuntimeError(f"the virtual session did not finish: {result.outcome}")
        # The session's own trace ends with its "end" event, in host (virtual) seconds since
        # the recording started: the simulated length of the session, scan included.
        with np.load(result.trace) as data:
            events = [json.loads(line) for line in str(data["events"]).splitlines()]
        simulated_s = next(e["t_s"] for e in reversed(events) if e["kind"] == "end")
    return VirtualRun(wall_s, simulated_s, board.spent_s)


def virtual_table(repeats: int) -> None:
    rows = []
    for label, body_scan in (("no body scan", False), ("with body scan", True)):
        runs = [virtual_session(body_scan) for _ in range(repeats)]
        walls = [r.wall_s for r in runs]
        per_30_min = [r.wall_s * THIRTY_MIN_S / r.simulated_s for r in runs]
        rates = [r.simulated_s / r.wall_s for r in runs]
        board_share = statistics.median(r.board_s / r.wall_s for r in runs)
        median_30 = statistics.median(per_30_min)
        rows.append([
            f"{VIRTUAL_ROUTINE}, {label}", f"{statistics.median(r.simulated_s for r in runs):.0f}",
            f"{statistics.median(walls):.2f}", f"{max(walls):.2f}", f"{median_30:.2f}",
            f"{max(per_30_min):.2f}", f"{statistics.median(rates):.0f}",
            f"{100 * board_share:.0f} %", f"{THIRTY_MIN_S / median_30:.0f}x",
            "yes" if median_30 <= 5.0 else "NO",
        ])
    print_table(
        f"1. 30-minute session in virtual time (massagectl run {VIRTUAL_ROUTINE} --speed max "
        f"--quiet, in-process), {repeats} repeat(s)",
        ["session", "sim s", "wall s med", "wall s worst", "wall s/30 min", "worst/30 min",
         "sim s/wall s", "in board", "x real time", "<= 5 s"],
        rows,
        [f"{VIRTUAL_ROUTINE} lasts 26 min; per-30-min figures are scaled by 1800 / sim s",
         "naive: the same session in real time takes 1800 s per 30 minutes",
         "in board: wall time inside SimBoard.advance/handle/host_frame_received"],
    )


# --- 2. schedule accuracy at the board ------------------------------------------------------


@dataclass(frozen=True)
class PlannedSegment:
    start_s: float  # plan seconds from the anchor
    channel: int
    duration_s: float
    start_value: float
    end_value: float


def synthetic_stream(duration_s: float, seed: int = 11) -> list[PlannedSegment]:
    """Every channel a new ramp every 0.1-0.5 s, in the middle of its range (5-60 % of the
    span: far from any limit the board checks) and within its max_rate_per_s, each segment
    starting where the last one ended. Sorted by start."""
    rng = random.Random(seed)
    plan = []
    for index, channel in enumerate(CHAIR.channels):
        span = channel.max - channel.min
        low, high = channel.min + 0.05 * span, channel.min + 0.6 * span
        value, start_s = low, 0.0
        while start_s < duration_s:
            length_s = rng.uniform(SEGMENT_MIN_S, SEGMENT_MAX_S)
            step = rng.uniform(-1.0, 1.0) * channel.max_rate_per_s * length_s
            end = min(high, max(low, value + step))
            plan.append(PlannedSegment(start_s, index, length_s, value, end))
            value, start_s = end, start_s + length_s
    return sorted(plan, key=lambda s: (s.start_s, s.channel))


@dataclass
class Sent:
    channel: int
    planned_ticks: int  # the board tick the plan asked for (unwrapped)
    duration_ticks: int


@dataclass
class Streamed:
    sent: list[Sent]
    link_late: int  # the link's count of segments sent with less than its minimum lead
    from_s: float  # time.monotonic() window of the stream
    to_s: float


@dataclass
class StreamRun:
    approach: str
    loaded: bool
    streamed: Streamed
    trace: Trace
    probe: Probe


async def send_segment(link: Link, approach: str, channel: int, start_ticks: int,
                       duration_ticks: int, start_value: float, end_value: float) -> None:
    loop = asyncio.get_running_loop()
    if approach == "shipped":
        start_clock = start_ticks  # sent ahead: the board starts it on its own clock
    else:
        # Host-timed: wait for the moment on the host, then say "now" to the board.
        await asyncio.sleep(max(0.0, link.clock.host_time_at(start_ticks) - loop.time()))
        start_clock = link.clock.clock_at(loop.time())
    await link.schedule(ScheduleSegment(channel, start_clock % CLOCK_MODULUS, duration_ticks,
                                        start_value, end_value))


async def stream(port_path: str, approach: str, duration_s: float) -> Streamed:
    """Open the link, stream the synthetic plan one way or the other, let it run out, close."""
    loop = asyncio.get_running_loop()
    link = await Link.open(port_path, CHAIR)
    try:
        hz = link.identity.info.clock_hz
        anchor = link.clock.clock_at(loop.time() + STREAM_ANCHOR_LEAD_S)
        began_s = loop.time()
        sent = []
        for planned in synthetic_stream(duration_s):
            # Rounded on the absolute tick grid, as streamer.wire_segments does.
            start_ticks = anchor + round(planned.start_s * hz)
            end_ticks = anchor + round((planned.start_s + planned.duration_s) * hz)
            await send_segment(link, approach, planned.channel, start_ticks,
                               end_ticks - start_ticks, planned.start_value, planned.end_value)
            sent.append(Sent(planned.channel, start_ticks, end_ticks - start_ticks))
        # Let the last segments run out before the Stop that closing the link sends.
        last_end_s = max(link.clock.host_time_at(s.planned_ticks + s.duration_ticks)
                         for s in sent)
        await asyncio.sleep(max(0.0, last_end_s - loop.time()) + 0.2)
        return Streamed(sent, link.counters.late_segments, began_s, loop.time())
    finally:
        await link.close()


def schedule_run(approach: str, loaded: bool, duration_s: float, workdir: Path) -> StreamRun:
    name = f"schedule-{approach}-{'load' if loaded else 'idle'}"
    with Processes() as processes:
        burners = processes.burners(BURNERS) if loaded else []
        sim = start_sim(processes, workdir, name)
        streamed = asyncio.run(stream(sim.port_path, approach, duration_s))
        end_burners(burners)
        trace, probe = stop_sim(sim)
    return StreamRun(approach, loaded, streamed, trace, probe)


def match_rows(run: StreamRun) -> np.ndarray:
    """The trace's row for each sent segment (the line and the protocol keep each channel's
    segments in order)."""
    rows = run.trace.segments
    by_channel = defaultdict(list)
    for number, channel in enumerate(rows["channel"]):
        by_channel[int(channel)].append(number)
    cursor = defaultdict(int)
    matched = []
    for segment in run.streamed.sent:
        number = by_channel[segment.channel][cursor[segment.channel]]
        cursor[segment.channel] += 1
        if rows["duration_ticks"][number] != segment.duration_ticks:
            raise RuntimeError(f"trace row {number} does not match segment {segment}")
        matched.append(number)
    return rows[np.array(matched)]


def load_label(loaded: bool) -> str:
    return f"{BURNERS} busy loops" if loaded else "none"


def schedule_row(run: StreamRun) -> list[str]:
    rows = match_rows(run)
    hz = run.trace.clock_hz
    planned_ticks = np.array([s.planned_ticks for s in run.streamed.sent])
    ran = rows["executed_ticks"] >= 0
    # Against the plan, not the message: a host-timed message already carries a late start.
    errors_ms = np.abs(rows["executed_ticks"][ran] - planned_ticks[ran]) / hz * 1000
    lead = "-"
    if run.approach == "shipped":
        # Here the message is the plan, so this is exactly trace.timing_errors_s().
        assert np.array_equal(rows["planned_ticks"], planned_ticks)
        lead_ms = (rows["planned_ticks"] - rows["arrival_ticks"]) / hz * 1000
        lead = f"{lead_ms.min():.0f}"
    not_run = int((rows["outcome"] != SegmentOutcome.EXECUTED).sum())
    return [run.approach, load_label(run.loaded), f"{int(ran.sum())}",
            f"{np.median(errors_ms):.3f}", f"{percentile(errors_ms, 0.99):.3f}",
            f"{errors_ms.max():.3f}", f"{int(rows['late'].sum())}",
            f"{run.streamed.link_late}", lead, f"{not_run}"]


def schedule_tables(duration_s: float) -> None:
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-session-") as directory:
        for loaded in (False, True):
            for approach in ("shipped", "naive"):
                runs.append(schedule_run(approach, loaded, duration_s, Path(directory)))
    print_table(
        f"2. Schedule accuracy at the board: {duration_s:.0f} s of a dense stream (12 channels, "
        "a segment every 0.1-0.5 s each), real time, pyserial over a pty, board in another "
        "process; ms",
        ["approach", "CPU load", "segments", "|error| med", "p99", "max", "late",
         "link late", "closest lead", "not run"],
        [schedule_row(run) for run in runs],
        ["error: executed tick (board trace) - the tick the plan asked for; target: shipped "
         "p99 <= 1 ms",
         "late: started after the start in the message; link late: sent with < 100 ms lead",
         "closest lead: the smallest margin (ms) between a segment's arrival and its start",
         "the simulated board starts a queued segment at its planned tick (as a timer "
         "interrupt would): see the next table for how late its process really woke"],
    )
    rows = []
    for run in runs:
        lateness = run.probe.lateness_ms(run.streamed.from_s, run.streamed.to_s)
        rows.append([run.approach, load_label(run.loaded), f"{lateness.size}",
                     f"{np.median(lateness):.3f}", f"{percentile(lateness, 0.99):.3f}",
                     f"{lateness.max():.3f}"])
    print_table(
        "   The board process's own timer during those runs: wake-up - due time, ms",
        ["approach", "CPU load", "timers", "median", "p99", "max"], rows,
        ["each timer is the board's next event: a segment boundary, telemetry, status, "
         "watchdog; a firmware's timer interrupt is late by microseconds"],
    )


# --- 3 and 5. controller CPU and memory, the wire's share --------------------------------------


def proc_cpu_s(pid: int) -> float:
    """utime + stime of a process, seconds."""
    with open(f"/proc/{pid}/stat") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_memory_kb(pid: int) -> dict[str, int]:
    values = {}
    with open(f"/proc/{pid}/status") as file:
        for line in file:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    return values


@dataclass
class RealtimeRun:
    started_s: float
    interrupted_s: float
    samples: list[tuple[float, float, int, float]] = field(default_factory=list)
    # (time.monotonic(), controller cpu s, controller rss kB, sim cpu s)
    peak_rss_kb: int = 0
    exit_code: int | None = None
    outcome: str = ""
    probe: Probe | None = None


def realtime_run(duration_s: float, workdir: Path) -> RealtimeRun:
    with Processes() as processes:
        sim = start_sim(processes, workdir, "realtime")
        controller = start_controller(processes, sim, workdir, "realtime")
        run = RealtimeRun(time.monotonic(), 0.0)
        pid = controller.pid
        next_s = run.started_s
        while time.monotonic() - run.started_s < duration_s:
            if controller.poll() is not None:
                raise RuntimeError(f"the controller exited early with {controller.returncode}: "
                                   + (workdir / "realtime-controller.out").read_text()[-2000:])
            run.samples.append((time.monotonic(), proc_cpu_s(pid),
                                proc_memory_kb(pid)["VmRSS"], proc_cpu_s(sim.process.pid)))
            next_s += 1.0
            time.sleep(max(0.0, next_s - time.monotonic()))
        run.samples.append((time.monotonic(), proc_cpu_s(pid), proc_memory_kb(pid)["VmRSS"],
                            proc_cpu_s(sim.process.pid)))
        run.peak_rss_kb = proc_memory_kb(pid)["VmHWM"]
        run.interrupted_s = time.monotonic()
        controller.send_signal(signal.SIGINT)  # Ctrl-C: a stop through the safety layer
        try:
            run.exit_code = controller.wait(timeout=EXIT_LIMIT_S)
        except subprocess.TimeoutExpired:
            run.exit_code = None
        said = (workdir / "realtime-controller.out").read_text().splitlines()
        run.outcome = said[0] if said else "(nothing)"
        _, run.probe = stop_sim(sim)
    return run


def cpu_percent(samples, column: int, from_s: float) -> tuple[float, float]:
    """Mean CPU % of one core from `from_s` on, and the worst window of WORST_WINDOW_S."""
    kept = [(s[0], s[column]) for s in samples if s[0] >= from_s]
    mean = 100 * (kept[-1][1] - kept[0][1]) / (kept[-1][0] - kept[0][0])
    worst = 0.0
    for i, (t0, c0) in enumerate(kept):
        for t1, c1 in kept[i + 1:]:
            if t1 - t0 >= WORST_WINDOW_S - 0.5:
                worst = max(worst, 100 * (c1 - c0) / (t1 - t0))
                break
    return mean, worst


def cpu_table(run: RealtimeRun, duration_s: float) -> None:
    from_s = run.started_s + SKIP_FIRST_S
    mean, worst = cpu_percent(run.samples, 1, from_s)
    sim_mean, sim_worst = cpu_percent(run.samples, 3, from_s)
    rss_end_mb = run.samples[-1][2] / 1024
    peak_mb = run.peak_rss_kb / 1024
    exit_ok = "3 (stopped)" if run.exit_code == 3 else f"{run.exit_code} (EXPECTED 3)"
    print_table(
        f"3. Controller CPU and memory in real time: massagectl run {REALTIME_ROUTINE} over a pty "
        f"for {duration_s:.0f} s, then SIGINT",
        ["process", "CPU % mean", "worst 10 s", "RSS peak MB", "RSS end MB", "exit code",
         "<= 3 %, <= 80 MB"],
        [["controller", f"{mean:.2f}", f"{worst:.2f}", f"{peak_mb:.1f}", f"{rss_end_mb:.1f}",
          exit_ok, "yes" if mean <= 3 and worst <= 3 and peak_mb <= 80 else "NO"],
         ["sim (context)", f"{sim_mean:.2f}", f"{sim_worst:.2f}", "-", "-", "-", "-"]],
        [f"CPU % of one core over the window after the first {SKIP_FIRST_S:.0f} s; RSS peak is "
         "VmHWM before the SIGINT",
         f"controller said: {run.outcome}"],
    )


def sampled_bytes_per_s() -> tuple[float, float]:
    """The naive alternative: (a) all values in one block per sample, (b) one ScheduleSegment
    per channel per sample, packed into DATA blocks as the protocol packs queued messages."""
    channels = len(CHAIR.channels)
    one_frame = BLOCK_OVERHEAD_BYTES + 1 + 4 * channels
    segments = [encode_message(ScheduleSegment(i, 0, 20_000, 1.0, 1.0))
                for i in range(channels)]
    per_sample = sum(len(encode_block(BlockKind.DATA, 0, payload))
                     for payload in pack_payloads(segments, MAX_PAYLOAD_BYTES))
    return SAMPLED_HZ * one_frame, SAMPLED_HZ * per_sample


def wire_table(run: RealtimeRun) -> None:
    from_s, to_s = run.started_s + SKIP_FIRST_S, run.interrupted_s
    down = run.probe.bytes_per_s("to_board", from_s, to_s)
    up = run.probe.bytes_per_s("to_host", from_s, to_s)
    frame, segments = sampled_bytes_per_s()

    def share(rate: float) -> str:
        return f"{100 * rate / LINE_BYTES_PER_S:.2f} %"

    print_table(
        f"5. The wire's share during the real-time {REALTIME_ROUTINE} session "
        f"({to_s - from_s:.0f} s window), 115200 baud = {LINE_BYTES_PER_S:.0f} bytes/s each way",
        ["traffic", "bytes/s", "share of line", "x host -> board"],
        [["host -> board (segments, heartbeats, remote display)", f"{down:.0f}", share(down),
          "1.0"],
         ["board -> host (telemetry, status, acks, clock reports)", f"{up:.0f}", share(up), "-"],
         [f"naive (a): all channels in one {BLOCK_OVERHEAD_BYTES + 1 + 4 * len(CHAIR.channels)}"
          f"-byte frame at {SAMPLED_HZ} Hz", f"{frame:.0f}", share(frame), f"{frame / down:.1f}"],
         [f"naive (b): a ScheduleSegment per channel at {SAMPLED_HZ} Hz", f"{segments:.0f}",
          share(segments), f"{segments / down:.1f}"]],
        ["bytes counted in the sim process as they enter the paced line; targets: host -> "
         "board <= 5 % and >= 20x fewer bytes than naive (a)",
         "x host -> board: naive bytes / the session's host -> board bytes"],
    )


# --- 4. host killed -> board safe --------------------------------------------------------------


@dataclass
class KillRun:
    live_at_kill: bool
    watchdog_ms: float | None  # the board's SHUTDOWN event, board clock
    sample_ms: float | None  # first telemetry sample with every output safe
    acted_ms: float | None  # when the board process actually ran the shutdown (wall clock)
    cause: str


def kill_run(workdir: Path, name: str) -> KillRun:
    with Processes() as processes:
        sim = start_sim(processes, workdir, name)
        controller = start_controller(processes, sim, workdir, name)
        started_s = time.monotonic()
        live_s = wait_for_line(sim, "outputs live", limit_s=60.0)
        time.sleep(max(0.0, max(started_s + KILL_AFTER_S, live_s + KILL_AFTER_LIVE_S)
                       - time.monotonic()))
        controller.kill()
        killed_s = time.monotonic()
        controller.wait()
        time.sleep(AFTER_KILL_WAIT_S)
        trace, probe = stop_sim(sim)
    safe = all_safe(trace.outputs, safe_vector(CHAIR))
    times_s = trace.times_s
    before = np.nonzero(times_s <= killed_s)[0]
    live_at_kill = bool(before.size) and not safe[before[-1]]
    after = np.nonzero((times_s > killed_s) & safe)[0]
    sample_ms = (times_s[after[0]] - killed_s) * 1000 if after.size else None
    shutdowns = [e for e in trace.events_of("state")
                 if e.detail.get("state") == "SHUTDOWN" and e.time_s > killed_s]
    watchdog_ms = (shutdowns[0].time_s - killed_s) * 1000 if shutdowns else None
    cause = shutdowns[0].detail.get("cause", "?") if shutdowns else "none"
    acted = [woke_s for due_s, woke_s, was, now in probe.fires
             if woke_s > killed_s and was == DeviceState.READY and now == DeviceState.SHUTDOWN]
    acted_ms = (acted[0] - killed_s) * 1000 if acted else None
    return KillRun(live_at_kill, watchdog_ms, sample_ms, acted_ms, cause)


def kill_table(repeats: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-session-") as directory:
        runs = [kill_run(Path(directory), f"kill-{i}") for i in range(repeats)]

    def ms(value: float | None) -> str:
        return "never" if value is None else f"{value:.1f}"

    rows = [[f"{i + 1}", "yes" if r.live_at_kill else "NO", r.cause, ms(r.watchdog_ms),
             ms(r.sample_ms), ms(r.acted_ms)] for i, r in enumerate(runs)]
    for label, pick in (("median", statistics.median), ("max", max)):
        cells = []
        for key in ("watchdog_ms", "sample_ms", "acted_ms"):
            values = [getattr(r, key) for r in runs]
            cells.append("never" if None in values else f"{pick(values):.1f}")
        rows.append([label, "", "", *cells])
    print_table(
        f"4. Host killed -> board safe: SIGKILL to massagectl run {REALTIME_ROUTINE} mid-session, "
        f"{repeats} run(s), ms after the kill",
        ["run", "outputs live at kill", "stop cause", "SHUTDOWN (board clock)",
         "first safe sample", "board process acted (wall)"],
        rows,
        ["target <= 600 ms (watchdog 500 ms + one 50 ms telemetry tick); the watchdog counts "
         "from the last frame that reached the board, up to 100 ms (a keep-alive) before the "
         "kill"],
    )


# --- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="short runs, one repeat: under two minutes")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections: {','.join(SECTIONS)} (default: all)")
    args = parser.parse_args()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    repeats = 1 if args.quick else 3
    stream_s = 10.0 if args.quick else 30.0
    realtime_s = 30.0 if args.quick else 120.0
    if "cpu" not in chosen:
        realtime_s = 30.0  # the wire alone needs less

    began = time.perf_counter()
    print(f"bench_session: sections {', '.join(chosen)}; "
          f"{'quick' if args.quick else 'full'} run; {os.cpu_count()} cores", flush=True)
    if "virtual" in chosen:
        virtual_table(repeats)
    if "schedule" in chosen:
        schedule_tables(stream_s)
    if "cpu" in chosen or "wire" in chosen:
        with tempfile.TemporaryDirectory(prefix="bench-session-") as directory:
            run = realtime_run(realtime_s, Path(directory))
        if "cpu" in chosen:
            cpu_table(run, realtime_s)
    if "kill" in chosen:
        kill_table(repeats)
    if "wire" in chosen:
        wire_table(run)  # from the real-time run of section 3
    print(f"\n(total {time.perf_counter() - began:.0f} s)")


if __name__ == "__main__":
    main()
