"""A session over a damaged line: does it ride through, and does it still notice a cut line?

Run from the repository root:

    python benchmarks/bench_damaged_line.py            # 4 damage rates x 5 seeds x 120 s
    python benchmarks/bench_damaged_line.py --quick    # 2 seeds x 60 s
    python benchmarks/bench_damaged_line.py --rates 0,3 --shipped-only   # some rows only

What runs, in virtual time (sim/virtual_loop.py), per damage rate and seed: the built-in chair
simulated in-process behind a 115200 baud in-memory line, the real Link, StopPath and Supervisor
(as `massagectl run` wires them), and the `relax` routine admitted for the default user and
streamed segment by segment. Between the link and the line sits the transport seam's
FaultyTransport: each byte in either direction is dropped with probability p/2 and replaced by
another value with probability p/2, so "1 %" means one byte in a hundred is damaged.

First the link's goodput is measured: for BULK_S simulated seconds the host queues display rows
(ShowText, 20 characters) as fast as its window lets it, and the board counts the DATA payload
bytes it accepts once. Then the session runs for the chosen time (or until something stops it);
then the line is cut (every byte dropped both ways) and the time until the host stops the
session (supervisor trip or link lost) and until the board is safe (its watchdog) is measured.

Each rate runs twice in the same process: "shipped" as the code stands, and "before", the naive
settings this benchmark replaced (hardware.md protocol 3): telemetry stale after 0.5 s, all 16
readings in one 63-byte SensorReport, a watchdog frame every 100 ms, the retransmission timeout
bounded by Klipper's 5 s, and full DATA blocks after a loss.

Columns:
- approach: shipped or before.
- damaged: p, the share of damaged bytes per direction.
- ran s: simulated seconds the session ran before anything stopped it (the chosen time if
  nothing did), median and minimum over the seeds; "stopped by" names what ended the worst one.
- goodput: DATA payload bytes per second the board accepted once during the bulk phase (the
  naive figure for comparison: the line's 11,520 bytes/s), and retransmitted blocks per minute
  of the session (link counters), medians.
- telemetry gap: the host's gaps between readings of the same sensors (SensorReports with the
  same first sensor), p50 / p99 / max over all seeds, in ms; the supervisor calls telemetry
  stale at 1000 ms.
- host -> board B/s: bytes the host wrote per second of the session (watchdog frames, segments,
  retransmissions), median.
- watchdog gap: the board's longest time without a valid host block during the session, max
  over the seeds, in ms, and the board's watchdog shutdowns in all of them (it trips at 500 ms).
- cut -> host stops / board safe: ms from the cut to the stop request on the host and to the
  board's watchdog shutdown, median and max.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import statistics

from massagectl.firmware_bridge import host_protocol, rto
from massagectl.firmware_bridge.faults import ByteFaults, FaultyTransport
from massagectl.firmware_bridge.link import Link
from massagectl.firmware_bridge.memory_transport import memory_pair
from massagectl.firmware_bridge.messages import SensorReport, ShowText
from massagectl.firmware_bridge.streamer import anchor_after, wire_segments
from massagectl.routines.compiler import compile_routine
from massagectl.routines.device import load_device
from massagectl.routines.errors import HandshakeError, LinkLostError
from massagectl.routines.library import load_builtin
from massagectl.routines.user import DEFAULT_USER
from massagectl.safety.admission import admit
from massagectl.safety.fault_log import FaultLog
from massagectl.safety.stop_path import StopPath
from massagectl.safety.supervisor import Supervisor
from massagectl.safety.verdicts import AdmittedPlan
from massagectl.sim import board as board_module
from massagectl.sim.attach import AttachedBoard
from massagectl.sim.board import SimBoard
from massagectl.sim.virtual_loop import VirtualTimeLoop

BAUD = 115200
RATES = (0.0, 0.001, 0.01, 0.02, 0.03)
BULK_S = 10.0
CUT_WAIT_S = 5.0  # after the cut: the host's limits are 1-2 s, the board's watchdog 0.5 s


# The settings before: (module, name, value), and the link's and supervisor's options.
BEFORE = ((rto, "MAX_RTO_S", 5.0), (host_protocol, "SMALL_BLOCKS_AFTER_LOSS_S", 0.0),
          (board_module, "SENSOR_VALUES_PER_REPORT", 17))
BEFORE_LINK = {"heartbeat_period_s": 0.1, "clean_period_s": None}  # every 100 ms, clean or not
BEFORE_STALE_S = 0.5


@contextlib.contextmanager
def approach(before: bool):
    saved = [(module, name, getattr(module, name)) for module, name, _ in BEFORE]
    if before:
        for module, name, value in BEFORE:
            setattr(module, name, value)
    try:
        yield (BEFORE_LINK if before else {}), (BEFORE_STALE_S if before else None)
    finally:
        for module, name, value in saved:
            setattr(module, name, value)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


@contextlib.asynccontextmanager
async def damaged_chair(rate: float, seed: int):
    """A simulated chair behind a line damaging `rate` of its bytes each way: (board, its
    endpoint, the host's end of the line)."""
    loop = asyncio.get_running_loop()
    host_end, board_end = memory_pair(baud=BAUD)
    damage = ByteFaults(drop=rate / 2, corrupt=rate / 2)
    line = FaultyTransport(host_end, outgoing=damage, incoming=damage, seed=seed)
    board = SimBoard(load_device("chair"), now_s=loop.time(), seed=seed, trace_samples=False)
    attached = AttachedBoard(board, board_end)
    attached.start()
    try:
        yield board, attached, line
    finally:
        await attached.aclose()
        await board_end.close()


async def bulk_run(rate: float, seed: int, link_options: dict) -> tuple[float, str]:
    """DATA payload bytes per second the board accepted once while the host kept its window
    full of display rows for BULK_S; and what ended the phase early, if anything."""
    loop = asyncio.get_running_loop()
    async with damaged_chair(rate, seed) as (_, attached, line):
        try:
            link = await Link.open(line, load_device("chair"), **link_options)
        except HandshakeError as error:
            return 0.0, f"handshake: {error.args[0][:40]}"
        before = board_accepted(attached)
        start_s = loop.time()
        ended = ""
        try:
            row = 0
            while loop.time() - start_s < BULK_S:
                row += 1
                await link.send(ShowText(row % 4, f"row {row:>16}"))
            await link.drain(timeout_s=30.0)
        except LinkLostError as error:
            ended = error.args[0].split(" lost: ")[-1][:40]
        goodput = (board_accepted(attached) - before) / (loop.time() - start_s)
        await link.close()
        return goodput, ended


async def session_run(rate: float, seed: int, run_s: float, link_options: dict,
                      stale_s: float | None) -> dict:
    loop = asyncio.get_running_loop()
    device = load_device("chair")
    async with damaged_chair(rate, seed) as (board, _, line):
        fed_s = watch_host_blocks(board)
        try:
            link = await Link.open(line, device, **link_options)
        except HandshakeError as error:
            return {"ran_s": 0.0, "stopped_by": f"handshake failed: {error.args[0][:40]}",
                    "retransmits_per_min": 0.0, "gaps_ms": [], "host_bytes_per_s": 0.0,
                    "watchdog_gap_ms": 0.0, "watchdog_trips": 0}
        result: dict = {}
        stop_path = StopPath(link, FaultLog(None))
        supervisor = Supervisor(device, stop_path, clock_hz=link.identity.info.clock_hz)
        if stale_s is not None:
            supervisor.stale_after_s = stale_s
        arrivals: dict[int, list[float]] = {}  # per report (first sensor): host arrival times

        def on_message(message: object) -> None:
            now_s = loop.time()
            if isinstance(message, SensorReport):
                arrivals.setdefault(message.first_index, []).append(now_s)
            supervisor.on_message(message, now_s)

        remove = link.add_listener(on_message)
        watch = loop.create_task(supervisor.watch())
        plan = compile_routine(load_builtin("relax"), device, DEFAULT_USER)
        admitted = admit(plan, device, DEFAULT_USER)
        assert isinstance(admitted, AdmittedPlan), str(admitted)
        anchor = anchor_after(link)
        supervisor.begin_session(admitted, loop.time(), anchor_clock=anchor)
        segments = wire_segments(admitted.plan, anchor, link.identity.info.clock_hz)

        async def stream() -> None:
            for segment in segments:
                supervisor.check_segment(segment)
                await link.schedule(segment)

        streaming = loop.create_task(stream())
        started_s = loop.time()
        retransmits_before = link.counters.retransmits
        bytes_before = link.counters.bytes_out
        while loop.time() - started_s < run_s and not stop_path.stopping \
                and stop_path.last_outcome is None and link.connected:
            await asyncio.sleep(0.05)
        ran_s = loop.time() - started_s
        result["ran_s"] = ran_s
        result["stopped_by"] = stopped_by(stop_path, link, supervisor) if ran_s < run_s else ""
        result["retransmits_per_min"] = (link.counters.retransmits - retransmits_before) / (
            ran_s / 60)
        result["gaps_ms"] = [(b - a) * 1e3 for times in arrivals.values()
                             for a, b in itertools.pairwise(times)]
        result["host_bytes_per_s"] = (link.counters.bytes_out - bytes_before) / ran_s
        session_end_s = loop.time()
        fed = [t for t in fed_s if started_s <= t <= session_end_s]
        result["watchdog_gap_ms"] = max(
            (b - a for a, b in itertools.pairwise([started_s, *fed, session_end_s])),
            default=0.0) * 1e3
        result["watchdog_trips"] = sum(
            1 for e in board.trace.events_of("state")
            if e.detail.get("cause") == "WATCHDOG" and started_s <= e.time_s <= session_end_s)
        if ran_s >= run_s:  # still running: cut the line
            cut = ByteFaults(drop=1.0)
            line.outgoing = line.incoming = cut
            cut_s = loop.time()
            while not (stop_path.stopping or stop_path.last_outcome is not None
                       or not link.connected) and loop.time() - cut_s < CUT_WAIT_S:
                await asyncio.sleep(0.001)
            result["cut_host_ms"] = (loop.time() - cut_s) * 1e3
            await asyncio.sleep(CUT_WAIT_S)
            shutdowns = [e.time_s for e in board.trace.events_of("state")
                         if e.detail.get("state") == "SHUTDOWN" and e.time_s >= cut_s]
            result["cut_board_ms"] = (shutdowns[0] - cut_s) * 1e3 if shutdowns else float("inf")
        streaming.cancel()
        watch.cancel()
        await asyncio.gather(streaming, watch, return_exceptions=True)
        await stop_path.finished()
        remove()
        await link.close()
        return result


def watch_host_blocks(board: SimBoard) -> list[float]:
    """The host times at which a valid host block fed the board's watchdog, as they come."""
    fed_s: list[float] = []
    feed = board.host_frame_received

    def fed(now_s: float) -> None:
        fed_s.append(now_s)
        feed(now_s)

    board.host_frame_received = fed  # type: ignore[method-assign]  # the driver calls it
    return fed_s


def board_accepted(attached: AttachedBoard) -> int:
    """DATA payload bytes the board accepted (each accepted block once)."""
    return attached.protocol.stats.payload_bytes_accepted


def stopped_by(stop_path: StopPath, link: Link, supervisor: Supervisor) -> str:
    if supervisor.latch.faults:
        return str(supervisor.latch.faults[0])[:60]
    if not link.connected:
        return f"link lost: {link.lost_reason}"
    return "stop"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds x 60 s")
    parser.add_argument("--rates", default=",".join(f"{r * 100:g}" for r in RATES),
                        help="damaged bytes in percent, comma-separated (default: %(default)s)")
    parser.add_argument("--shipped-only", action="store_true",
                        help="leave out the rows of the settings before")
    args = parser.parse_args()
    rates = [float(r) / 100 for r in args.rates.split(",")]
    logging.basicConfig(level=logging.ERROR)  # the cut line's "link lost" is expected here
    seeds, run_s = (2, 60.0) if args.quick else (5, 120.0)
    print(f"relax on the chair, {seeds} seeds x {run_s:g} simulated s per damage rate; "
          "damage p per byte, each direction (half dropped, half changed)\n")
    print("| approach | damaged | ran s (median / min) | stopped by (worst run) | goodput B/s "
          "(links lost) | retransmits/min | telemetry gap ms p50 / p99 / max | host -> board B/s "
          "| watchdog gap ms (max; trips) | cut -> host stops ms (median / max) | cut -> board "
          "safe ms (median / max) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for rate in rates:
        for before in (False,) if args.shipped_only else (False, True):
            print(row(rate, before, seeds, run_s), flush=True)


def measured(rate: float, before: bool, seeds: int, run_s: float
             ) -> tuple[list[dict], list[tuple[float, str]]]:
    """Per seed: the session's result and the bulk phase's (goodput, what ended it)."""
    runs, bulk = [], []
    with approach(before) as (link_options, stale_s):
        for seed in range(seeds):
            with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
                bulk.append(runner.run(bulk_run(rate, seed, link_options)))
            with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
                runs.append(runner.run(session_run(rate, seed, run_s, link_options, stale_s)))
    return runs, bulk


def figures(quick: bool) -> list:
    """Section 5 of `python -m benchmarks`: 0, 0.1, 1 and 3 % damaged bytes."""
    from benchmarks.figures import Figure, Target

    seeds, run_s = (1, 20.0) if quick else (3, 120.0)
    result = []
    for rate in (0.0, 0.001, 0.01, 0.03):
        runs, bulk = measured(rate, False, seeds, run_s)
        before_runs, before_bulk = measured(rate, True, seeds, run_s)
        label = f"{rate * 100:g} % damaged"
        full = sum(r["ran_s"] >= run_s for r in runs)
        stopped = {r["stopped_by"] for r in runs if r["stopped_by"]}
        result.append(Figure(
            "5 damaged line", f"{label}: goodput", "B/s", [g for g, _ in bulk],
            baseline=Figure("5 damaged line", "settings before", "B/s",
                            [g for g, _ in before_bulk]),
            note=f"sessions ran their {run_s:g} s in {full} of {seeds}"
            + (f" (stopped by: {'; '.join(sorted(stopped))})" if stopped else "")
            + f"; retransmits {statistics.median(r['retransmits_per_min'] for r in runs):.1f}"
            "/min"))
        result.append(Figure(
            "5 damaged line", f"{label}: telemetry gap", "ms",
            [g for r in runs for g in r["gaps_ms"]], Target("max", "<", 1000.0),
            Figure("5 damaged line", "settings before", "ms",
                   [g for r in before_runs for g in r["gaps_ms"]]),
            note="the supervisor calls telemetry stale at 1000 ms"))
        result.append(Figure(
            "5 damaged line", f"{label}: longest wait of the board's watchdog", "ms",
            [r["watchdog_gap_ms"] for r in runs], Target("max", "<", 500.0),
            Figure("5 damaged line", "settings before", "ms",
                   [r["watchdog_gap_ms"] for r in before_runs]),
            note=f"the board's watchdog trips at 500 ms without a valid host block: "
            f"{sum(r['watchdog_trips'] for r in runs)} trips; host -> board "
            f"{statistics.median(r['host_bytes_per_s'] for r in runs):.0f} B/s (before "
            f"{statistics.median(r['host_bytes_per_s'] for r in before_runs):.0f})"))
        result.append(Figure(
            "5 damaged line", f"{label}: line cut -> board safe", "ms",
            [r["cut_board_ms"] for r in runs if "cut_board_ms" in r], Target("max", "<=", 600.0),
            note="host stops after (median) "
            + (f"{statistics.median(h):.0f} ms" if (h := [r['cut_host_ms'] for r in runs
                                                         if "cut_host_ms" in r]) else "-")))
    return result


def row(rate: float, before: bool, seeds: int, run_s: float) -> str:
    runs, bulk = measured(rate, before, seeds, run_s)
    ran = [r["ran_s"] for r in runs]
    worst = min(runs, key=lambda r: r["ran_s"])
    gaps = [g for r in runs for g in r["gaps_ms"]] or [float("nan")]
    host = [r["cut_host_ms"] for r in runs if "cut_host_ms" in r]
    board = [r["cut_board_ms"] for r in runs if "cut_board_ms" in r]
    cut_host = f"{statistics.median(host):.0f} / {max(host):.0f}" if host else "-"
    cut_board = f"{statistics.median(board):.0f} / {max(board):.0f}" if board else "-"
    return (f"| {'before' if before else 'shipped'} | {rate * 100:g} % | "
            f"{statistics.median(ran):.1f} / {min(ran):.1f} | {worst['stopped_by'] or '-'} | "
            f"{statistics.median(g for g, _ in bulk):.0f} "
            f"({sum(bool(e) for _, e in bulk)} lost) | "
            f"{statistics.median(r['retransmits_per_min'] for r in runs):.1f} | "
            f"{percentile(gaps, 0.5):.0f} / {percentile(gaps, 0.99):.0f} / {max(gaps):.0f} | "
            f"{statistics.median(r['host_bytes_per_s'] for r in runs):.0f} | "
            f"{max(r['watchdog_gap_ms'] for r in runs):.0f}; "
            f"{sum(r['watchdog_trips'] for r in runs)} | "
            f"{cut_host} | {cut_board} |")

if __name__ == "__main__":
    main()
