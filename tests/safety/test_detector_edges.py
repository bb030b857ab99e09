"""Every telemetry threshold at its edge: a reading just inside it never trips, one just past it
trips with its own cause (after the confirming reading where one is needed). Readings come at
the board's 20 Hz; the set point is held where the test says."""

from __future__ import annotations

import pytest

from massagectl.routines.user import UserProfile
from massagectl.safety import detectors as d
from massagectl.safety.channel_limits import plan_limits
from massagectl.safety.faults import FaultCause
from tests.safety.fakes import Holding
from tests.safety.plans import CHAIR

RATE_HZ = 20
JUST = 0.01  # past an edge by a hundredth of the unit: below any sensor's noise that matters
LIMITS = plan_limits(CHAIR, UserProfile())
CALVES = CHAIR.channel_index("airbag_calves")
HEAT = CHAIR.channel_index("heat_calves")
POSITION = CHAIR.channel_index("roller_position")


def set_point(value: float | None, limits=LIMITS) -> Holding:
    return Holding(value, limits)


def feed(watch, readings, context, start_s: float = 0.0):
    """(time, fault) of the first trip over `readings` at 20 Hz, or None."""
    for n, value in enumerate(readings):
        t = start_s + n / RATE_HZ
        fault = watch.update(value(t) if callable(value) else value, t, context)
        if fault is not None:
            return t, fault
    return None


def seconds(value, duration_s: float):
    return [value] * int(duration_s * RATE_HZ + 1)


def test_over_pressure_at_cap_plus_margin_and_only_on_the_second_reading():
    edge = LIMITS.channels[CALVES].cap.value + d.OVER_PRESSURE_MARGIN_KPA
    watch = lambda: d.PressureWatch(CHAIR.sensor("pressure_calves"), CALVES)  # noqa: E731
    assert feed(watch(), seconds(edge, 5), set_point(edge)) is None
    found = feed(watch(), seconds(edge + JUST, 5), set_point(edge))
    assert found[1].cause is FaultCause.OVER_PRESSURE
    assert found[0] == pytest.approx((d.CONFIRM_READINGS - 1) / RATE_HZ)


@pytest.mark.parametrize(("user", "edge_c"), [
    (UserProfile(), 42.0 + d.OVER_TEMPERATURE_MARGIN_C),
    # Heat forbidden on the calves' zone (an injury): the surface may still reach body warmth.
    (UserProfile(injury_zones={"calves"}), d.UNHEATED_MAX_C + d.OVER_TEMPERATURE_MARGIN_C),
])
def test_over_temperature_at_its_ceiling(user, edge_c):
    limits = plan_limits(CHAIR, user)
    watch = lambda: d.TemperatureWatch(CHAIR.sensor("temp_calves"), HEAT)  # noqa: E731
    assert feed(watch(), seconds(edge_c, 2), set_point(30.0, limits)) is None
    found = feed(watch(), seconds(edge_c + JUST, 2), set_point(30.0, limits))
    assert found[1].cause is FaultCause.OVER_TEMPERATURE
    assert found[0] == pytest.approx((d.CONFIRM_READINGS - 1) / RATE_HZ)


def test_stuck_valve_after_its_time_above_the_set_point_by_its_margin():
    target_kpa = 5.0
    watch = lambda: d.PressureWatch(CHAIR.sensor("pressure_calves"), CALVES)  # noqa: E731
    at_margin = target_kpa + d.STUCK_VALVE_MARGIN_KPA
    assert feed(watch(), seconds(at_margin, 10), set_point(target_kpa)) is None
    t, fault = feed(watch(), seconds(at_margin + JUST, 10), set_point(target_kpa))
    assert fault.cause is FaultCause.STUCK_VALVE
    assert d.STUCK_VALVE_AFTER_S < t <= d.STUCK_VALVE_AFTER_S + 1 / RATE_HZ


def test_pressure_held_above_the_occlusion_level_and_released_long_enough():
    hold = LIMITS.channels[CALVES].hold
    above = hold.occlusion_kpa + JUST
    watch = d.PressureWatch(CHAIR.sensor("pressure_calves"), CALVES)
    limit_s = hold.max_hold_s + d.PRESSURE_HELD_GRACE_S
    t, fault = feed(watch, seconds(above, limit_s + 1), set_point(above))
    assert fault.cause is FaultCause.PRESSURE_HELD
    assert limit_s < t <= limit_s + 1 / RATE_HZ
    # At the level itself nothing counts; a release just shorter than release_s continues the
    # stretch, one of release_s ends it.
    assert feed(d.PressureWatch(CHAIR.sensor("pressure_calves"), CALVES),
                seconds(hold.occlusion_kpa, limit_s + 1), set_point(above)) is None
    for release_s, trips in ((hold.release_s - 0.1, True), (hold.release_s, False)):
        watch = d.PressureWatch(CHAIR.sensor("pressure_calves"), CALVES)
        first = limit_s - 1
        readings = seconds(above, first) + seconds(0.0, release_s) + seconds(above, 2)
        assert (feed(watch, readings, set_point(above)) is not None) is trips, release_s


def test_heater_running_away_with_the_heat_off():
    watch = d.TemperatureWatch(CHAIR.sensor("temp_calves"), HEAT)
    off = set_point(None)
    settle_s = d.HEATER_OFF_SETTLE_S
    # Settled and flat, then rising at exactly the limit per window: no trip.
    assert feed(watch, seconds(30.0, settle_s), off) is None
    slope = d.HEATER_RUNAWAY_RISE_C / d.HEATER_RUNAWAY_WINDOW_S * 0.99
    assert feed(watch, [lambda t: 30.0 + slope * (t - 61)] * (40 * RATE_HZ), off, 61) is None
    watch = d.TemperatureWatch(CHAIR.sensor("temp_calves"), HEAT)
    feed(watch, seconds(30.0, settle_s), off)
    rise = d.HEATER_RUNAWAY_RISE_C + JUST
    t, fault = feed(watch, [lambda t: 30.0 + rise * (t - 61) / 10] * (20 * RATE_HZ), off, 61)
    assert fault.cause is FaultCause.HEATER_STUCK_ON
    assert t == pytest.approx(61 + 10 / (1 + JUST / d.HEATER_RUNAWAY_RISE_C), abs=0.1)


def test_motor_stall_after_its_time_without_travel():
    watch = lambda: d.DriveWatch(CHAIR.sensor("roller_position"), POSITION, 0, 740)  # noqa: E731
    driven = set_point(300.0)
    # Moving a little under the minimum travel per stall time: a stall, just after it.
    t, fault = feed(watch(), [lambda t: 100 + t * 0.9 * d.STALL_MIN_TRAVEL_MM
                              / d.MOTOR_STALL_S] * (5 * RATE_HZ), driven)
    assert fault.cause is FaultCause.MOTOR_STALL
    assert d.MOTOR_STALL_S < t <= d.MOTOR_STALL_S + 1 / RATE_HZ
    # Standing still within the tracking band of its set point is no stall.
    near = 300.0 - d.STALL_TRACKING_MM
    assert feed(watch(), seconds(near, 10), driven) is None


def test_end_stops_at_their_overrun():
    watch = lambda: d.DriveWatch(CHAIR.sensor("roller_position"), POSITION, 0, 740)  # noqa: E731
    for edge, past in ((740 + d.END_STOP_OVERRUN_MM, JUST), (-d.END_STOP_OVERRUN_MM, -JUST)):
        assert feed(watch(), seconds(edge, 1), set_point(edge)) is None
        assert feed(watch(), seconds(edge + past, 1), set_point(edge))[1].cause is \
            FaultCause.END_STOP


def test_a_frozen_pressure_reading_after_its_time():
    gap = d.FROZEN_PRESSURE_GAP_KPA
    watch = lambda: d.FrozenWatch(CHAIR.sensor("pressure_calves"), CALVES,  # noqa: E731
                                  d.FROZEN_PRESSURE_S, gap, when_off=True)
    assert feed(watch(), seconds(3.0, 10), set_point(3.0 + gap - JUST)) is None
    t, fault = feed(watch(), seconds(3.0, 10), set_point(3.0 + gap))
    assert fault.cause is FaultCause.SENSOR_STUCK
    assert t == pytest.approx(d.FROZEN_PRESSURE_S)


def test_an_empty_seat_after_its_time():
    watch = d.SeatWatch(CHAIR.sensor("seat"), None)
    readings = [*seconds(0.0, d.SEAT_VACATED_S - 1 / RATE_HZ), 1.0, *seconds(0.0, 2)]
    t, fault = feed(watch, readings, set_point(None))
    assert fault.cause is FaultCause.SEAT_VACATED
    # The first empty stretch, a reading short of the limit, did not count; the second did.
    empty_again_s = d.SEAT_VACATED_S + 1 / RATE_HZ
    due_s = empty_again_s + d.SEAT_VACATED_S
    assert due_s - 1e-6 <= t <= due_s + 1 / RATE_HZ + 1e-6


def test_a_reading_outside_the_valid_range():
    sensor = CHAIR.sensor("pressure_calves")
    for edge, past in ((sensor.valid_max, JUST), (sensor.valid_min, -JUST)):
        assert feed(d.RangeWatch(sensor, CALVES), seconds(edge, 1), set_point(None)) is None
        found = feed(d.RangeWatch(sensor, CALVES), seconds(edge + past, 1), set_point(None))
        assert found[1].cause is FaultCause.SENSOR_OUT_OF_RANGE
        assert found[0] == pytest.approx((d.CONFIRM_READINGS - 1) / RATE_HZ)


def test_spikes_that_never_come_twice_in_a_row_never_trip():
    # Every other reading over the cap (noise on a live sensor): a limit must be exceeded by
    # CONFIRM_READINGS readings in a row, and a reading inside it starts the count again.
    edge = LIMITS.channels[CALVES].cap.value + d.OVER_PRESSURE_MARGIN_KPA
    watch = d.PressureWatch(CHAIR.sensor("pressure_calves"), CALVES)
    spikes = [edge + 1.0 if n % 2 else edge for n in range(100)]
    assert feed(watch, spikes, set_point(edge)) is None
