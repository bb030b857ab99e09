"""A heater (or cooler) that keeps working while the board's thermostat has it off.

The heat zone is a two-node thermal model (hardware.md, section 5, "Thermal cut-off"; the
simulator's sim/physics/thermal.py): an element of heat capacity C_e coupled to the contact
surface by G_e, the surface losing heat to the room and to the person. With the element
unpowered, what still warms the surface is the heat stored in the element, and that flow,
G_e (T_element - T_contact), decays at least as fast as exp(-t / (C_e / G_e)) while the surface
rises; the losses only grow as the surface warms. So once the element is off, the surface's
rate of rise can only fall, with at least the element's time constant, provided nothing around
it is warmer than it is: above body temperature (37 C) neither skin nor any room heats it.
A surface rising faster than that envelope is being heated: the relay is welded, and STOP
cannot switch the heat off. Mirrored, a thermoelectric cooler below the coldest room (16 C)
whose surface keeps falling faster than the envelope is stuck cooling.

The host knows when the element is off without seeing it: the set point is off, or the
reading is past the set point (the board's thermostat opens there, hardware.md 5) by more
than the sensor's noise; it counts as off until the reading comes back within the
thermostat's band. Readings are averaged per second, so 0.1 C quantisation does not look
like a rise.

The envelope holds while the surroundings stay as they are. A person who gets up (or leans
away from the pad) takes their skin's share of the surface's losses with them, and the
surface rises faster at once: by 0.0135 C/s on the reference zone at 42 C (skin 0.3 W/K to
33 C, surface 200 J/K). The seat switch says when someone sits down or gets up; the watch then
starts again from the readings after it (RATE_WINDOW_S plus a mean, 11 s in which a welded
relay goes unjudged). Leaning away, which no sensor sees, stays inside the margins as long as
it raises the surface's rate by no more than 0.016 C/s (the reference zone's 0.0135 C/s with
a fifth on top), except at the very moment the heat goes off while the element is hot: then
the rate before is no measure of the rate after, and in a warm room the reference zone can
look welded (once in 500 random schedules with unseen leaning, tests/safety/
test_element_watch.py).

How fast it can tell: a welded relay shows only once a sound one would surely be open (the
surface past its set point, or the heat off), and then as the element's full power arriving
where it would not: a curvature of the surface of P G_e / (C_e C_c) = 0.0022 C/s^2 on the
reference zone, less what the room and the body take. Read in 0.1 C steps with 0.05 C of
noise at 20 Hz, a curvature that size takes about 7 s to see when every part of the zone and
its surroundings is known, and about 15-20 s when only the element's time constant is (the
room, the person and the cover are not): the rate at the moment the element went off must be
measured, and the heat the room takes cannot be counted on. With the margins below, the
reference zone is found a median 28 s (90 % within 37 s) after its relay should surely have
opened, the surface then at most 1.5 C above its set point; slowest (up to 94 s) when the
relay welds while a lowered heat lets the surface cool, which has to stop falling before it
can be seen to rise. Margins half as wide found it about a fifth sooner but tripped on sound
zones with a lighter element or cover than the reference (2 in 150 simulated half-hours).
The thermal cut-off (hardware.md 5) ends the heat whatever the host finds.
"""

from __future__ import annotations

import math
from collections import deque

from massagectl.routines.device import ChannelKind
from massagectl.safety.faults import Fault, FaultCause

# The reference zone's element: 40 J/K over 0.8 W/K is 50 s; 20 % on top so that a board
# whose element is a little heavier does not trip.
ELEMENT_TIME_CONSTANT_S = 60.0
# Readings are averaged over this long before they are compared.
MEAN_S = 1.0
# The surface's rate when the element went off is measured over this stretch before it.
RATE_WINDOW_S = 10.0
# Sensor noise on a one-second mean (0.05 C noise, 0.1 C steps, 20 readings) and on a rate
# measured over RATE_WINDOW_S.
RISE_MARGIN_C = 0.15
RATE_MARGIN_C_PER_S = 0.004
# The reading past the set point at which the thermostat has surely opened, and the reading
# back inside the band (hardware.md 5: 0.3 C) at which it may have closed again.
OFF_PAST_SET_POINT_C = 0.1
ON_WITHIN_BAND_C = 0.2
# Nothing around a heat zone is warmer than skin; nothing around a cool zone is colder than a
# cold room. Beyond these only the element moves the surface.
HEAT_ONLY_ABOVE_C = 37.0
COLD_ONLY_BELOW_C = 16.0
# Heat that does not arrive: a reading this far below the set point has the thermostat surely
# on (band 0.3 C plus noise), and then the surface must warm by HEAT_PROGRESS_C within
# HEAT_LOST_AFTER_S. On full power the reference zone settles above 49 C even in a 15 C room,
# so below any set point it warms by well over a degree a minute once the element has warmed
# (40 s). A surface that does not has lost its heater: the element failed, or the thermal
# cut-off opened because the heat ran away.
SURELY_ON_BELOW_C = 0.4
HEAT_PROGRESS_C = 0.2
HEAT_LOST_AFTER_S = 90.0


class ElementOffWatch:
    """One heat or cool channel of a zone, judged on its zone's temperature sensor."""

    def __init__(self, sensor_id: str, channel_index: int, kind: ChannelKind) -> None:
        self.sensor_id = sensor_id
        self.channel_index = channel_index
        self.sign = -1.0 if kind is ChannelKind.COOL else 1.0  # +: the element heats
        self.cause = FaultCause.COOLER_STUCK_ON if self.sign < 0 else FaultCause.HEATER_STUCK_ON
        self.beyond_c = self.sign * (COLD_ONLY_BELOW_C if self.sign < 0 else HEAT_ONLY_ABOVE_C)
        self._sum = 0.0
        self._count = 0
        self._bucket_start: float | None = None
        self._means: deque[tuple[float, float]] = deque()  # (board_s, signed mean C)
        self._off = False
        # The envelope since the element went off: (start_s, start C, allowed C, rate C/s,
        # last board_s), in the signed direction (+ is the element's direction).
        self._envelope: list[float] | None = None
        self._on_since: float | None = None  # the thermostat surely on since, and the lowest
        self._lowest = 0.0  # mean since (heat only)
        self._occupied: bool | None = None  # the seat switch, when the device has one
        self._judge_from_s = -math.inf  # no envelope before this (the surroundings changed)

    def update(self, value: float, board_s: float, commanded: float | None,
               safe_default: float, occupied: bool | None = None) -> Fault | None:
        """One reading; `occupied`: the seat switch now (None: the device has none)."""
        if occupied is not None:
            if self._occupied is not None and occupied != self._occupied:
                # Someone sat down or got up: the rate measured before tells nothing of what
                # the surface may do now, so the envelope starts again from what follows.
                self._means.clear()
                self._envelope = None
                self._judge_from_s = board_s + RATE_WINDOW_S + MEAN_S
            self._occupied = occupied
        if self._bucket_start is None or board_s < self._bucket_start:
            self._bucket_start, self._sum, self._count = board_s, 0.0, 0
        self._sum += value
        self._count += 1
        if board_s - self._bucket_start < MEAN_S - 1e-9:
            return None
        mean = self.sign * self._sum / self._count
        self._bucket_start, self._sum, self._count = board_s, 0.0, 0
        return self._judge(mean, board_s, commanded, safe_default)

    def _judge(self, mean: float, board_s: float, commanded: float | None,
               safe_default: float) -> Fault | None:
        means = self._means
        means.append((board_s, mean))
        while means and means[0][0] < board_s - RATE_WINDOW_S - MEAN_S:
            means.popleft()
        lost = self._heat_lost(mean, board_s, commanded, safe_default)
        if lost is not None:
            return lost
        self._off = self._element_off(mean, commanded, safe_default)
        if not self._off or mean < self.beyond_c or board_s < self._judge_from_s:
            self._envelope = None
            return None
        first_s, first = means[0]
        observed = (mean - first) / (board_s - first_s) if board_s > first_s else 0.0
        observed = max(observed, 0.0) + RATE_MARGIN_C_PER_S
        if self._envelope is None:
            self._envelope = [board_s, mean, mean, observed, board_s]
            return None
        start_s, start, allowed, rate, last_s = self._envelope
        step = math.exp(-(board_s - last_s) / ELEMENT_TIME_CONSTANT_S)
        # The exact integral of the decaying rate over the step.
        allowed += rate * ELEMENT_TIME_CONSTANT_S * (1.0 - step)
        if mean > allowed + RISE_MARGIN_C:
            return self._fault(mean, board_s, start_s, allowed)
        # The rate can only fall while the element is off: what the surface does now bounds
        # what it may do from here, so the envelope follows it down.
        self._envelope = [start_s, start, min(allowed, mean), min(rate * step, observed),
                          board_s]
        return None

    def _fault(self, mean: float, board_s: float, start_s: float, allowed: float) -> Fault:
        verb, element = ("rose", "heater") if self.sign > 0 else ("fell", "cooler")
        what = "heat" if self.sign > 0 else "cooling"
        return Fault(self.cause, f"{self.sensor_id}: {what} cannot be switched off: the surface "
                     f"{verb} to {self.sign * mean:.1f} C, {mean - allowed:.1f} C beyond what "
                     f"the {element} could do {board_s - start_s:.0f} s after it went off: get "
                     "up from the chair and unplug it",
                     values={self.sensor_id: (self.sign * mean, "C"),
                             "allowed": (self.sign * allowed, "C")})

    def _heat_lost(self, mean: float, board_s: float, commanded: float | None,
                   safe_default: float) -> Fault | None:
        on = (self.sign > 0 and commanded is not None and commanded > safe_default
              and mean <= commanded - SURELY_ON_BELOW_C)
        if not on or commanded is None or self._on_since is None \
                or mean >= self._lowest + HEAT_PROGRESS_C:
            self._on_since, self._lowest = (board_s, mean) if on else (None, 0.0)
            return None
        self._lowest = min(self._lowest, mean)
        if board_s - self._on_since < HEAT_LOST_AFTER_S:
            return None
        return Fault(FaultCause.HEATER_NOT_HEATING, f"{self.sensor_id}: the heat does not warm "
                     f"the surface: {mean:.1f} C, {commanded - mean:.1f} C below its set point, "
                     f"not {HEAT_PROGRESS_C:g} C warmer in {board_s - self._on_since:.0f} s. The "
                     "heater failed, or its thermal cut-off opened because the heat ran away: get "
                     "up from the chair and unplug it", values={self.sensor_id: (mean, "C")})

    def _element_off(self, mean: float, commanded: float | None, safe_default: float) -> bool:
        if commanded is None or self.sign * (commanded - safe_default) <= 0.0:
            return True  # the channel is off
        past = mean - self.sign * commanded  # how far beyond the set point, signed
        if past >= OFF_PAST_SET_POINT_C:
            return True
        return self._off and past > -ON_WITHIN_BAND_C
