"""Heat and cold: an element and the skin-contact surface as a two-node thermal RC.

    element --G_EC--> contact surface --G_AMBIENT--> room air
                                      --G_SKIN-----> the occupant's skin (when someone sits)

The element is a resistive heater, a thermoelectric (Peltier) cooler, or a thermoelectric
module that does both by reversing its current (one zone, two channels: heat and cool). The
board's thermostat switches it on the sensed contact temperature (the thermistor sits at the
contact surface, so it lags the element). The network is linear, so a step of any length is
solved exactly with the 2x2 matrix exponential; the thermostat decides at each step's start,
which at telemetry rate is far finer than the minutes-long time constants.

Every zone carries an independent thermal cut-off in the element's supply (hardware.md,
section 5): a bimetal switch at the contact surface that opens when the surface reaches
CUTOFF_HOT_C (a zone that heats) or CUTOFF_COLD_C (a zone that cools), whatever the relay or
the board does, and stays open until the zone is serviced.
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
# The elements run from the board's 24 V supply. A resistive element draws its power over that
# (22 W: 0.92 A) while its relay is closed; a Peltier module pumping 15 W out of the pad takes
# about twice that electrically (a coefficient of performance near 0.5): 30 W, 1.25 A. With
# the relay (or the bridge leg) open, or the thermal cut-off open, it draws nothing.
SUPPLY_V = 24.0
COOLER_INPUT_W = 30.0
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
# The thermal cut-offs (hardware.md 5). Hot: above the thermostat's overshoot at the highest
# set point admission allows (44 C: +0.25 C warming up under a person, +0.55 C on an empty
# pad), and low enough that the heat still stored in the element when it opens leaves a seated
# person below 45 C (44.8 C here).
# Cold: below the 15 C cold floor's undershoot, and high enough that the cold stored in the
# module when it opens leaves the surface above the 10 C hard floor.
CUTOFF_HOT_C = 44.6
CUTOFF_COLD_C = 12.0
# A step longer than this is cut into pieces so that a cut-off opens within a fraction of a
# degree of its temperature (the surface moves at most ~0.1 C/s).
CUTOFF_STEP_S = 1.0


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
    """One zone's element, contact surface, thermostat and thermal cut-off.

    `heat_safe_c` / `cool_safe_c`: the off set point of the zone's heat / cool channel (None:
    the zone cannot do that). A thermoelectric zone has both."""

    __slots__ = (
        "contact_c",
        "cool_safe_c",
        "cool_stuck",
        "cooling_on",
        "cutoff_cold_c",
        "cutoff_hot_c",
        "cutoff_open",
        "element_c",
        "heat_safe_c",
        "heat_stuck",
        "heating",
        "sensed_override",
    )

    def __init__(self, cooling: bool, safe_c: float) -> None:
        self.heat_safe_c: float | None = None if cooling else safe_c
        self.cool_safe_c: float | None = safe_c if cooling else None
        self.element_c = AMBIENT_C
        self.contact_c = AMBIENT_C
        self.heating = False  # the thermostat's outputs
        self.cooling_on = False
        self.heat_stuck = False  # fault: the heating relay (or H-bridge leg) is welded shut
        self.cool_stuck = False
        self.cutoff_open = False  # the thermal cut-off has opened: no power either way
        self.cutoff_hot_c = CUTOFF_HOT_C
        self.cutoff_cold_c = CUTOFF_COLD_C
        self.sensed_override: float | None = None  # fault: the thermistor is stuck or dead

    def add_mode(self, cooling: bool, safe_c: float) -> None:
        """The same module driven the other way: a thermoelectric heat/cool zone."""
        if cooling:
            self.cool_safe_c = safe_c
        else:
            self.heat_safe_c = safe_c

    @property
    def cooling(self) -> bool:
        """A zone that only cools."""
        return self.heat_safe_c is None

    @property
    def stuck_on(self) -> bool:
        return self.heat_stuck or self.cool_stuck

    def power_w(self) -> float:
        """What the element really delivers: the thermostat's wish, or a welded relay."""
        if self.cutoff_open:
            return 0.0
        heat = self.heat_stuck or (self.heating and not self.cool_stuck)
        cool = self.cool_stuck or (self.cooling_on and not self.heat_stuck)
        if heat and cool:
            return 0.0  # both legs of the bridge closed: the module sees no voltage
        return ELEMENT_POWER_W if heat else -COOLER_POWER_W if cool else 0.0

    @property
    def powered(self) -> bool:
        return self.power_w() != 0.0

    def current_a(self, cooling: bool) -> float:
        """What the element draws through its heating (or, `cooling`, its cooling) leg: its
        rated current whenever that leg powers it, the thermostat's wish or a welded relay."""
        power_w = self.power_w()
        if cooling:
            return COOLER_INPUT_W / SUPPLY_V if power_w < 0.0 else 0.0
        return ELEMENT_POWER_W / SUPPLY_V if power_w > 0.0 else 0.0

    def decide(self, heat_set_point_c: float | None, cool_set_point_c: float | None) -> None:
        """The board's thermostat: at most one direction at a time (heat wins a conflict the
        admission never lets through)."""
        self.heating = self._wants(heat_set_point_c, self.heat_safe_c, cooling=False,
                                   was_on=self.heating)
        self.cooling_on = not self.heating and self._wants(
            cool_set_point_c, self.cool_safe_c, cooling=True, was_on=self.cooling_on)

    def advance(self, dt_s: float, set_point_c: float | None, occupied: bool,
                cool_set_point_c: float | None = None) -> None:
        """Run for `dt_s`: `set_point_c` drives a single-mode zone (heat or cool, whichever it
        is), or the heat channel of a thermoelectric zone whose cool set point comes after."""
        if self.heat_safe_c is None:
            set_point_c, cool_set_point_c = None, set_point_c
        self.decide(set_point_c, cool_set_point_c)
        while dt_s > 0.0:
            step_s = min(dt_s, CUTOFF_STEP_S)
            self._flow(step_s, occupied)
            dt_s -= step_s

    def _flow(self, dt_s: float, occupied: bool) -> None:
        network = _NETWORKS[occupied]
        element_final, contact_final = network.settled(self.power_w())
        y1, y2 = network.decay(dt_s, self.element_c - element_final, self.contact_c - contact_final)
        self.element_c = element_final + y1
        self.contact_c = contact_final + y2
        if self.heat_safe_c is not None and self.contact_c >= self.cutoff_hot_c:
            self.cutoff_open = True
        if self.cool_safe_c is not None and self.contact_c <= self.cutoff_cold_c:
            self.cutoff_open = True

    def _wants(self, set_point_c: float | None, safe_c: float | None, *, cooling: bool,
               was_on: bool) -> bool:
        if set_point_c is None or safe_c is None or set_point_c == safe_c:
            return False
        sensed = self.contact_c if self.sensed_override is None else self.sensed_override
        # Work in "how far short of the set point", so heating and cooling share one rule.
        shortfall = sensed - set_point_c if cooling else set_point_c - sensed
        if shortfall >= THERMOSTAT_BAND_C:
            return True
        if shortfall <= 0.0:
            return False
        return was_on
