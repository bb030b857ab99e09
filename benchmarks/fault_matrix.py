"""The fault matrix: every fault the simulator can inject, at its worst moments, in virtual time.

    python -m benchmarks.fault_matrix            # prints the table (a few seconds)

Each row is one session of MATRIX_ROUTINE (heat, kneading and an airbag cycling through ramps
and holds) on the built-in simulated board, the real link and the whole safety layer, on a
virtual-time loop. The fault is switched on at one moment: during the handshake, mid-ramp of
the airbag, mid-hold, during heat (the heater warming up), with the heat at its set point (the
thermostat switching the element), or while the session is paused (the heat cold, or warm and
the pause held). Then the row watches for WATCH_S: who noticed first (a host stop source, or
the board's own shutdown cause), how long from the fault to every output safe, and how it
ended. A fault that needs no stop (a damaged line the protocol repairs, clock drift) lets the
session run on; the row then ends it with the terminal's stop. Every row must end with every
output commanded safe.

Line faults damage the bytes at the transport seam (firmware_bridge.faults); device faults
are the board's own (sim.faults). A welded heater relay keeps heating whatever the board
commands: the board, which senses the element's current, and the host stop the session and
latch the fault, and the board's independent thermal cut-off (hardware.md) is what takes the
power; the row says so. While the thermostat wants the element on anyway (warming up), a
welded relay changes nothing the board could measure: it shows only once the thermostat
switches the element off (its current then flows where it should not), and the row says when
that was.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TextIO

from benchmarks.figures import markdown_table
from massagectl.controller.service.chair import Chair
from massagectl.controller.session.session import Session
from massagectl.controller.session.state import SessionState
from massagectl.firmware_bridge.faults import ByteFaults, FaultyTransport
from massagectl.firmware_bridge.link import Link
from massagectl.firmware_bridge.memory_transport import memory_pair
from massagectl.routines.device import SensorKind, load_device
from massagectl.routines.loading import validate_data
from massagectl.routines.routine import Routine
from massagectl.routines.user import DEFAULT_USER
from massagectl.safety.fault_log import FaultLog
from massagectl.safety.stop_path import StopSource
from massagectl.sim.attach import AttachedBoard
from massagectl.sim.board import SimBoard
from massagectl.sim.faults import FaultKind
from massagectl.sim.virtual_loop import VirtualTimeLoop

BAUD = 115200
WATCH_S = 30.0  # after the fault: longer than the slowest detector (a stalled motor, 10 s)
UNPLUGGED_S = 3.0  # a cable pulled, then put back
PAUSED_BEFORE_S = 2.0
SETTLE_S = 5.0  # after the session ended: a board left to itself shows what it does

# Plan seconds of MATRIX_ROUTINE at which each moment falls. The reference heat zone takes
# about 300 s to warm from the room to 40 C; by 450 s the thermostat is switching it.
MOMENTS_S = {"mid-ramp": 3.0, "mid-hold": 12.0, "during heat": 75.0, "during a pause": 40.0,
             "heat at its set point": 450.0, "paused, heat warm": 450.0}
HANDSHAKE = "during the handshake"
# Moments that pause the session first, and how long after the fault it resumes (None: the
# pause lasts the row, as when a person pauses and stays in the chair).
PAUSED_MOMENTS: dict[str, float | None] = {"during a pause": PAUSED_BEFORE_S,
                                           "paused, heat warm": None}
HEATER = "heat_lower_back"
BODY_C = 37.0

MATRIX_ROUTINE = validate_data("fault matrix", {
    "name": "fault_matrix", "description": "Heat, kneading and an airbag cycle",
    "warm_up_s": 0, "cool_down_s": 10,
    "steps": [{"kind": "parallel", "tracks": [
        {"steps": [{"kind": "heat", "zone": "lower_back", "temperature_c": 40,
                    "duration_s": 600}]},
        {"steps": [{"kind": "knead", "duration_s": 600, "speed_cpm": 20, "band": "mid_back",
                    "depth_mm": 5}]},
        {"steps": [{"kind": "repeat", "count": 20, "steps": [
            {"kind": "press", "zones": ["seat"], "pressure_kpa": 6, "ramp_in_s": 6,
             "hold_s": 12, "release_s": 6},
            {"kind": "pause", "duration_s": 6}]}]},
    ]}],
}, Routine)


@dataclass
class World:
    """What a fault acts on: the board, its driver, the host's line, the session."""

    board: SimBoard
    attached: AttachedBoard
    line: FaultyTransport
    link: Link | None = None
    chair: Chair | None = None
    session: Session | None = None
    running: asyncio.Task | None = None


Action = Callable[[World], Awaitable[None] | None]


@dataclass(frozen=True)
class Fault:
    name: str
    start: Action
    end: Action | None = None  # put back after UNPLUGGED_S (a cable), else left on
    moments: tuple[str, ...] = ("mid-ramp", "mid-hold", "during heat", "during a pause")
    drift_ppm: float = 0.0  # a board whose crystal is off (set before it starts)
    note: str = ""
    must_stop: bool = True  # a fault that leaves the chair unsafe if nobody acts
    watch_s: float = WATCH_S
    host_alive: bool = True  # False: nothing the host does after the fault counts
    known_gap: str = ""  # a fault the safety layer does not catch yet, and why
    harms: str | None = None  # the channel it harms through: no harm if a routine leaves it be
    # When the fault first changes anything the board can measure (None: at once).
    shows: Callable[[World], bool] | None = None


def device_fault(kind: FaultKind, target: str | None = None) -> Action:
    return lambda world: world.attached.driver.inject_fault(kind, target)


def clear_device_fault(kind: FaultKind, target: str | None = None) -> Action:
    return lambda world: world.attached.driver.clear_fault(kind, target)


def line_fault(faults: ByteFaults) -> Action:
    def start(world: World) -> None:
        world.line.outgoing = faults
        world.line.incoming = faults
    return start


def both(*actions: Action) -> Action:
    def run(world: World) -> None:
        for action in actions:
            action(world)
    return run


def host_killed(world: World) -> None:
    """The host process is gone: nothing it would still write reaches the board, and nothing
    of it runs on (its session's task is cancelled without a stop)."""
    world.line.outgoing = ByteFaults(drop=1.0)
    world.line.incoming = ByteFaults(drop=1.0)
    if world.running is not None:
        world.running.cancel()


def heating_unasked(channel: str) -> Callable[[World], bool]:
    """A welded relay heats where a sound one would not: the board's thermostat has the element
    off (set point reached, or the heat off). The element's current sensor shows it at once;
    a board without one shows it only above body temperature (below it, the person's own
    warmth could be what warms the surface)."""
    def shows(world: World) -> bool:
        board = world.board
        index = board.profile.channel_index(channel)
        zone = board.plant.zones[index]
        sensed = any(s.kind is SensorKind.CURRENT and s.channel == channel
                     for s in board.profile.sensors)
        return not zone.heating and (sensed or zone.contact_c >= BODY_C)
    return shows


def stop_while_deaf(world: World) -> None:
    world.attached.driver.inject_fault(FaultKind.DEAF_TO_STOP)
    if world.session is not None:
        world.session.stop(StopSource.TERMINAL, "q pressed")


LINE = ("during the handshake", "mid-ramp", "during a pause")
FAULTS = [
    Fault("corrupted bytes (1 %)", line_fault(ByteFaults(corrupt=0.01)), moments=LINE,
          must_stop=False),
    Fault("dropped bytes (1 %)", line_fault(ByteFaults(drop=0.01)), moments=LINE,
          must_stop=False),
    Fault("duplicated bytes (1 %)", line_fault(ByteFaults(duplicate=0.01)), moments=LINE,
          must_stop=False),
    Fault("delayed bytes (20 % of writes, 30 ms)",
          line_fault(ByteFaults(delay_probability=0.2, delay_s=0.03)), moments=LINE,
          must_stop=False),
    Fault("board reset", device_fault(FaultKind.RESET), moments=(HANDSHAKE,), must_stop=False,
          note="before the session: nothing to stop"),
    Fault("board reset", device_fault(FaultKind.RESET),
          moments=("mid-ramp", "mid-hold", "during heat", "during a pause")),
    Fault("cable pulled, put back", device_fault(FaultKind.UNPLUG),
          clear_device_fault(FaultKind.UNPLUG)),
    Fault("host killed", host_killed, moments=("mid-ramp", "mid-hold", "during heat"),
          host_alive=False),
    Fault("board deaf to STOP, then a stop", stop_while_deaf, moments=("mid-ramp", "mid-hold")),
    Fault("stuck valve (seat)", device_fault(FaultKind.STUCK_VALVE, "airbag_seat"),
          moments=("mid-ramp", "mid-hold"), harms="airbag_seat"),
    Fault("pressure sensor stuck (seat)", device_fault(FaultKind.STUCK_SENSOR, "pressure_seat"),
          moments=("mid-ramp", "mid-hold"), harms="airbag_seat"),
    Fault("pressure sensor dead, out of range (seat)",
          device_fault(FaultKind.DEAD_SENSOR, "pressure_seat")),
    Fault("heater stuck on (lower back)", device_fault(FaultKind.HEATER_STUCK_ON, HEATER),
          moments=("during heat", "heat at its set point", "during a pause",
                   "paused, heat warm"), watch_s=600.0, harms=HEATER,
          note="the element heats on after a stop: the board's thermal cut-off's duty",
          shows=heating_unasked(HEATER)),
    Fault("motor stall (roller position)", device_fault(FaultKind.MOTOR_STALL, "roller_position"),
          moments=("mid-hold", "during heat"), harms="roller_position"),
    Fault("seat vacated", device_fault(FaultKind.SEAT_VACATED)),
    Fault("seat switch stuck at occupied, then vacated",
          both(device_fault(FaultKind.STUCK_SENSOR, "seat"),
               device_fault(FaultKind.SEAT_VACATED)), moments=("mid-hold", "during heat"),
          note="the heads stand 5 mm deep on the back, kneading"),
    Fault("clock drift +500 ppm", lambda world: None, moments=(HANDSHAKE,), drift_ppm=500.0,
          must_stop=False),
    Fault("clock drift -500 ppm", lambda world: None, moments=(HANDSHAKE,), drift_ppm=-500.0,
          must_stop=False),
]


@dataclass
class Row:
    fault: str
    moment: str
    detected_by: str
    to_safe_s: float | None
    outcome: str
    ended_safe: bool
    notes: list[str] = field(default_factory=list)
    detected: bool = False
    shown_s: float | None = None  # from the fault to when it first showed (Fault.shows)


@contextlib.asynccontextmanager
async def simulated_chair(seed: int, drift_ppm: float = 0.0) -> AsyncIterator[World]:
    """A simulated chair behind a line a fault can damage; all of it closed on the way out."""
    loop = asyncio.get_running_loop()
    host_end, board_end = memory_pair(baud=BAUD)
    line = FaultyTransport(host_end, seed=seed)
    board = SimBoard(load_device("chair"), now_s=loop.time(), seed=seed, drift_ppm=drift_ppm,
                     trace_samples=False)
    attached = AttachedBoard(board, board_end)
    attached.start()
    world = World(board, attached, line)
    try:
        yield world
    finally:
        if world.running is not None and not world.running.done():
            world.running.cancel()
            await asyncio.gather(world.running, return_exceptions=True)
        if world.link is not None:
            await world.link.close()
        await attached.aclose()
        await board_end.close()
        await line.close()


async def _act(action: Action, world: World) -> None:
    result = action(world)
    if asyncio.iscoroutine(result):
        await result


async def run_case(fault: Fault, moment: str, seed: int = 0) -> Row:
    loop = asyncio.get_running_loop()
    device = load_device("chair")
    stops: list[tuple[float, str]] = []
    injected_s = loop.time()
    safe_when_injected = False
    async with simulated_chair(seed, fault.drift_ppm) as world:
        board = world.board
        if moment == HANDSHAKE:
            await _act(fault.start, world)
        world.link = await Link.open(world.line, device)
        chair = Chair(world.link, device, FaultLog(None))
        world.chair = chair
        chair.stop_path.add_listener(
            lambda source, detail: stops.append((loop.time(), f"{source}: {detail}")))
        session = Session(chair, MATRIX_ROUTINE, DEFAULT_USER, body_scan=False)
        world.session = session
        world.running = loop.create_task(session.run(), name="fault matrix session")
        if moment != HANDSHAKE:
            await _until_plan_s(session, MOMENTS_S[moment])
            if moment in PAUSED_MOMENTS:
                session.pause()
                await _until(lambda: session.state is SessionState.PAUSED)
                await asyncio.sleep(PAUSED_BEFORE_S)
            injected_s = loop.time()
            safe_when_injected = board.outputs_safe()
            await _act(fault.start, world)
        shown = loop.create_task(_shown(world, fault), name="fault matrix: fault shows")
        try:
            await _watch(world, fault, moment)
            with contextlib.suppress(asyncio.CancelledError):
                await world.running
            await asyncio.sleep(SETTLE_S)
        finally:
            shown_at = shown.result() if shown.done() else None
            shown.cancel()
            await asyncio.gather(shown, return_exceptions=True)
        await chair.close()
    row = _row(fault, moment, world, injected_s, stops)
    if safe_when_injected and row.to_safe_s is not None:
        row.notes.insert(0, "outputs already safe when injected")
    if shown_at is not None and shown_at > injected_s:
        row.shown_s = shown_at - injected_s
        row.notes.insert(0, f"measurable {row.shown_s:.0f} s after the fault"
                         + ("" if row.to_safe_s is None else
                            f", safe {row.to_safe_s - row.shown_s:.1f} s after that"))
    return row


async def _shown(world: World, fault: Fault) -> float:
    """When the fault first changed anything the board can measure (Fault.shows)."""
    loop = asyncio.get_running_loop()
    while fault.shows is not None and not fault.shows(world):
        await asyncio.sleep(0.05)
    return loop.time()


async def _until(predicate: Callable[[], bool], limit_s: float = 600.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError(f"not within {limit_s} s")
        await asyncio.sleep(0.05)


async def _until_plan_s(session: Session, plan_s: float) -> None:
    await _until(lambda: session.state is SessionState.RUNNING and session.elapsed_s() >= plan_s)


async def _watch(world: World, fault: Fault, moment: str) -> None:
    """WATCH_S after the fault; a cable goes back in; a paused session resumes; a session
    still running at the end is stopped from the terminal."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    session = world.session
    ended = world.running
    if fault.end is not None:
        await asyncio.wait([ended], timeout=UNPLUGGED_S)
        await _act(fault.end, world)
    resume_after_s = PAUSED_MOMENTS.get(moment)
    if resume_after_s is not None and session.state is SessionState.PAUSED:
        await asyncio.wait([ended], timeout=resume_after_s)
        with contextlib.suppress(Exception):
            session.resume()
    await asyncio.wait([ended], timeout=max(0.0, began + fault.watch_s - loop.time()))
    if not ended.done():
        session.stop(StopSource.TERMINAL, "end of the fault matrix row")
        await asyncio.wait([ended], timeout=WATCH_S)


def _row(fault: Fault, moment: str, world: World, injected_s: float,
         stops: list[tuple[float, str]]) -> Row:
    board = world.board
    shutdowns = [(e.time_s, e.detail.get("cause", "?")) for e in board.trace.events_of("state")
                 if e.detail.get("state") == "SHUTDOWN" and e.time_s >= injected_s]
    row_end = "terminal: end of the fault matrix row"
    # "supervisor: stuck_valve: pressure_seat: 5.65 kPa ..." -> "host: supervisor: stuck_valve"
    host = [(t, "host: " + ": ".join(why.split(": ")[:2])) for t, why in stops
            if t >= injected_s and fault.host_alive and why != row_end]
    board_own = [(t, f"board: {cause.lower()}") for t, cause in shutdowns
                 if cause not in ("HOST_STOP", "POWER_ON")]
    candidates = host[:1] + board_own[:1]
    notes = []
    if not candidates:
        detected, to_safe = ("NOBODY", None) if fault.must_stop else ("- (no stop needed)", None)
        how = ("the routine's end" if all(why != row_end for _, why in stops)
               else "the terminal's stop at the row's end")
        outcome = (f"NOT DETECTED in {fault.watch_s:.0f} s; ended safe by {how}"
                   if fault.must_stop else f"ran on; ended safe by {how}")
    else:
        when, detected = min(candidates)
        safe_at = [t for t, _ in shutdowns if t >= when]
        to_safe = (safe_at[0] - injected_s) if safe_at else None
        outcome = "stopped safe" if safe_at else "stopped, board never shut down"
    if world.chair is not None and world.chair.latch.latched:
        causes = sorted({str(f.cause) for f in world.chair.latch.faults})
        notes.append("latched: " + ", ".join(causes))
    if fault.note:
        notes.append(fault.note)
    if fault.known_gap:
        notes.append(f"known gap: {fault.known_gap}")
    if board.late_segments:
        notes.append(f"{board.late_segments} late segment(s)")
    ended_safe = board.outputs_safe()
    if not ended_safe:
        outcome = "NOT SAFE at the end"
    return Row(fault.name, moment, detected, to_safe, outcome, ended_safe, notes,
               detected=bool(candidates))


def run_matrix(faults: list[Fault] = FAULTS) -> list[Row]:
    rows = []
    for fault in faults:
        for moment in fault.moments:
            with asyncio.Runner(loop_factory=lambda: VirtualTimeLoop(speed=None)) as runner:
                rows.append(runner.run(run_case(fault, moment)))
    return rows


def print_matrix(rows: list[Row], out: TextIO = sys.stdout) -> None:
    header = ["fault", "when injected", "detected by", "time to safe", "outcome"]
    body = [[r.fault, r.moment, r.detected_by,
             "-" if r.to_safe_s is None else f"{1000 * r.to_safe_s:.0f} ms",
             r.outcome + (f" ({'; '.join(r.notes)})" if r.notes else "")] for r in rows]
    markdown_table(header, body, out)


def main() -> int:
    rows = run_matrix()
    print_matrix(rows)
    unsafe = [r for r in rows if not r.ended_safe]
    missed = [r for r in rows if r.outcome.startswith("NOT DETECTED")]
    print(f"\n{len(rows)} rows; {len(unsafe)} not ended safe; {len(missed)} not detected")
    return 1 if unsafe else 0


if __name__ == "__main__":
    sys.exit(main())
