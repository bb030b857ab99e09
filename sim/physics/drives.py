"""Linear drives (roller carriage, head width, 3D depth) and spinning motors (knead, tap).

A linear drive moves toward its target at no more than its speed limit (the profile's
max_rate_per_s) and stops at its end stops (limit switches at the channel's hard range). A
stalled drive does not move however long it is driven. Spinning motors follow their commanded
speed with a first-order lag (rotor and gear inertia), solved exactly.
"""

from __future__ import annotations

import math

# Motor currents, in A. Small DC gear motors of massage mechanisms draw a few hundred mA idle
# and 1-3 A under load; the numbers below keep every profile's current sensor inside its range.
DEPTH_IDLE_A = 0.15  # driver electronics and holding torque
DEPTH_A_PER_MM_PER_S = 0.02  # moving the heads
LOAD_A_PER_N = 0.012  # pressing on the back: 240 N at full depth -> ~2.9 A
STALL_EXTRA_A = 1.5  # a driven motor that cannot turn draws near its stall current
KNEAD_IDLE_A = 0.1
KNEAD_A_PER_CYCLE_PER_MIN = 0.015  # ~0.9 A at 60 cycles/min
KNEAD_LOAD_A_PER_N = 0.004  # kneading against the back is harder than in free air
TAP_IDLE_A = 0.1
TAP_A_PER_HZ = 0.08  # ~1 A at 12 Hz
TAP_LOAD_A_PER_N = 0.002

# Rotor and gear train inertia: knead motors reach speed in about a second, tapping faster.
KNEAD_TIME_CONSTANT_S = 0.4
TAP_TIME_CONSTANT_S = 0.25

# Slower than this (in the motor's unit) a motor with no command has stopped.
STILL = 1e-9
# Below this distance from its target a drive counts as arrived (one encoder step of a carriage).
ARRIVED_MM = 0.5


class LinearDrive:
    """A position-like drive: position follows the target at a bounded speed."""

    __slots__ = ("max_mm", "min_mm", "position_mm", "speed_limit_mm_per_s", "speed_mm_per_s",
                 "stalled", "target_mm")

    def __init__(self, min_mm: float, max_mm: float, speed_limit_mm_per_s: float) -> None:
        self.min_mm = min_mm
        self.max_mm = max_mm
        self.speed_limit_mm_per_s = speed_limit_mm_per_s
        self.position_mm = min_mm
        self.target_mm: float | None = None  # None: drive stopped (not energised)
        self.speed_mm_per_s = 0.0
        self.stalled = False  # fault: the motor is energised but does not turn

    @property
    def driving(self) -> bool:
        """Energised with somewhere to go."""
        return self.target_mm is not None and abs(self.target_mm - self.position_mm) > ARRIVED_MM

    def advance(self, dt_s: float) -> None:
        if dt_s <= 0.0:
            return
        if self.target_mm is None or self.stalled:
            self.speed_mm_per_s = 0.0
            return
        target = min(max(self.target_mm, self.min_mm), self.max_mm)  # the end stops
        reach_mm = self.speed_limit_mm_per_s * dt_s
        distance_mm = target - self.position_mm
        step_mm = max(-reach_mm, min(reach_mm, distance_mm))
        self.position_mm += step_mm
        self.speed_mm_per_s = abs(step_mm) / dt_s

    def current_a(self, load_n: float) -> float:
        stall = STALL_EXTRA_A if self.stalled and self.driving else 0.0
        return (DEPTH_IDLE_A + DEPTH_A_PER_MM_PER_S * self.speed_mm_per_s + LOAD_A_PER_N * load_n
                + stall)


class SpinMotor:
    """A knead or tap motor: speed lags the command; current rises with speed and load."""

    __slots__ = ("a_per_n", "a_per_speed", "command", "idle_a", "speed", "time_constant_s")

    def __init__(
        self, time_constant_s: float, idle_a: float, a_per_speed: float, a_per_n: float
    ) -> None:
        self.time_constant_s = time_constant_s
        self.idle_a = idle_a
        self.a_per_speed = a_per_speed
        self.a_per_n = a_per_n
        self.speed = 0.0
        self.command = 0.0

    def advance(self, dt_s: float) -> None:
        if dt_s <= 0.0:
            return
        if self.command == 0.0 and self.speed < STILL:
            self.speed = 0.0
            return
        self.speed = self.command + (self.speed - self.command) * math.exp(
            -dt_s / self.time_constant_s
        )

    def current_a(self, load_n: float) -> float:
        if self.command <= 0.0 and self.speed < 0.01:
            return 0.0  # driver off, rotor still
        return self.idle_a + self.a_per_speed * self.speed + self.a_per_n * load_n


def knead_motor() -> SpinMotor:
    return SpinMotor(KNEAD_TIME_CONSTANT_S, KNEAD_IDLE_A, KNEAD_A_PER_CYCLE_PER_MIN,
                     KNEAD_LOAD_A_PER_N)


def tap_motor() -> SpinMotor:
    return SpinMotor(TAP_TIME_CONSTANT_S, TAP_IDLE_A, TAP_A_PER_HZ, TAP_LOAD_A_PER_N)
