"""Simulated board speed: wall seconds per simulated 30 minutes, exact stepping vs naive Euler.

    python -m benchmarks --only simulator

Each row drives one simulated board (chair, pad) in-process, with no link and no event loop,
through one of two sessions, with the host's watchdog frames at 10 Hz (a Heartbeat in five, the
others KeepAlive, as the link sends them) and telemetry at the board's full rate:

- stress: every channel busy with random holds, ramps and oscillations within its limits (a new
  segment every 1-10 s per channel, sent 0.5 s ahead): far busier than any real routine;
- routine: the built-in routine with the most segments for the device (full_body on the chair,
  deep_tissue on the pad), compiled and streamed 0.5 s ahead, repeated to fill the session.

Two ways to integrate the same physics run the same session:

- exact: the simulator as shipped; the board steps at telemetry ticks and segment boundaries
  and solves each airbag, thermal network and motor exactly over the step;
- naive: the same board with the physics swapped for fixed 1 ms forward-Euler steps (the
  smallest step at which Euler follows a 0.4 s airbag vent and the bang-bang controller to
  within a band's width), measured over a shorter session because it is slow, scaled to 30
  minutes; the note says how far it strays from the exact result (largest airbag and
  contact-surface differences over the naive run).
Section 7 (virtual time) uses the board-alone session of this module as its floor.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # also run as a script

from benchmarks.figures import Figure
from massagectl.firmware_bridge.clock_wrap import wrap_clock
from massagectl.firmware_bridge.messages import Heartbeat, KeepAlive, ScheduleSegment, Stop
from massagectl.firmware_bridge.watchdog_pace import CLEAN_PERIOD_S, CLOCK_SAMPLE_PERIOD_S
from massagectl.routines.compiler import compile_routine
from massagectl.routines.device import ChannelKind, DeviceProfile, load_device
from massagectl.routines.library import load_builtin
from massagectl.sim.board import SimBoard
from massagectl.sim.physics import airbag, thermal
from massagectl.sim.physics.plant import CURRENT_FILTER_TIME_CONSTANT_S, Plant

SESSION_S = 1800.0
NAIVE_SESSION_S = 120.0
EULER_STEP_S = 0.001
HEARTBEAT_S = CLEAN_PERIOD_S  # a watchdog frame on a clean, otherwise idle line
CLOCK_SAMPLE_EVERY = round(CLOCK_SAMPLE_PERIOD_S / CLEAN_PERIOD_S)  # every 4th a Heartbeat
SEND_AHEAD_S = 0.5


def stress_session(profile: DeviceProfile, duration_s: float, seed: int = 7):
    """(send time, channel index, start, duration, start value, end value, amplitude, period)
    for every segment, in send order."""
    rng = random.Random(seed)
    plan = []
    for index, channel in enumerate(profile.channels):
        start_s = 0.6
        while start_s < duration_s:
            length_s = rng.uniform(1.0, min(10.0, channel.max_duration_s))
            a, b = rng.uniform(channel.min, channel.max), rng.uniform(channel.min, channel.max)
            amplitude, period_s = 0.0, 0.0
            if rng.random() < 0.3:
                room = min(a, b) - channel.min, channel.max - max(a, b)
                amplitude, period_s = 0.5 * min(room), rng.uniform(1.0, 4.0)
            plan.append((start_s - SEND_AHEAD_S, index, start_s, length_s, a, b, amplitude,
                         period_s))
            start_s += length_s
    return sorted(plan)


ROUTINE_FOR = {"chair": "full_body", "pad": "deep_tissue"}


def routine_session(profile: DeviceProfile, duration_s: float):
    """The same tuples as stress_session, from a compiled built-in routine played back to back."""
    plan = compile_routine(load_builtin(ROUTINE_FOR[profile.name]), profile)
    rows = []
    offset_s = 0.6
    while offset_s < duration_s:
        for row in plan.table:
            start_s = offset_s + float(row["start_s"])
            rows.append((start_s - SEND_AHEAD_S, int(row["channel"]), start_s,
                         float(row["duration_s"]), float(row["start_value"]),
                         float(row["end_value"]), float(row["amplitude"]), float(row["period_s"])))
        offset_s += plan.duration_s
    return sorted(rows)


def run_session(board: SimBoard, plan, duration_s: float) -> float:
    """Play the session into the board; returns wall seconds."""
    hz = board.clock_hz
    next_heartbeat_s = 0.0
    beats = 0

    def watchdog_frame(now_s: float) -> None:
        nonlocal beats
        beats += 1
        board.handle(Heartbeat() if beats % CLOCK_SAMPLE_EVERY == 0 else KeepAlive(), now_s)

    began = time.perf_counter()
    for send_s, index, start_s, length_s, a, b, amplitude, period_s in plan:
        if send_s >= duration_s:
            break
        while next_heartbeat_s <= send_s:
            watchdog_frame(next_heartbeat_s)
            next_heartbeat_s += HEARTBEAT_S
        segment = ScheduleSegment(
            index, wrap_clock(round(start_s * hz)), round(length_s * hz), a, b, amplitude,
            round(period_s * hz),
        )
        board.handle(segment, send_s)
    while next_heartbeat_s <= duration_s:
        watchdog_frame(next_heartbeat_s)
        next_heartbeat_s += HEARTBEAT_S
    board.advance(duration_s)
    elapsed_s = time.perf_counter() - began
    board.handle(Stop(), duration_s)
    return elapsed_s


class EulerPlant(Plant):
    """The same hardware, integrated the naive way: fixed small forward-Euler steps."""

    def advance(self, dt_s: float, outputs: list[float | None]) -> None:
        steps = max(1, round(dt_s / EULER_STEP_S))
        h = dt_s / steps
        occupied = self.occupant.present
        for _ in range(steps):
            for index, drive in self._drive_items:
                drive.target_mm = outputs[index]
                drive.advance(h)
            for index, motor in self._motor_items:
                motor.command = outputs[index] or 0.0
                motor.speed += (motor.command - motor.speed) / motor.time_constant_s * h
            for index, bag in self._airbag_items:
                set_point = outputs[index]
                if set_point is None or set_point <= bag.safe_kpa:
                    bag.mode = airbag.ValveMode.VENT
                else:
                    bag.mode = bag._decide(bag.pressure_kpa, set_point)
                a, b = bag._flows[bag.mode]
                bag.pressure_kpa += (a - b * bag.pressure_kpa) * h
            for zone, heat_index, cool_index in self._module_items:
                zone.decide(None if heat_index is None else outputs[heat_index],
                            None if cool_index is None else outputs[cool_index])
                _euler_heat(zone, h, occupied)
            if self._carriage is not None:
                load_n = self.load_n()
                self._sensed_load_n += ((load_n - self._sensed_load_n)
                                        / CURRENT_FILTER_TIME_CONSTANT_S * h)


def _euler_heat(zone: thermal.ThermalZone, h: float, occupied: bool) -> None:
    network = thermal._NETWORKS[occupied]
    power_w = zone.power_w()
    to_contact_w = thermal.ELEMENT_TO_CONTACT_W_PER_K * (zone.element_c - zone.contact_c)
    to_surroundings_w = network.conductance_w_per_k * (zone.contact_c - network.surroundings_c)
    zone.element_c += (power_w - to_contact_w) / thermal.ELEMENT_CAPACITY_J_PER_K * h
    zone.contact_c += (to_contact_w - to_surroundings_w) / thermal.CONTACT_CAPACITY_J_PER_K * h


def naive_board(profile: DeviceProfile) -> SimBoard:
    board = SimBoard(profile)
    board.plant = EulerPlant(profile, board.occupant)
    board._actual_readers = [board.plant.actual_reader(i) for i in range(len(profile.channels))]
    return board


def largest_difference(exact: SimBoard, naive: SimBoard, kind: ChannelKind) -> float:
    rows = len(naive.trace.times_s)
    worst = 0.0
    for channel in exact.profile.channels_of(kind):
        gap = exact.trace.actual(channel.id)[:rows] - naive.trace.actual(channel.id)
        worst = max(worst, float(np.abs(gap).max()))
    return worst


def figures(quick: bool) -> list[Figure]:
    session_s = 300.0 if quick else SESSION_S
    naive_s = 30.0 if quick else NAIVE_SESSION_S
    repeats = 1 if quick else 3
    result = []
    for name in ("chair", "pad"):
        profile = load_device(name)
        for session, make in (("stress", stress_session), ("routine", routine_session)):
            plan = make(profile, session_s)
            exact_s = [SESSION_S / session_s * run_session(SimBoard(profile), plan, session_s)
                       for _ in range(repeats)]
            naive_runs = []
            for _ in range(repeats):
                naive = naive_board(profile)
                naive_runs.append(SESSION_S / naive_s * run_session(naive, plan, naive_s))
            exact = SimBoard(profile)
            run_session(exact, plan, naive_s)
            strays = [f"{largest_difference(exact, naive, ChannelKind.HEAT):.4f} C (contact)"]
            if profile.channels_of(ChannelKind.AIRBAG):
                strays.insert(0, f"{largest_difference(exact, naive, ChannelKind.AIRBAG):.3f}"
                              " kPa (airbags)")
            what = ROUTINE_FOR[name] if session == "routine" else "every channel busy"
            result.append(Figure(
                "11 simulator", f"{name}, {session} session ({what}), the board alone",
                "s/30 min", exact_s, None,
                Figure("11 simulator", "1 ms Euler steps", "s/30 min", naive_runs),
                note=f"{session_s:.0f} s sessions, {repeats} run(s); the naive one over "
                f"{naive_s:.0f} s strays by up to {', '.join(strays)}"))
    return result


if __name__ == "__main__":
    from benchmarks.__main__ import main

    sys.exit(main(["--only", "simulator", *sys.argv[1:]]))
