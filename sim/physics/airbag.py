"""Airbag pressure: a pump fills the bag, a solenoid vent empties it, seams leak; bang-bang control.

Pressure (kPa, gauge) obeys dp/dt = a - b * p in each valve mode, which has an exact exponential
solution, so a step may be long. The board's controller switches the valves when the sensed
pressure crosses its thresholds; the crossing instant inside a step is solved for exactly, so the
result does not depend on the step length.
"""

from __future__ import annotations

import math
from enum import IntEnum

# The vent is a solenoid valve to atmosphere: an open vent empties a chair airbag in about a
# second (3 time constants), which is what users of commercial chairs see on release.
VENT_TIME_CONSTANT_S = 0.4
# A closed bag loses pressure through seams and fittings: a few percent per minute.
LEAK_TIME_CONSTANT_S = 120.0
# Small diaphragm pumps in massage chairs dead-head around 40-60 kPa; flow falls linearly with
# back-pressure and is zero there. At 0 kPa the flow gives the profile's max_rate_per_s.
PUMP_DEAD_HEAD_KPA = 45.0
# Valves are switched, not proportional: the controller pumps below set point - band, vents
# above set point + band, and holds in between (a real board's band is a few tenths of a kPa).
CONTROL_BAND_KPA = 0.3
# A bag with nobody in it has no limb or back to press against: the pump first unfolds it, so
# its pressure builds at this fraction of the rate of a bag holding a body part (the
# back-pressure the host's seat cross-check looks for).
EMPTY_FILL_FRACTION = 0.25
# Below this an open bag is empty (a millionth of a sensor step): stop computing its decay.
EMPTY_KPA = 1e-9
# The controller's pump may run this long on a sensed pressure that does not move; a running
# pump moves a healthy sensor's reading at once, so after that the sensor has frozen (or the
# bag burst) and the controller, blind, stops the pump and opens the vent until the sensor
# moves again. At most 8 kPa/s * 0.25 s = 2 kPa goes unseen into a bag.
PUMP_BLIND_S = 0.25
# Mode changes resolved inside one step; more would mean a chattering controller, which this
# band prevents (the leak needs tens of seconds to cross it).
MAX_SWITCHES_PER_STEP = 8


class ValveMode(IntEnum):
    HOLD = 0  # pump off, vent closed
    PUMP = 1  # pump on, vent closed
    VENT = 2  # pump off, vent open


_LEAK_PER_S = 1.0 / LEAK_TIME_CONSTANT_S
_VENT_OPEN_PER_S = 1.0 / VENT_TIME_CONSTANT_S + _LEAK_PER_S


class Airbag:
    """One bag with its pump, vent and the board's pressure controller."""

    __slots__ = ("_blind_pump_s", "_flows", "_holds_body", "_vent_stuck_closed", "mode",
                 "pressure_kpa", "pump_rate_kpa_per_s", "safe_kpa", "sensed_override")

    def __init__(self, pump_rate_kpa_per_s: float, safe_kpa: float) -> None:
        self.pump_rate_kpa_per_s = pump_rate_kpa_per_s
        self.safe_kpa = safe_kpa
        self.pressure_kpa = 0.0
        self.mode = ValveMode.VENT
        # (a, b) of dp/dt = a - b * p in each mode, as the hardware really behaves.
        self._flows = {
            ValveMode.HOLD: (0.0, _LEAK_PER_S),
            ValveMode.PUMP: (pump_rate_kpa_per_s,
                             pump_rate_kpa_per_s / PUMP_DEAD_HEAD_KPA + _LEAK_PER_S),
            ValveMode.VENT: (0.0, _VENT_OPEN_PER_S),
        }
        self._vent_stuck_closed = False
        self.sensed_override: float | None = None  # fault: the controller's sensor is stuck/dead
        self._holds_body = True
        self._blind_pump_s = 0.0  # pumped on the current frozen reading

    @property
    def holds_body(self) -> bool:
        """Someone's limb or back is in the bag (false: the seat is empty)."""
        return self._holds_body

    @holds_body.setter
    def holds_body(self, holds: bool) -> None:
        self._holds_body = holds
        rate = self.pump_rate_kpa_per_s * (1.0 if holds else EMPTY_FILL_FRACTION)
        self._flows[ValveMode.PUMP] = (rate, rate / PUMP_DEAD_HEAD_KPA + _LEAK_PER_S)

    @property
    def vent_stuck_closed(self) -> bool:
        """Fault: the vent does not open when commanded; the bag only leaks."""
        return self._vent_stuck_closed

    @vent_stuck_closed.setter
    def vent_stuck_closed(self, stuck: bool) -> None:
        self._vent_stuck_closed = stuck
        self._flows[ValveMode.VENT] = (0.0, _LEAK_PER_S if stuck else _VENT_OPEN_PER_S)

    @property
    def pump_on(self) -> bool:
        return self.mode is ValveMode.PUMP

    def advance(self, dt_s: float, set_point_kpa: float | None) -> None:
        """Run the controller and the bag for `dt_s` with a constant set point (None: safe)."""
        if set_point_kpa is None or set_point_kpa <= self.safe_kpa:
            # Safe: vent open, pump off, whatever the sensor says.
            self.mode = ValveMode.VENT
            if self.pressure_kpa > EMPTY_KPA:
                self._flow(dt_s)
            else:
                self.pressure_kpa = 0.0
            return
        remaining_s = dt_s
        if self.sensed_override is None:
            self._blind_pump_s = 0.0
        for _ in range(MAX_SWITCHES_PER_STEP):
            sensed = self.pressure_kpa if self.sensed_override is None else self.sensed_override
            self.mode = self._decide(sensed, set_point_kpa)
            if self.sensed_override is not None:
                # A frozen reading never crosses a threshold; the pump may run blind only so long.
                if self.mode is ValveMode.PUMP:
                    blind_s = min(remaining_s, max(0.0, PUMP_BLIND_S - self._blind_pump_s))
                    self._flow(blind_s)
                    self._blind_pump_s += blind_s
                    remaining_s -= blind_s
                    if self._blind_pump_s >= PUMP_BLIND_S:
                        self.mode = ValveMode.VENT
                break
            threshold_kpa = set_point_kpa
            if self.mode is ValveMode.HOLD:
                threshold_kpa = set_point_kpa - CONTROL_BAND_KPA
            crossing_s = self._time_to(threshold_kpa, remaining_s)
            if crossing_s is None:
                break
            self._flow(crossing_s)
            # Land exactly on the threshold, so float error cannot leave the next decision on
            # the wrong side of it.
            self.pressure_kpa = threshold_kpa
            remaining_s -= crossing_s
        self._flow(remaining_s)

    def _decide(self, sensed_kpa: float, set_point_kpa: float) -> ValveMode:
        if sensed_kpa <= set_point_kpa - CONTROL_BAND_KPA:
            return ValveMode.PUMP
        if sensed_kpa > set_point_kpa + CONTROL_BAND_KPA:
            return ValveMode.VENT
        if self.mode is ValveMode.PUMP and sensed_kpa < set_point_kpa:
            return ValveMode.PUMP
        if self.mode is ValveMode.VENT and sensed_kpa > set_point_kpa:
            return ValveMode.VENT
        return ValveMode.HOLD

    def _time_to(self, target_kpa: float, within_s: float) -> float | None:
        """When the pressure reaches `target_kpa` in the current mode, if before `within_s`."""
        a, b = self._flows[self.mode]
        pressure = self.pressure_kpa
        # The pressure moves monotonically and fastest at first: if even that speed cannot
        # reach the target in time, skip the logarithm (the usual case while holding).
        if abs(target_kpa - pressure) > abs(a - b * pressure) * within_s:
            return None
        final_kpa = a / b
        if pressure == final_kpa:
            return None
        ratio = (target_kpa - final_kpa) / (pressure - final_kpa)
        if not 0.0 < ratio <= 1.0:
            return None
        crossing_s = -math.log(ratio) / b
        return crossing_s if crossing_s < within_s else None

    def _flow(self, dt_s: float) -> None:
        if dt_s <= 0.0:
            return
        a, b = self._flows[self.mode]
        final_kpa = a / b
        self.pressure_kpa = final_kpa + (self.pressure_kpa - final_kpa) * math.exp(-b * dt_s)
