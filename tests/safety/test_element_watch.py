"""The heater/cooler-off model against the simulated zone: a healthy zone never looks stuck,
whatever its set points, and a welded relay is always found."""

from __future__ import annotations

import contextlib
import itertools
import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from massagectl.routines.device import ChannelKind
from massagectl.safety.element_watch import (
    HEAT_LOST_AFTER_S,
    HEAT_ONLY_ABOVE_C,
    MEAN_S,
    ON_WITHIN_BAND_C,
    RATE_MARGIN_C_PER_S,
    RATE_WINDOW_S,
    RISE_MARGIN_C,
    ElementOffWatch,
)
from massagectl.safety.faults import FaultCause
from massagectl.sim.physics import thermal
from massagectl.sim.physics.thermal import ThermalZone

PERIOD_S = 0.05  # the board's telemetry
NOISE_C = 0.054  # the simulated thermistor's noise (sim.sensors), read in 0.1 C steps


def drive(zone: ThermalZone, watch: ElementOffWatch, steps: list[tuple[float, float]],
          occupied: bool, seed: int, stuck_at_s: float = math.inf):
    """Run the zone through `steps` of (seconds, set point); the first fault and its time."""
    rng = np.random.default_rng(seed)
    now_s = 0.0
    for duration_s, set_point_c in steps:
        for _ in range(round(duration_s / PERIOD_S)):
            if now_s >= stuck_at_s:
                zone.heat_stuck = True
            zone.advance(PERIOD_S, set_point_c, occupied)
            now_s += PERIOD_S
            reading = round((zone.contact_c + rng.normal(0.0, NOISE_C)) * 10) / 10
            fault = watch.update(reading, now_s, set_point_c, 0.0)
            if fault is not None:
                return fault, now_s
    return None, now_s


set_points = st.lists(st.tuples(st.sampled_from([30.0, 60.0, 120.0, 240.0]),
                                st.sampled_from([0.0, 36.0, 38.0, 40.0, 42.0, 44.0])),
                      min_size=2, max_size=4)
# Each example simulates 10-30 minutes at 20 Hz: a few per CI run, many under the fuzz profile.
EXAMPLES = max(6, settings().max_examples // 100)


@settings(max_examples=EXAMPLES)
@given(steps=set_points, occupied=st.booleans(), seed=st.integers(0, 10_000))
def test_a_healthy_zone_never_looks_stuck_whatever_its_set_points(steps, occupied, seed):
    zone = ThermalZone(False, 0.0)
    fault, _ = drive(zone, ElementOffWatch("temp", 0, ChannelKind.HEAT),
                     [(400.0, 40.0), *steps], occupied, seed)
    assert fault is None, str(fault)


@settings(max_examples=EXAMPLES)
@given(set_point_c=st.sampled_from([38.0, 40.0, 42.0, 44.0]),
       then_c=st.sampled_from([None, 0.0, 36.0]),
       stuck_after_s=st.floats(0.0, 120.0), occupied=st.booleans(), seed=st.integers(0, 10_000))
def test_a_welded_relay_is_always_found(set_point_c, then_c, stuck_after_s, occupied, seed):
    zone = ThermalZone(False, 0.0)
    zone.cutoff_hot_c = math.inf  # the host alone: no cut-off to end it first
    later = set_point_c if then_c is None else then_c
    stuck_at_s = 500.0 + stuck_after_s
    fault, at_s = drive(zone, ElementOffWatch("temp", 0, ChannelKind.HEAT),
                        [(500.0, set_point_c), (600.0, later)], occupied, seed, stuck_at_s)
    assert fault is not None and fault.cause is FaultCause.HEATER_STUCK_ON
    assert at_s - stuck_at_s < 150.0
    assert zone.contact_c < 46.0  # found while the surface is still near the set point


# --- heat switched on and off at random, on zones unlike the reference one ----------------------

# Bounds on finding a welded relay on the reference zone, from the moment a sound relay would
# surely be open above body temperature (the surface at or past its set point, or the heat
# off or lowered below it). Over 300 random welds: median 28 s, 90 % within 37 s, at most 94 s
# (welded while a lowered heat let the surface cool: it has to stop falling before it can be
# seen to rise), the surface then at most 1.47 C above its set point. A quarter or so on top.
DETECT_BOUND_S = 120.0
ABOVE_SET_POINT_BOUND_C = 2.0
BODY_C = 37.0


@contextlib.contextmanager
def zone_physics(**values: float):
    """The simulated zone with other parts than the reference one (sim.physics.thermal)."""
    saved = {name: getattr(thermal, name) for name in values}
    saved_networks = thermal._NETWORKS
    for name, value in values.items():
        setattr(thermal, name, value)
    thermal._NETWORKS = {True: thermal._Network(True), False: thermal._Network(False)}
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(thermal, name, value)
        thermal._NETWORKS = saved_networks


# The reference zone's skin contact (sim.physics.thermal), and the jump in the surface's rate
# the watch's margins allow for when a person leans away unseen (safety.element_watch): the
# reference zone's 0.0135 C/s at 42 C (0.3 W/K to 33 C skin over 200 J/K), a fifth on top.
REFERENCE_SKIN_W_PER_K = thermal.CONTACT_TO_SKIN_W_PER_K
UNSEEN_STEP_C_PER_S = 0.016
HIGHEST_SET_POINT_C = 44.0
# What the heat-lost check relies on: full power settles the surface above this (49 C for the
# reference zone in a 15 C room, hardware.md 5.1).
HEATER_SETTLES_ABOVE_C = 49.0


@st.composite
def zones(draw, skin_factor: float = 2.0, unseen_step_c_per_s: float | None = None,
          reference_board: bool = False):
    """A heat zone within what the watch assumes (an element time constant of at most 60 s,
    nothing around the surface warmer than 37 C, a heater that on full power would settle the
    surface above 49 C), its other parts well away from the reference's: a heavier or lighter
    element and cover, a stronger heater, a warm or cold room, warm or cool skin, a looser or
    firmer contact (up to `skin_factor` times the reference's; with `unseen_step_c_per_s`, no
    firmer than a person leaving at the highest set point raises the surface's rate by that).
    `reference_board`: the element, cover and heater are the reference zone's; only the room
    and the person vary."""
    if reference_board:
        capacity = thermal.ELEMENT_CAPACITY_J_PER_K
        contact_j_per_k = thermal.CONTACT_CAPACITY_J_PER_K
        ambient_w_per_k = thermal.CONTACT_TO_AMBIENT_W_PER_K
    else:
        capacity = draw(st.floats(30.0, 48.0))
        contact_j_per_k = draw(st.floats(150.0, 260.0))
        ambient_w_per_k = draw(st.floats(0.35, 0.7))
    skin_w_per_k = draw(st.floats(0.5, skin_factor)) * REFERENCE_SKIN_W_PER_K
    ambient_c = draw(st.floats(15.0, 30.0))
    skin_c = draw(st.floats(31.0, 36.5))
    if unseen_step_c_per_s is not None:
        skin_w_per_k = min(skin_w_per_k, unseen_step_c_per_s * contact_j_per_k
                           / (HIGHEST_SET_POINT_C - skin_c))
    # On full power, empty or occupied, the surface settles at its surroundings plus
    # power / conductance: above HEATER_SETTLES_ABOVE_C (safety.element_watch's heat-lost check).
    needed_w = max((HEATER_SETTLES_ABOVE_C - ambient_c) * ambient_w_per_k,
                   HEATER_SETTLES_ABOVE_C * (ambient_w_per_k + skin_w_per_k)
                   - ambient_w_per_k * ambient_c - skin_w_per_k * skin_c)
    if reference_board:
        return {"CONTACT_TO_SKIN_W_PER_K": skin_w_per_k, "AMBIENT_C": ambient_c,
                "SKIN_C": skin_c}
    return {
        "ELEMENT_CAPACITY_J_PER_K": capacity,
        "ELEMENT_TO_CONTACT_W_PER_K": draw(st.floats(max(0.6, capacity / 60.0), 1.0)),
        "CONTACT_CAPACITY_J_PER_K": contact_j_per_k,
        "CONTACT_TO_AMBIENT_W_PER_K": ambient_w_per_k,
        "CONTACT_TO_SKIN_W_PER_K": skin_w_per_k,
        "AMBIENT_C": ambient_c,
        "SKIN_C": skin_c,
        "ELEMENT_POWER_W": needed_w * draw(st.floats(1.0, 1.6)),
    }


def run_schedule(schedule, seed, *, weld_at_s=math.inf, seat_switch=True):
    """`schedule`: (seconds, set point, occupied) stretches from a zone at room temperature;
    the watch hears the seat switch (or, `seat_switch=False`, not: a person leaning away from
    the pad, or a device without a switch). The first fault, when, the surface then, and when
    after the weld a sound relay would surely have been open above body temperature."""
    zone = ThermalZone(False, 0.0)
    zone.cutoff_hot_c = math.inf  # the host alone: no cut-off to end it first
    zone.element_c = zone.contact_c = thermal.AMBIENT_C
    watch = ElementOffWatch("temp", 0, ChannelKind.HEAT)
    rng = np.random.default_rng(seed)
    now_s, measurable_s = 0.0, None
    for duration_s, set_point_c, occupied in schedule:
        for _ in range(round(duration_s / PERIOD_S)):
            if now_s >= weld_at_s:
                zone.heat_stuck = True
            zone.advance(PERIOD_S, set_point_c, occupied)
            now_s += PERIOD_S
            # A sound relay would be open: the surface at or past its set point (inside the
            # thermostat's band a sound element may be on or off, which no reading can tell),
            # and above body temperature.
            if (measurable_s is None and now_s >= weld_at_s
                    and zone.contact_c >= max(set_point_c, BODY_C)):
                measurable_s = now_s
            reading = round((zone.contact_c + rng.normal(0.0, NOISE_C)) * 10) / 10
            fault = watch.update(reading, now_s, set_point_c, 0.0,
                                 occupied if seat_switch else None)
            if fault is not None:
                return fault, now_s, zone.contact_c, measurable_s
    return None, now_s, zone.contact_c, measurable_s


# Heat on at any set point, off (paused, or switched off) and on again, a person getting up and
# sitting down, for stretches from seconds to minutes.
schedules = st.lists(
    st.tuples(st.sampled_from([5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0]),
              st.sampled_from([0.0, 0.0, 30.0, 36.0, 38.0, 40.0, 41.0, 42.0, 43.0, 44.0]),
              st.booleans()),
    min_size=3, max_size=8)
MANY = max(10, settings().max_examples // 50)


@settings(max_examples=MANY)
@given(physics=zones(), schedule=schedules, seed=st.integers(0, 10_000))
def test_a_sound_heater_never_looks_stuck_whatever_the_zone_and_the_schedule(physics, schedule,
                                                                             seed):
    """Heat on, off and on again, people sitting down and getting up (the seat switch says
    so), on zones unlike the reference."""
    with zone_physics(**physics):
        fault, at_s, _, _ = run_schedule([(400.0, 42.0, True), *schedule], seed)
    assert fault is None, f"{fault} at {at_s:.0f} s"


def apart(schedule) -> bool:
    """No stretch where the person leaves at the very moment the heat goes off or down."""
    return not any(before[2] and not after[2] and after[1] < before[1]
                   for before, after in itertools.pairwise(schedule))


@settings(max_examples=MANY)
@given(physics=zones(unseen_step_c_per_s=UNSEEN_STEP_C_PER_S, reference_board=True),
       schedule=schedules.map(lambda stretches: [(400.0, 42.0, True), *stretches])
       .filter(apart), seed=st.integers(0, 10_000))
@example(physics={"CONTACT_TO_SKIN_W_PER_K": UNSEEN_STEP_C_PER_S / 0.0135
                  * REFERENCE_SKIN_W_PER_K},
         schedule=[(400.0, 42.0, True), (0.05, 0.0, True), (200.0, 0.0, False)], seed=0)
def test_a_sound_heater_never_looks_stuck_when_a_person_leans_away_unseen(physics, schedule,
                                                                          seed):
    """The same without the seat switch (a person leaning away from the pad and back, or a
    device that has no switch), on the reference zone in any room, while leaving raises the
    surface's rate by at most UNSEEN_STEP_C_PER_S. Leaning away at the very moment the heat
    goes off, in a warm room, is not inside the margins (safety.element_watch); a moment
    later it is (the example: a firmer contact, gone a reading after the heat went off at
    42 C)."""
    with zone_physics(**physics):
        fault, at_s, _, _ = run_schedule(schedule, seed, seat_switch=False)
    assert fault is None, f"{fault} at {at_s:.0f} s"


@settings(max_examples=MANY)
@given(set_point_c=st.sampled_from([38.0, 40.0, 42.0, 44.0]),
       then_c=st.sampled_from([None, None, 0.0, 36.0, -2.0]),
       weld_at_s=st.floats(300.0, 800.0), occupied=st.booleans(), seed=st.integers(0, 10_000))
def test_a_welded_relay_is_caught_soon_after_it_heats_unasked(set_point_c, then_c, weld_at_s,
                                                              occupied, seed):
    """Welded at any moment, warming up, at the set point, or after the heat went off or down:
    caught within DETECT_BOUND_S of heating where a sound relay would not, before the surface
    is ABOVE_SET_POINT_BOUND_C above the highest set point it had."""
    later = set_point_c if then_c is None else then_c if then_c >= 0.0 else set_point_c + then_c
    fault, at_s, contact_c, measurable_s = run_schedule(
        [(600.0, set_point_c, occupied), (900.0, later, occupied)], seed, weld_at_s=weld_at_s)
    assert fault is not None and fault.cause is FaultCause.HEATER_STUCK_ON, str(fault)
    assert measurable_s is not None
    assert at_s - measurable_s <= DETECT_BOUND_S
    assert contact_c < set_point_c + ABOVE_SET_POINT_BOUND_C


# --- the envelope's arithmetic at its edges, on readings that hold one value a second ----------


def feed(watch: ElementOffWatch, levels, commanded=None, occupied=None, safe=0.0):
    """Each level held for a second at the board's 20 Hz (so each one-second mean is exactly
    the level); the first fault and the second it came in."""
    watch.update(levels[0], 0.0, commanded, safe, occupied)  # the first mean's first reading
    for second, level in enumerate(levels):
        for step in range(1, 21):
            fault = watch.update(level, second + step * PERIOD_S, commanded, safe, occupied)
            if fault is not None:
                return fault, second
    return None, None


def heat_watch() -> ElementOffWatch:
    return ElementOffWatch("temp", 0, ChannelKind.HEAT)


@pytest.mark.parametrize("step_c, trips", [
    (RISE_MARGIN_C - 0.002, False),
    (RISE_MARGIN_C + RATE_MARGIN_C_PER_S + 0.002, True),
])
def test_a_rise_with_the_heat_off_at_the_edge_of_the_margins(step_c, trips):
    """A surface standing still with the heat off may rise by the noise margin, and by what the
    rate margin lets the element still give in a second, and no more."""
    fault, _ = feed(heat_watch(), [40.0] * 12 + [40.0 + step_c] * 3)
    assert (fault is not None) is trips, str(fault)


def test_the_message_says_heat_cannot_be_switched_off_and_what_to_do():
    fault, second = feed(heat_watch(), [40.0] * 12 + [40.3])
    assert fault.cause is FaultCause.HEATER_STUCK_ON and second == 12
    assert fault.detail == ("temp: heat cannot be switched off: the surface rose to 40.3 C, "
                            "0.3 C beyond what the heater could do 12 s after it went off: get "
                            "up from the chair and unplug it")
    assert fault.values["temp"] == (pytest.approx(40.3), "C")
    assert fault.values["allowed"] == (pytest.approx(40.0, abs=0.005), "C")


def test_a_cooler_that_keeps_cooling_with_the_cold_off():
    """Mirrored: below the coldest room, a surface falling faster than an unpowered module can
    still cool it."""
    watch = ElementOffWatch("temp", 1, ChannelKind.COOL)
    fault, second = feed(watch, [15.0] * 12 + [14.7])
    assert fault.cause is FaultCause.COOLER_STUCK_ON and second == 12
    assert fault.detail == ("temp: cooling cannot be switched off: the surface fell to 14.7 C, "
                            "0.3 C beyond what the cooler could do 12 s after it went off: get "
                            "up from the chair and unplug it")
    assert fault.values["temp"] == (pytest.approx(14.7), "C")
    assert fault.values["allowed"] == (pytest.approx(15.0, abs=0.005), "C")
    # Above the coldest room a warmer room may be what cools it: not judged.
    assert feed(ElementOffWatch("temp", 1, ChannelKind.COOL), [17.0] * 12 + [16.1] * 3) == (
        None, None)


@pytest.mark.parametrize("level_c, trips", [(HEAT_ONLY_ABOVE_C - 0.1, False),
                                            (HEAT_ONLY_ABOVE_C, True)])
def test_a_rise_is_judged_from_body_temperature_up(level_c, trips):
    """Below body temperature the person's warmth may be what warms the surface: a step up
    from there is measured as the rate the element went off with, one from 37 C is judged."""
    fault, _ = feed(heat_watch(), [level_c] * 12 + [level_c + 0.2] * 3)
    assert (fault is not None) is trips, str(fault)


@pytest.mark.parametrize("dip_c, trips", [(ON_WITHIN_BAND_C - 0.02, True),
                                          (ON_WITHIN_BAND_C + 0.02, False)])
def test_the_element_counts_as_off_until_the_surface_is_back_in_the_thermostats_band(dip_c,
                                                                                      trips):
    """Past its set point the thermostat has the element off; it stays off as the surface
    coasts back down, until the surface is back in the thermostat's band (where it may switch
    on). A rise before that is no heat the thermostat asked for; a rise from deeper is."""
    set_point_c = 40.0
    levels = ([set_point_c + 0.3] * 12 + [set_point_c - dip_c] * 12
              + [set_point_c - dip_c + 0.05 * (1 + i) for i in range(6)])
    fault, _ = feed(heat_watch(), levels, commanded=set_point_c)
    assert (fault is not None) is trips, str(fault)


def test_a_watch_that_starts_while_the_surface_warms_toward_its_set_point_waits_for_it():
    """A new watch (a board restarted mid-session) knows nothing of the thermostat: a surface
    just under its set point and rising is heat the thermostat is giving."""
    levels = [39.85 + 0.05 * i for i in range(12)]
    assert feed(heat_watch(), levels, commanded=40.0) == (None, None)


def test_the_first_word_of_the_seat_switch_is_no_change():
    """Only a change of the seat switch starts the watch again, not its first reading."""
    fault, second = feed(heat_watch(), [40.0] * 3 + [40.0 + 0.05 * (1 + i) for i in range(12)],
                         occupied=True)
    assert fault is not None and second < RATE_WINDOW_S + MEAN_S


def test_the_heat_lost_message_says_what_failed_and_what_to_do():
    fault, second = feed(heat_watch(), [30.0] * round(HEAT_LOST_AFTER_S + 2), commanded=40.0)
    assert fault.cause is FaultCause.HEATER_NOT_HEATING and second == HEAT_LOST_AFTER_S
    assert fault.detail == ("temp: the heat does not warm the surface: 30.0 C, 10.0 C below its "
                            "set point, not 0.2 C warmer in 90 s. The heater failed, or its "
                            "thermal cut-off opened because the heat ran away: get up from the "
                            "chair and unplug it")
    assert fault.values == {"temp": (30.0, "C")}


def test_a_watch_judges_from_its_second_mean_on():
    """A relay welded before the watch began (a board restarted mid-session) shows at once."""
    fault, second = feed(heat_watch(), [40.0, 40.0 + RISE_MARGIN_C + 0.05, 40.2])
    assert fault is not None and second == 1


def test_a_cooler_cooling_as_asked_is_not_taken_for_stuck():
    """The cool channel's set point at its safe default (40 C on the pad) is off; below it the
    module cools on command, and a falling surface is what was asked for."""
    watch = ElementOffWatch("temp", 1, ChannelKind.COOL)
    levels = [16.0] * 12 + [16.0 - 0.05 * (1 + i) for i in range(16)]
    assert feed(watch, levels, commanded=15.0, safe=40.0) == (None, None)
    # With the cooling off, the same fall is a module that cannot be switched off.
    watch = ElementOffWatch("temp", 1, ChannelKind.COOL)
    fault, _ = feed(watch, levels, commanded=40.0, safe=40.0)
    assert fault is not None and fault.cause is FaultCause.COOLER_STUCK_ON
