"""Streaming margin: how early segments reach the board before they are due, and what stalls it
survives.

A session of a built-in routine runs in real time, the controller in one process and the board
in another (benchmarks.controller_process, benchmarks.board_process, pyserial over a pty, the
line paced at 115200 baud), idle and with a CPU-bound process on every core. The board's trace
gives every segment's lead (planned start - arrival) and late flag; a late segment starts on
arrival. Then the controller is frozen (SIGSTOP, as a long garbage collection or a swapped-out
process would) for longer and longer stalls: the longest after which no segment was late and
the board's watchdog did not trip is what the design survives.

The board process's own timer lateness is reported beside it for what it is: how late this
Python simulator woke for its events (a firmware's timer interrupt is late by microseconds),
not a property of the protocol. The simulated board starts a queued segment at its planned tick
whenever its process wakes, so an "execution error" would be 0 by construction and is not shown.

The naive baseline, measured in the same run on the same board: host-timed sending. This
process opens the link itself, sleeps until each segment of the same routine is due and only
then sends it (asyncio sleeps, as a simple controller would); its lead is negative, by how late
each segment reached the board, which starts it on arrival.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from dataclasses import replace
from pathlib import Path

from benchmarks.figures import Figure, Target
from benchmarks.rig import Rig
from benchmarks.stop_latency import Chair, start_session, wait_live
from massagectl.firmware_bridge.link import Link
from massagectl.firmware_bridge.streamer import anchor_after, wire_segments
from massagectl.firmware_bridge.wire import CLOCK_MODULUS
from massagectl.routines.compiler import compile_routine
from massagectl.routines.device import load_device
from massagectl.routines.library import load_builtin

ROUTINE = "full_body"  # the longest built-in routine, with every kind of channel at work
STALLS_S = (0.1, 0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6)
START_S = 1.0  # a plan's first second: its segments go out as the session starts
SETTLE_S = 1.5  # after a stall: long enough for a late segment or the watchdog to show
LEAD_MIN_MS = Target("min", ">=", 100.0)  # the link's minimum lead (hardware.md)


def margin(seconds: float, workdir: Path, loaded: bool, stalls: bool
           ) -> tuple[dict, list[tuple[float, bool]]]:
    """The board's summary after `seconds` of the routine, and (stall s, survived) pairs."""
    survived: list[tuple[float, bool]] = []
    with Rig(workdir, loaded=loaded) as rig:
        board = rig.board()
        controller = rig.controller(board, ROUTINE)
        chair, odd = Chair(board, controller), []
        began, _ = wait_live(chair, start_session(chair, odd), odd)
        time.sleep(seconds)
        late_before = len(board.events.since("late", began))
        if stalls:
            for stall_s in STALLS_S:
                frozen_at = time.monotonic()
                os.kill(controller.pid, signal.SIGSTOP)
                time.sleep(stall_s)
                os.kill(controller.pid, signal.SIGCONT)
                time.sleep(SETTLE_S)
                tripped = board.events.since("safe", frozen_at)
                late = board.events.since("late", frozen_at)
                survived.append((stall_s, not tripped and not late))
                if tripped:  # a new session (again, if one ends before going live)
                    controller.ended(frozen_at)
                    began, _ = wait_live(chair, start_session(chair, odd), odd)
        os.kill(controller.pid, signal.SIGINT)
        controller.ended(began)
        controller.finish()
        summary = board.finish()
        anchors = [e["anchor_clock"] for e in controller.events.since("ended", 0.0)
                   if e.get("anchor_clock") is not None]
    summary["late_in_window"] = late_before
    summary["at_start"] = at_session_start(summary["planned_ticks"], anchors,
                                           summary["clock_hz"])
    return summary, survived


def at_session_start(planned_ticks: list[int], anchors: list[int], clock_hz: int) -> list[bool]:
    """Per segment: planned within the first START_S of a session's plan. Those are sent as the
    session starts, ANCHOR_LEAD_S ahead; the rest stream a window ahead."""
    span = START_S * clock_hz
    return [any(0 <= tick - anchor < span for anchor in anchors) for tick in planned_ticks]


async def host_timed(port: str, seconds: float) -> None:
    """Send each segment of ROUTINE's first `seconds` only when it is due."""
    loop = asyncio.get_running_loop()
    chair = load_device("chair")
    link = await Link.open(port, chair)
    try:
        plan = compile_routine(load_builtin(ROUTINE), chair)
        anchor = anchor_after(link)
        hz = link.identity.info.clock_hz
        due = sorted((s for s in wire_segments(plan, anchor, hz)
                      if s.start_clock - anchor < seconds * hz), key=lambda s: s.start_clock)
        for segment in due:
            await asyncio.sleep(max(0.0, link.clock.host_time_at(segment.start_clock)
                                    - loop.time()))
            await link.schedule(replace(segment, start_clock=segment.start_clock % CLOCK_MODULUS))
        await asyncio.sleep(0.3)
    finally:
        await link.close()


def naive_margin(seconds: float, workdir: Path, loaded: bool) -> dict:
    with Rig(workdir, loaded=loaded) as rig:
        board = rig.board()
        asyncio.run(host_timed(board.port, seconds))
        return board.finish()


def figures(seconds: float, workdir: Path, loads=(False, True)) -> list[Figure]:
    result = []
    for loaded in loads:
        load = "loaded" if loaded else "idle"
        summary, survived = margin(seconds, workdir, loaded, stalls=not loaded)
        naive = naive_margin(seconds, workdir, loaded)
        baseline = Figure("2 streaming", "host-timed sending", "ms", naive["lead_ms"],
                          note=f"late: {sum(naive['late'])} of {len(naive['late'])}")
        starting = [lead for lead, first in zip(summary["lead_ms"], summary["at_start"],
                                                strict=True) if first]
        streamed = [lead for lead, first in zip(summary["lead_ms"], summary["at_start"],
                                                strict=True) if not first]
        result.append(Figure("2 streaming", f"segment lead, a session's first second, {load}",
                             "ms", starting, LEAD_MIN_MS, baseline))
        lead = Figure("2 streaming", f"segment lead, after the first second, {load}", "ms",
                      streamed, LEAD_MIN_MS, baseline,
                      note=f"late segments: {sum(summary['late'])} of {len(summary['late'])} "
                      f"(target 0); naive host-timed: {sum(naive['late'])} of "
                      f"{len(naive['late'])} late, worst {min(naive['lead_ms']):.1f} ms",
                      extra={"late": sum(summary["late"]), "segments": len(summary["late"])})
        result.append(lead)
        result.append(Figure("2 streaming", f"simulator's own timer lateness, {load}", "ms",
                             summary["timer_lateness_ms"],
                             note="how late the board process woke; the simulator's, not the "
                             "protocol's"))
        if survived:
            ok = [stall for stall, fine in survived if fine]
            longest = max(ok) if ok else 0.0
            first_fail = min((stall for stall, fine in survived if not fine), default=None)
            result.append(Figure(
                "2 streaming", f"longest controller stall survived, {load}", "ms",
                [1000 * longest],
                note=f"stalls tried {', '.join(f'{1000 * s:.0f}' for s, _ in survived)} ms; "
                + (f"first not survived {1000 * first_fail:.0f} ms (watchdog 500 ms)"
                   if first_fail is not None else "all survived")))
    return result
