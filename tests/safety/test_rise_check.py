"""The measured rise check at its edges: a fill at the admitted rate plus the margin passes, a
hair more trips (two readings in a row), and a slow rise over a long time never adds up."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from massagectl.routines.device import ChannelKind
from massagectl.routines.user import DEFAULT_USER
from massagectl.safety.channel_limits import plan_limits
from massagectl.safety.faults import FaultCause
from massagectl.safety.rise_check import (
    RISE_MARGIN,
    RISE_WINDOW_S,
    RiseWatch,
    rise_watchers_for,
)
from tests.safety.plans import CHAIR

LIMITS = plan_limits(CHAIR, DEFAULT_USER)
CALVES = CHAIR.channel_index("airbag_calves")
SENSOR = next(s for s in CHAIR.sensors if s.id == "pressure_calves")
RATE = LIMITS.channels[CALVES].max_rise_per_s
MARGIN = RISE_MARGIN[ChannelKind.AIRBAG]
PERIOD_S = 0.05


class Limits:
    session_active = True

    def limits_for(self, index):
        return LIMITS.channels[index]

    def commanded(self, index, board_s):
        return None


def feed(readings: list[float]):
    watch = RiseWatch(SENSOR, CALVES, MARGIN)
    for i, value in enumerate(readings):
        fault = watch.update(value, i * PERIOD_S, Limits())
        if fault is not None:
            return i, fault
    return None, None


def at_rate(seconds: float, rate: float = RATE) -> list[float]:
    return [rate * i * PERIOD_S for i in range(round(seconds / PERIOD_S) + 1)]


@pytest.mark.parametrize("step, trips", [(MARGIN - 0.01, False), (MARGIN + 0.01, True)])
def test_a_step_on_top_of_a_fill_at_the_admitted_rate_trips_only_beyond_the_margin(step, trips):
    ramp = at_rate(2.0)
    after = [value + step for value in at_rate(1.0)]
    readings = ramp + [ramp[-1] + RATE * PERIOD_S + value for value in after]
    at, fault = feed(readings)
    assert (fault is not None) is trips
    if trips:
        assert at == len(ramp) + 1  # the second reading beyond the margin: not one spike
        assert fault.cause is FaultCause.RISE_TOO_FAST and "4 kPa/s" in fault.detail


def test_a_fill_at_the_admitted_rate_for_as_long_as_you_like_passes():
    assert feed(at_rate(60.0))[1] is None


def test_a_fill_a_little_too_fast_trips_once_its_excess_passes_the_margin():
    rate = RATE * 1.5
    at, fault = feed(at_rate(3.0, rate))
    assert fault is not None
    # The excess (rate - RATE) * t reaches the margin at 0.5 s: the next reading is beyond it,
    # the one after confirms it.
    assert at * PERIOD_S == pytest.approx(MARGIN / (rate - RATE) + 2 * PERIOD_S, abs=PERIOD_S)
    assert at * PERIOD_S <= RISE_WINDOW_S


# --- edges on a quarter-second grid, where every figure is exact in binary ------------------

QUARTER_S = 0.25


def feed_at(readings: list[tuple[float, float]], context=None):
    """(board_s, kPa) readings; the first fault and its index, or (None, None)."""
    watch = RiseWatch(SENSOR, CALVES, MARGIN)
    for i, (board_s, value) in enumerate(readings):
        fault = watch.update(value, board_s, context or Limits())
        if fault is not None:
            return i, fault
    return None, None


def test_a_rise_exactly_the_margin_above_the_admitted_rate_passes():
    """hardware.md: a trip needs *more than* the margin; exactly at it passes."""
    readings = [(0.0, 0.0)] + [(i * QUARTER_S, RATE * i * QUARTER_S + MARGIN) for i in
                               range(1, 8)]
    assert feed_at(readings) == (None, None)


@pytest.mark.parametrize("baseline_age_s, trips", [
    (RISE_WINDOW_S, True),  # a reading exactly the window old still counts
    (RISE_WINDOW_S + QUARTER_S, False),  # one older has dropped out
])
def test_the_window_holds_readings_up_to_exactly_its_length(baseline_age_s, trips):
    """A low reading, then a fill at just the margin above the admitted rate (which alone
    passes), then two readings 1.5 kPa above it: only a reading within the window of them
    shows that excess."""
    start_s = 10.0
    readings = [(start_s, 0.0)]
    first_high = round((baseline_age_s - QUARTER_S) / QUARTER_S)
    for i in range(1, first_high + 2):
        t = start_s + i * QUARTER_S
        readings.append((t, RATE * (t - start_s) + (1.5 if i >= first_high else MARGIN)))
    at, fault = feed_at(readings)
    assert (fault is not None) is trips
    if trips:
        assert at == len(readings) - 1
        assert readings[at][0] - start_s == baseline_age_s


def test_the_fault_names_the_steepest_rise_its_reading_and_the_limit():
    """A fill at the admitted rate, then a 2 kPa jump: the message names the jump over the
    shortest stretch that shows it (4 kPa in 0.5 s: 8 kPa/s), and the fault carries the
    reading, that rate and the limit for the log and MQTT."""
    readings = [(i * QUARTER_S, RATE * i * QUARTER_S) for i in range(9)]
    last_s, last = readings[-1]
    readings += [(last_s + QUARTER_S, last + RATE * QUARTER_S + 2.0),
                 (last_s + 2 * QUARTER_S, last + 2 * RATE * QUARTER_S + 2.0)]
    at, fault = feed_at(readings)
    assert at == len(readings) - 1
    assert fault.cause is FaultCause.RISE_TOO_FAST
    assert "rose 4.0 kPa in 0.50 s (8.0 kPa/s)" in fault.detail
    assert fault.values == {"pressure_calves": (readings[-1][1], "kPa"),
                            "rise": (8.0, "kPa/s"), "limit": (RATE, "kPa/s")}


class RateChanged(Limits):
    """Limits whose admitted rise for the calves changes (a plan with another user)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate

    def limits_for(self, index):
        return dataclasses.replace(LIMITS.channels[index], max_rise_per_s=self.rate)


def test_new_limits_judge_from_the_next_reading_on_at_their_own_rate():
    """A held bag judged at 4 kPa/s, then at 2 kPa/s (the next plan's user): the held bag
    does not trip on readings figured at the old rate; a fill at 4 kPa/s does trip the new
    limit once it is 1 kPa past it."""
    context = RateChanged(RATE)
    watch = RiseWatch(SENSOR, CALVES, MARGIN)
    t = 100.0
    for _ in range(20):
        assert watch.update(5.0, t, context) is None
        t += QUARTER_S
    context.rate = 2.0
    for _ in range(20):
        assert watch.update(5.0, t, context) is None
        t += QUARTER_S
    start_s = t
    faults = []
    while not faults and t < start_s + RISE_WINDOW_S:
        fault = watch.update(5.0 + RATE * (t - start_s), t, context)
        faults += [fault] if fault is not None else []
        t += QUARTER_S
    assert faults and "faster than the admitted 2 kPa/s" in faults[0].detail


def test_a_bags_pressure_and_the_heads_depth_are_watched_and_nothing_else():
    watched = {sensor.id: watchers for sensor, watchers in
               zip(CHAIR.sensors, rise_watchers_for(CHAIR), strict=True) if watchers}
    assert sorted(watched) == ["pressure_arms", "pressure_calves", "pressure_feet",
                               "pressure_seat", "pressure_shoulders", "roller_depth"]
    (depth,) = watched["roller_depth"]
    assert depth.channel_index == CHAIR.channel_index("roller_depth")
    assert depth.margin == RISE_MARGIN[ChannelKind.DEPTH]


# --- gaps: no reading for a while, a dead sensor, a board that restarted ----------------------

DEAD_KPA = SENSOR.valid_min - 10.0  # a dead sensor reads far outside its valid range


@pytest.mark.parametrize("dead_s", [0.5, 3.0])
def test_a_sensor_that_was_dead_and_reads_again_trips_nothing(dead_s):
    """Issue: a dead calf sensor's return tripped rise_too_fast (its out-of-range readings
    were taken for a bag at -11 kPa), latching a fault that blocked the next session."""
    readings = [(i * PERIOD_S, 0.0) for i in range(20)]
    t = readings[-1][0]
    for _ in range(round(dead_s / PERIOD_S)):
        t += PERIOD_S
        readings.append((t, DEAD_KPA))
    for _ in range(40):
        t += PERIOD_S
        readings.append((t, 0.0))
    assert feed_at(readings) == (None, None)


def test_a_fast_fill_while_the_sensor_was_dead_still_trips_when_it_reads_again():
    """The readings on either side of a dead stretch are compared: a bag that went from empty
    to 9 kPa in half a second while its sensor was out is a fill too fast."""
    readings = [(i * PERIOD_S, 0.0) for i in range(20)]
    t = readings[-1][0]
    for _ in range(10):
        t += PERIOD_S
        readings.append((t, DEAD_KPA))
    for _ in range(5):
        t += PERIOD_S
        readings.append((t, 9.0))
    at, fault = feed_at(readings)
    assert fault is not None and at == 31  # the second reading back confirms it


def test_a_board_clock_that_starts_again_from_zero_trips_nothing():
    """A board that restarted counts its clock from 0 again: readings of the new timeline are
    not compared with those of the old one (whose levels v - r*t would look far lower)."""
    before = [(3600.0 + i * PERIOD_S, 5.0) for i in range(40)]
    after = [(0.5 + i * PERIOD_S, 5.0) for i in range(40)]
    assert feed_at(before + after) == (None, None)


# --- properties: gaps never trip by themselves; a fast rise in one stretch always does ---------

# Sensor noise and the bag's band, at most this far either way: two readings then differ by
# less than the margin from noise alone.
NOISE_KPA = 0.45
GAPS = ("readings stop", "sensor dead", "board restarted")
BOOT_S = 5.0


@st.composite
def bag_readings(draw, stretches: int = 10) -> list[tuple[float, float]]:
    """(board_s, kPa) of a bag that never fills faster than RATE, read every PERIOD_S with
    noise, in stretches: filling or venting at a steady rate, and gaps of every kind. Across
    a gap the bag may have changed by anything the rate allows in the time that passed; a
    board that restarts makes every output safe (the bag can only vent) and counts its clock
    from 0 again, its first reading after a boot of up to BOOT_S."""
    noise = draw(st.randoms(use_true_random=False))
    t = draw(st.floats(0.0, 10_000.0))
    kpa = draw(st.floats(0.0, 20.0))
    readings: list[tuple[float, float]] = []

    def read(board_s: float, true_kpa: float) -> None:
        readings.append((board_s, true_kpa + noise.uniform(-NOISE_KPA, NOISE_KPA)))

    for _ in range(draw(st.integers(1, stretches))):
        kind = draw(st.sampled_from(("steady", *GAPS)))
        count = draw(st.integers(1, 60))
        if kind == "steady":
            slope = draw(st.floats(-20.0, RATE))
            for _ in range(count):
                t += PERIOD_S
                kpa = min(max(kpa + slope * PERIOD_S, 0.0), 30.0)
                read(t, kpa)
            continue
        passed_s = draw(st.floats(PERIOD_S, 120.0))
        if kind == "sensor dead":
            for _ in range(count):
                t += PERIOD_S
                readings.append((t, DEAD_KPA))
            passed_s = count * PERIOD_S
        if kind == "board restarted":
            kpa = draw(st.floats(0.0, kpa))
            t = draw(st.floats(0.0, BOOT_S))
        else:
            kpa = draw(st.floats(0.0, min(kpa + RATE * passed_s, 30.0)))
            t += passed_s
        t += PERIOD_S
        read(t, kpa)
    return readings


@given(readings=bag_readings())
def test_a_bag_that_never_fills_too_fast_never_trips_whatever_its_gaps(readings):
    assert feed_at(readings) == (None, None)


@given(before=bag_readings(stretches=4), fast_kpa_per_s=st.floats(6.0, 60.0),
       noise=st.randoms(use_true_random=False))
def test_a_fill_too_fast_within_one_stretch_of_readings_always_trips(before, fast_kpa_per_s,
                                                                     noise):
    """After any history of gaps, a fill faster than the admitted rate that runs on from the
    last reading trips by the reading where its excess over the rate, less the noise either
    way, has passed the margin twice, which is within the window."""
    start_s, start_kpa = before[-1]
    if start_kpa < SENSOR.valid_min:  # a dead reading: the fill starts from the true value
        start_kpa = 0.0
        before = [*before, (start_s + PERIOD_S, start_kpa)]
        start_s += PERIOD_S
    excess_per_reading = (fast_kpa_per_s - RATE) * PERIOD_S
    readings_to_trip = math.floor((MARGIN + 2 * NOISE_KPA) / excess_per_reading) + 2
    assert readings_to_trip * PERIOD_S <= RISE_WINDOW_S
    fill = [(start_s + i * PERIOD_S, start_kpa + fast_kpa_per_s * i * PERIOD_S
             + noise.uniform(-NOISE_KPA, NOISE_KPA)) for i in range(1, readings_to_trip + 1)]
    at, fault = feed_at(before + fill)
    assert fault is not None and fault.cause is FaultCause.RISE_TOO_FAST
    assert at < len(before) + len(fill)


@pytest.mark.parametrize("edge", ["valid_min", "valid_max"])
def test_a_reading_at_the_edge_of_the_sensors_valid_range_is_a_reading(edge):
    """Only readings outside the valid range are passed over: a jump to or from its very
    edge is judged."""
    low, high = SENSOR.valid_min, SENSOR.valid_max
    if edge == "valid_min":
        readings = [(i * PERIOD_S, low) for i in range(10)] + [(0.5, 9.0), (0.55, 9.0)]
    else:
        readings = [(i * PERIOD_S, high - 10.0) for i in range(10)] + [(0.5, high), (0.55, high)]
    at, fault = feed_at(readings)
    assert at == 11 and fault.cause is FaultCause.RISE_TOO_FAST


def test_a_reading_repeated_at_the_same_board_time_keeps_the_comparison():
    """A report that arrives twice (the same board time) is no new timeline: a fill too fast
    whose every reading comes twice still trips."""
    readings = []
    for i in range(20):
        readings += [(i * PERIOD_S, 20.0 * i * PERIOD_S)] * 2
    at, fault = feed_at(readings)
    assert fault is not None and at * PERIOD_S / 2 < 0.5
