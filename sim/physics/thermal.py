"""Heat and cold: a heating element and the skin-contact surface as a two-node thermal RC.

    element --G_EC--> contact surface --G_AMBIENT--> room air
                                      --G_SKIN-----> the occupant's skin (when someone sits)

The board's thermostat switches the element on the sensed contact temperature (the thermistor
sits at the contact surface, so it lags the element). The network is linear, so a step of any
length is solved exactly with the 2x2 matrix exponential; the thermostat decides at each step's
start, which at telemetry rate is far finer than the minutes-long time constants.
"""

from __future__ import annotations

import math

# A living room.
AMBIENT_C = 22.0
# Skin under a shirt, pressed against a cushion: 32-34 C.
SKIN_C = 33.0
# Heating pads in chairs and cushions draw 20-50 W; at the low end of that the contact surface
# still passes 45 C if the element never switches off (a welded relay), which is the runaway a
# supervisor must catch: steady state ~53 C occupied, ~66 C empty.
ELEMENT_POWER_W = 22.0
# A Peltier module's cold side pumps roughly this much heat out of a small pad.
COOLER_POWER_W = 15.0
# Heat capacities: a thin element with its carrier, and the cover, foam and skin layer under it.
ELEMENT_CAPACITY_J_PER_K = 40.0
CONTACT_CAPACITY_J_PER_K = 200.0
# Conductances. Element to surface through the cover; surface to room through the cushion;
# surface to body when someone leans on it. They give time constants of ~40 s and ~8 min.
ELEMENT_TO_CONTACT_W_PER_K = 0.8
CONTACT_TO_AMBIENT_W_PER_K = 0.5
CONTACT_TO_SKIN_W_PER_K = 0.3
# Thermostat band: the element switches on below set point - band and off at the set point.
THERMOSTAT_BAND_C = 0.3


class _Network:
    """The RC network's matrix exponential for one occupancy, in closed form."""

    def __init__(self, occupied: bool) -> None:
        conductance = CONTACT_TO_AMBIENT_W_PER_K + (CONTACT_TO_SKIN_W_PER_K if occupied else 0.0)
        skin_part = CONTACT_TO_SKIN_W_PER_K * SKIN_C if occupied else 0.0
        self.conductance_w_per_k = conductance
        self.surroundings_c = (CONTACT_TO_AMBIENT_W_PER_K * AMBIENT_C + skin_part) / conductance
        # d/dt [element, contact] = A @ [element, contact] + input
        self.a11 = -ELEMENT_TO_CONTACT_W_PER_K / ELEMENT_CAPACITY_J_PER_K
        self.a12 = -self.a11
        self.a21 = ELEMENT_TO_CONTACT_W_PER_K / CONTACT_CAPACITY_J_PER_K
        self.a22 = -(ELEMENT_TO_CONTACT_W_PER_K + conductance) / CONTACT_CAPACITY_J_PER_K
        trace = self.a11 + self.a22
        determinant = self.a11 * self.a22 - self.a12 * self.a21
        root = math.sqrt(trace * trace / 4.0 - determinant)  # real: a conduction network
        self.fast = trace / 2.0 - root
        self.slow = trace / 2.0 + root

    def settled(self, power_w: float) -> tuple[float, float]:
        """(element, contact) temperatures the network settles at with constant power."""
        contact = self.surroundings_c + power_w / self.conductance_w_per_k
        return contact + power_w / ELEMENT_TO_CONTACT_W_PER_K, contact

    def decay(self, dt_s: float, y1: float, y2: float) -> tuple[float, float]:
        """exp(A dt) @ (y1, y2), by Sylvester's formula for distinct eigenvalues."""
        e_fast = math.exp(self.fast * dt_s)
        e_slow = math.exp(self.slow * dt_s)
        span = self.fast - self.slow
        # exp(At) = (e_fast (A - slow I) - e_slow (A - fast I)) / (fast - slow)
        m11 = (e_fast * (self.a11 - self.slow) - e_slow * (self.a11 - self.fast)) / span
        m22 = (e_fast * (self.a22 - self.slow) - e_slow * (self.a22 - self.fast)) / span
        m12 = (e_fast - e_slow) * self.a12 / span
        m21 = (e_fast - e_slow) * self.a21 / span
        return m11 * y1 + m12 * y2, m21 * y1 + m22 * y2


_NETWORKS = {True: _Network(occupied=True), False: _Network(occupied=False)}


class ThermalZone:
    """A heat (or cool) zone: element, contact surface and the board's thermostat."""

    __slots__ = ("contact_c", "cooling", "element_c", "element_on", "safe_c", "sensed_override",
                 "stuck_on")

    def __init__(self, cooling: bool, safe_c: float) -> None:
        self.cooling = cooling
        self.safe_c = safe_c
        self.element_c = AMBIENT_C
        self.contact_c = AMBIENT_C
        self.element_on = False  # the thermostat's output
        self.stuck_on = False  # fault: the element's relay is welded shut
        self.sensed_override: float | None = None  # fault: the thermistor is stuck or dead

    @property
    def powered(self) -> bool:
        """Whether the element really conducts (the thermostat's wish, or a welded relay)."""
        return self.element_on or self.stuck_on

    def advance(self, dt_s: float, set_point_c: float | None, occupied: bool) -> None:
        self.element_on = self._thermostat(set_point_c)
        if dt_s <= 0.0:
            return
        network = _NETWORKS[occupied]
        power_w = 0.0
        if self.powered:
            power_w = -COOLER_POWER_W if self.cooling else ELEMENT_POWER_W
        element_final, contact_final = network.settled(power_w)
        y1, y2 = network.decay(dt_s, self.element_c - element_final, self.contact_c - contact_final)
        self.element_c = element_final + y1
        self.contact_c = contact_final + y2

    def _thermostat(self, set_point_c: float | None) -> bool:
        if set_point_c is None or set_point_c == self.safe_c:
            return False
        sensed = self.contact_c if self.sensed_override is None else self.sensed_override
        # Work in "how far short of the set point", so heating and cooling share one rule.
        shortfall = sensed - set_point_c if self.cooling else set_point_c - sensed
        if shortfall >= THERMOSTAT_BAND_C:
            return True
        if shortfall <= 0.0:
            return False
        return self.element_on
