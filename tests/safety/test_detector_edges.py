"""Every telemetry threshold at its edge: a reading just inside it never trips, one just past it
trips with its own cause (after the confirming reading where one is needed). Readings come at
the board's 20 Hz; the set point is held where the test says."""

from __future__ import annotations

import dataclasses

import pytest

from massagectl.routines.device import ChannelKind
from massagectl.routines.user import UserProfile
from massagectl.safety import detectors as d
from massagectl.safety.channel_limits import PressureHold, plan_limits
from massagectl.safety.faults import FaultCause
from massagectl.safety.limits import COLD_UNDERSHOOT_C
from tests.safety.fakes import Holding
from tests.safety.plans import CHAIR, HOT_CHAIR, HOT_USER, PAD

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


# --- what each fault says, and the edges no example above reaches ------------------------------

STEP_S = 1 / 16  # readings at times the float clock holds exactly, so an edge is met exactly


def feed_exactly(watch, readings, context, start_s: float = 0.0):
    """(time, fault) of the first trip over `readings` every STEP_S, or None."""
    for n, value in enumerate(readings):
        t = start_s + n * STEP_S
        fault = watch.update(value(t) if callable(value) else value, t, context)
        if fault is not None:
            return t, fault
    return None


class Channel(Holding):
    """One channel's set point over board time (a value, or a function of it); every other
    channel is in its safe state."""

    def __init__(self, value, index, limits=LIMITS) -> None:
        super().__init__(value, limits)
        self.index = index

    def commanded(self, index, board_s):
        if index != self.index:
            return None
        return self.value(board_s) if callable(self.value) else self.value


CHANNEL_OF = {"range": CALVES, "over": CALVES, "valve": CALVES, "stall": POSITION,
              "end": POSITION, "frozen": CALVES, "seat": None, "hot": HEAT}


def test_what_each_telemetry_fault_says():
    """The words and values each fault puts in the fault log and on the remote."""
    pressure = CHAIR.sensor("pressure_calves")
    said = {}
    for name, watch, readings, context in [
        ("range", d.RangeWatch(pressure, CALVES), seconds(40.5, 1), set_point(None)),
        ("over", d.PressureWatch(pressure, CALVES), seconds(18.0, 1), set_point(16.0)),
        ("valve", d.PressureWatch(pressure, CALVES), seconds(7.5, 5), set_point(5.0)),
        ("stall", d.DriveWatch(CHAIR.sensor("roller_position"), POSITION, 0, 740),
         seconds(150.0, 3), set_point(300.0)),
        ("end", d.DriveWatch(CHAIR.sensor("roller_position"), POSITION, 0, 740),
         seconds(744.0, 1), set_point(300.0)),
        ("frozen", d.FrozenWatch(pressure, CALVES, d.FROZEN_PRESSURE_S, 2.0, when_off=True),
         seconds(3.0, 3), set_point(6.0)),
        ("seat", d.SeatWatch(CHAIR.sensor("seat"), None), seconds(0.0, 2), set_point(None)),
        ("hot", d.TemperatureWatch(CHAIR.sensor("temp_calves"), HEAT), seconds(44.0, 1),
         set_point(30.0)),
    ]:
        t, fault = feed(watch, readings, Channel(context.value, CHANNEL_OF[name]),
                        start_s=100.0)  # a board clock long running
        said[name] = (round(t - 100.0, 2), fault.cause, fault.detail, fault.values)
    assert said == {
        "range": (0.05, FaultCause.SENSOR_OUT_OF_RANGE,
                  "pressure_calves: reads 40.5 kPa, outside its valid range -1..40",
                  {"pressure_calves": (40.5, "kPa")}),
        "over": (0.05, FaultCause.OVER_PRESSURE,
                 "pressure_calves: 18 kPa, above the cap 16 kPa + 1.5",
                 {"pressure_calves": (18.0, "kPa"), "limit": (17.5, "kPa")}),
        "valve": (3.05, FaultCause.STUCK_VALVE, "pressure_calves: 7.5 kPa for 3.0 s with the "
                  "set point at 5 kPa: the vent does not open",
                  {"pressure_calves": (7.5, "kPa"), "set_point": (5.0, "kPa")}),
        "stall": (2.05, FaultCause.MOTOR_STALL, "roller_position: driven toward 300 mm but "
                  "moved less than 2 mm in 2.0 s",
                  {"roller_position": (150.0, "mm"), "set_point": (300.0, "mm")}),
        "end": (0.05, FaultCause.END_STOP,
                "roller_position: at 744 mm, beyond the end stops 0..740 mm",
                {"roller_position": (744.0, "mm")}),
        "frozen": (2.0, FaultCause.SENSOR_STUCK,
                   "pressure_calves: stayed at 3 kPa for 2.0 s while driven toward 6",
                   {"pressure_calves": (3.0, "kPa"), "set_point": (6.0, "kPa")}),
        "seat": (1.0, FaultCause.SEAT_VACATED, "seat: seat empty for 1.0 s during a session",
                 {"seat": (0.0, "occupied")}),
        "hot": (0.05, FaultCause.OVER_TEMPERATURE,
                "temp_calves: 44 C at the contact surface, above 43 C",
                {"temp_calves": (44.0, "C"), "limit": (43.0, "C")}),
    }


def test_a_pressure_held_too_long_says_its_level_to_a_tenth():
    limits = LIMITS.channels[CALVES]
    held = dataclasses.replace(limits, hold=PressureHold(7.86, 30.0, 10.0))
    context = Holding(9.0, dataclasses.replace(LIMITS, channels=tuple(
        held if i == CALVES else c for i, c in enumerate(LIMITS.channels))))
    t, fault = feed_exactly(d.PressureWatch(CHAIR.sensor("pressure_calves"), CALVES),
                            [9.0] * 800, context)
    assert fault.cause is FaultCause.PRESSURE_HELD
    assert t == 30.0 + d.PRESSURE_HELD_GRACE_S + STEP_S  # more than the budget and its grace
    assert fault.detail == "pressure_calves: above 7.9 kPa for 35.1 s (at most 30 s)"
    assert fault.values == {"pressure_calves": (9.0, "kPa"), "held": (35.0625, "s")}


def test_a_release_of_exactly_its_time_ends_the_stretch():
    hold = LIMITS.channels[CALVES].hold
    above = hold.occlusion_kpa + 1.0
    # Below from 30 s for release_s less a reading (the stretch goes on), or for release_s.
    for below_readings, trips in ((round(hold.release_s / STEP_S), True),
                                  (round(hold.release_s / STEP_S) + 1, False)):
        readings = ([above] * round(30 / STEP_S) + [0.0] * below_readings
                    + [above] * round(8 / STEP_S))
        found = feed_exactly(d.PressureWatch(CHAIR.sensor("pressure_calves"), CALVES),
                             readings, set_point(above))
        assert (found is not None) is trips, below_readings


def test_stuck_valve_after_exactly_its_time():
    t, fault = feed_exactly(d.PressureWatch(CHAIR.sensor("pressure_calves"), CALVES),
                            [7.5] * 100, set_point(5.0))
    assert fault.cause is FaultCause.STUCK_VALVE
    assert t == d.STUCK_VALVE_AFTER_S + STEP_S  # more than its time above


class Falling(Holding):
    """A set point that drops from `before` to `value` at `at_s` (None: the safe state)."""

    def __init__(self, before, value, at_s: float) -> None:
        super().__init__(value, LIMITS)
        self.before, self.at_s = before, at_s

    def commanded(self, index, board_s):
        return self.before if board_s < self.at_s else self.value


@pytest.mark.parametrize("after", [5.0, None])
def test_a_vent_is_given_its_lag_after_the_set_point_drops(after):
    # 10 kPa until 1 s, then 5 (or the safe state, 0): the bag stays at 10 (a stuck vent).
    # Over the set point of VENT_LAG_S ago only from 2 s on; stuck STUCK_VALVE_AFTER_S later.
    t, fault = feed_exactly(d.PressureWatch(CHAIR.sensor("pressure_calves"), CALVES),
                            [10.0] * 200, Falling(10.0, after, 1.0))
    assert fault.cause is FaultCause.STUCK_VALVE
    assert t == 1.0 + d.VENT_LAG_S + d.STUCK_VALVE_AFTER_S + STEP_S


def test_a_frozen_pressure_is_judged_against_the_set_point_and_the_open_vent():
    watch = lambda: d.FrozenWatch(CHAIR.sensor("pressure_calves"), CALVES,  # noqa: E731
                                  d.FROZEN_PRESSURE_S, d.FROZEN_PRESSURE_GAP_KPA, when_off=True)
    # Frozen at 1 kPa, the set point 3: driven by the gap, so stuck.
    assert feed_exactly(watch(), [1.0] * 60, set_point(3.0))[1].cause is FaultCause.SENSOR_STUCK
    # With the channel safe (vent open, 0 kPa), a reading frozen at 3 is stuck too...
    assert feed_exactly(watch(), [3.0] * 60, set_point(None))[0] == d.FROZEN_PRESSURE_S
    # ... and a moving one never is.
    assert feed_exactly(watch(), [3.0 + 0.1 * (n % 2) for n in range(100)],
                        set_point(None)) is None
    # A temperature is judged only while heat is set: off, a surface may sit still for long.
    temp = d.FrozenWatch(CHAIR.sensor("temp_calves"), HEAT, d.FROZEN_TEMPERATURE_S,
                         d.FROZEN_TEMPERATURE_GAP_C, when_off=False)
    assert feed(temp, seconds(25.0, 90), set_point(None)) is None


@pytest.mark.parametrize("seat, session, trips", [(0.5, True, False), (0.49, True, True),
                                                  (0.0, False, False)])
def test_an_empty_seat_from_below_half_and_only_during_a_session(seat, session, trips):
    context = set_point(None)
    context.session_active = session
    found = feed_exactly(d.SeatWatch(CHAIR.sensor("seat"), None), [seat] * 40, context)
    assert (found is not None) is trips
    if trips:
        assert found[0] == d.SEAT_VACATED_S


def test_motor_stall_after_exactly_its_time_and_travel():
    watch = lambda: d.DriveWatch(CHAIR.sensor("roller_position"), POSITION, 0, 740)  # noqa: E731
    driven = set_point(300.0)
    t, _ = feed_exactly(watch(), [100.0] * 80, driven)
    assert t == d.MOTOR_STALL_S + STEP_S  # more than its time without travel
    # Moving exactly the minimum travel each stall time counts as moving.
    steps_per_stall = round(d.MOTOR_STALL_S / STEP_S)
    assert feed_exactly(watch(), [100.0 + d.STALL_MIN_TRAVEL_MM * (n // steps_per_stall)
                                  for n in range(200)], driven) is None


def test_the_cold_floor_at_its_edge_and_what_it_says():
    limits = plan_limits(PAD, UserProfile())
    cool = PAD.channel_index("cool_lower_back")
    lowest = limits.channels[cool].floor.value - COLD_UNDERSHOOT_C - d.UNDER_TEMPERATURE_MARGIN_C
    watch = lambda: d.ColdWatch(PAD.sensor("temp_lower_back"), cool)  # noqa: E731
    assert feed(watch(), seconds(lowest, 2), Holding(None, limits)) is None
    t, fault = feed(watch(), seconds(lowest - JUST, 2), Holding(None, limits))
    assert t == pytest.approx((d.CONFIRM_READINGS - 1) / RATE_HZ)
    assert fault.cause is FaultCause.UNDER_TEMPERATURE
    assert fault.detail == ("temp_lower_back: 13.49 C at the contact surface, below 13.5 C (the "
                            "cold floor 15 C less the thermostat's undershoot): too cold for "
                            "the skin")
    assert fault.values == {"temp_lower_back": (13.49, "C"), "limit": (13.5, "C")}


class PadContext(Holding):
    """The pad's lower back: heat and cool set points by channel (None: off)."""

    def __init__(self, heat=None, cool=None) -> None:
        super().__init__(None, plan_limits(PAD, UserProfile()))
        self.set_points = {PAD.channel_index("heat_lower_back"): heat,
                           PAD.channel_index("cool_lower_back"): cool}

    def commanded(self, index, board_s):
        value = self.set_points[index]
        return value(board_s) if callable(value) else value


def test_a_surface_rewarming_after_cold_is_no_heater_for_its_time():
    heat, cool = PAD.channel_index("heat_lower_back"), PAD.channel_index("cool_lower_back")
    rise_c_per_s = 1 / 32  # as a welded relay heats; a surface cooled before rewarms like it
    settle_s, window_rise_s = d.HEATER_OFF_SETTLE_S, d.HEATER_RUNAWAY_RISE_C / rise_c_per_s
    for cooled, trips_at_s in ((True, d.REWARM_AFTER_COLD_S + settle_s + window_rise_s),
                               (False, settle_s + window_rise_s)):
        watch = d.TemperatureWatch(PAD.sensor("temp_lower_back"), heat, cool)
        # Cooling set (below the cooler's off value) at the first reading only.
        context = PadContext(cool=lambda t, cooled=cooled: 20.0 if cooled and t == 100 else None)
        t, fault = feed_exactly(watch, [lambda t: 10.0 + rise_c_per_s * (t - 100.0)] * 20_000,
                                context, start_s=100.0)  # a board clock long running
        assert fault.cause is FaultCause.HEATER_STUCK_ON
        assert t == 100.0 + trips_at_s, cooled
    assert fault.detail == "temp_lower_back: rose 1.0 C in 32 s with the heat off"
    assert fault.values == {"temp_lower_back": (12.875, "C"), "rise": (1.0, "C")}


def test_what_a_thermal_dose_trip_says():
    limits = plan_limits(CHAIR, HOT_USER, HOT_CHAIR)
    watch = d.TemperatureWatch(CHAIR.sensor("temp_calves"), HEAT)
    fault = next(f for t in range(3600) if (f := watch.update(44.9, t, Holding(44.0, limits))))
    assert fault.cause is FaultCause.THERMAL_DOSE
    assert fault.detail == "temp_calves: thermal dose 10.0% of a burn reached the 10% budget"
    assert fault.values == {"temp_calves": (44.9, "C"),
                            "dose": (pytest.approx(0.1, abs=1e-3), "burn fraction")}


def test_the_heat_on_time_counts_readings_while_on_and_no_silent_gap():
    heat = CHAIR.channel_index("heat_calves")
    watch = d.ElementWatch(CHAIR.sensor("temp_calves"), heat, ChannelKind.HEAT)
    context = Falling(40.0, 0.0, 10.0)  # on for 10 s, then off
    for n in range(20 * 16):
        watch.update(30.0, n * STEP_S, context)
    assert watch.on_s == 10.0 - STEP_S  # each step that ends at a reading taken while on
    # Readings a second apart still count; further apart (the board fell silent) they do not.
    watch = d.ElementWatch(CHAIR.sensor("temp_calves"), heat, ChannelKind.HEAT)
    for t in (0.0, d.ON_TIME_GAP_S, 2 * d.ON_TIME_GAP_S, 2 * d.ON_TIME_GAP_S + 1.5):
        watch.update(30.0, t, set_point(40.0))
    assert watch.on_s == 2 * d.ON_TIME_GAP_S
    # At its safe default the channel is off.
    watch = d.ElementWatch(CHAIR.sensor("temp_calves"), heat, ChannelKind.HEAT)
    for n in range(20):
        watch.update(30.0, n * STEP_S, set_point(0.0))
    assert watch.on_s == 0.0


def test_the_cooling_on_time_counts_set_points_below_its_off_value():
    cool = PAD.channel_index("cool_lower_back")
    off_c = PAD.channel("cool_lower_back").safe_default
    for set_point_c, on_s in ((off_c - 1.0, 1.0), (off_c, 0.0)):
        watch = d.ElementWatch(PAD.sensor("temp_lower_back"), cool, ChannelKind.COOL)
        for n in range(17):
            watch.update(30.0, n * STEP_S, PadContext(cool=set_point_c))
        assert watch.on_s == on_s, set_point_c


def test_the_pads_thermoelectric_zone_is_watched_for_cold_and_both_elements():
    watchers = dict(zip([s.id for s in PAD.sensors], d.watchers_for(PAD), strict=True))
    kinds = [type(w).__name__ for w in watchers["temp_lower_back"]]
    assert kinds.count("ElementWatch") == 2 and "ColdWatch" in kinds
    # Fed through them, a surface below the cold floor stops the session.
    context = PadContext(cool=20.0)
    faults = [w.update(5.0, t / RATE_HZ, context) for t in range(3)
              for w in watchers["temp_lower_back"]]
    assert FaultCause.UNDER_TEMPERATURE in {f.cause for f in faults if f is not None}


def test_a_reading_back_at_the_edge_of_its_valid_range_is_inside_it():
    sensor = CHAIR.sensor("pressure_calves")
    for edge, past in ((sensor.valid_max, JUST), (sensor.valid_min, -JUST)):
        alternating = [edge + past if n % 2 else edge for n in range(40)]
        assert feed(d.RangeWatch(sensor, CALVES), alternating, set_point(None)) is None


def test_a_bag_following_a_rising_set_point_is_no_stuck_valve():
    # The set point climbs 2 kPa/s; the bag reads half a kPa above it (noise, the band).
    context = Channel(lambda t: 2.0 * t, CALVES)
    assert feed(d.PressureWatch(CHAIR.sensor("pressure_calves"), CALVES),
                [lambda t: 2.0 * t + 0.5] * (5 * RATE_HZ), context, start_s=1.0) is None


def test_a_stall_is_judged_on_the_drives_own_set_point():
    context = Channel(lambda t: 300.0, POSITION)
    _, fault = feed(d.DriveWatch(CHAIR.sensor("roller_position"), POSITION, 0, 740),
                    seconds(100.0, 5), context, start_s=100.0)
    assert fault.cause is FaultCause.MOTOR_STALL
    # Another channel's set point is nothing this drive is driven toward.
    other = Channel(lambda t: 300.0, CALVES)
    assert feed(d.DriveWatch(CHAIR.sensor("roller_position"), POSITION, 0, 740),
                seconds(100.0, 5), other) is None


def test_a_frozen_reading_is_judged_on_its_own_channel_over_time():
    watch = d.FrozenWatch(CHAIR.sensor("pressure_calves"), CALVES, d.FROZEN_PRESSURE_S,
                          d.FROZEN_PRESSURE_GAP_KPA, when_off=False)
    t, fault = feed_exactly(watch, [1.0] * 100, Channel(lambda t: 6.0, CALVES), start_s=100.0)
    assert t == 100.0 + d.FROZEN_PRESSURE_S
    assert fault.detail == "pressure_calves: stayed at 1 kPa for 2.0 s while driven toward 6"


@pytest.mark.parametrize("heat_c", [None, 0.0])
def test_a_heater_at_its_off_value_counts_as_off(heat_c):
    # A welded relay with the heat set to its off value (or not set at all).
    context = Channel(lambda t: heat_c, HEAT)
    t, fault = feed_exactly(d.TemperatureWatch(CHAIR.sensor("temp_calves"), HEAT),
                            [lambda t: 30.0 + (t - 100.0) / 32] * 3000, context, start_s=100.0)
    assert fault.cause is FaultCause.HEATER_STUCK_ON
    assert t == 100.0 + d.HEATER_OFF_SETTLE_S + 32.0


def test_a_rise_over_exactly_the_runaway_window_counts():
    # Heat off from 0; flat at 29 C until 100 s, then rising by HEATER_RUNAWAY_RISE_C over
    # exactly HEATER_RUNAWAY_WINDOW_S: the reading that window ago still counts.
    window_s = d.HEATER_RUNAWAY_WINDOW_S
    rise_c = d.HEATER_RUNAWAY_RISE_C
    readings = [lambda t: 29.0 if t <= 100.0 else 29.0 + rise_c * (t - 100.0) / window_s]
    t, fault = feed_exactly(d.TemperatureWatch(CHAIR.sensor("temp_calves"), HEAT),
                            readings * 4000, Channel(None, HEAT))
    assert fault.cause is FaultCause.HEATER_STUCK_ON
    assert t == 100.0 + window_s


def test_a_cooler_at_its_off_value_is_not_cooling():
    heat, cool = PAD.channel_index("heat_lower_back"), PAD.channel_index("cool_lower_back")
    off_c = PAD.channel("cool_lower_back").safe_default
    watch = d.TemperatureWatch(PAD.sensor("temp_lower_back"), heat, cool)
    t, fault = feed_exactly(watch, [lambda t: 10.0 + t / 32] * 5000, PadContext(cool=off_c))
    assert fault.cause is FaultCause.HEATER_STUCK_ON
    assert t == d.HEATER_OFF_SETTLE_S + 32.0


def test_a_heater_warming_its_surface_toward_its_set_point_is_no_welded_relay():
    watch = d.ElementWatch(CHAIR.sensor("temp_calves"), HEAT, ChannelKind.HEAT)
    assert feed(watch, [lambda t: 38.0 + 0.02 * t] * (150 * RATE_HZ), Channel(42.0, HEAT)) \
        is None


def test_a_cooler_that_keeps_cooling_with_the_cooling_off_is_found_and_named():
    cool = PAD.channel_index("cool_lower_back")
    watch = d.ElementWatch(PAD.sensor("temp_lower_back"), cool, ChannelKind.COOL)
    # Off (its set point at the off value); the surface below 16 C falls ever faster.
    off_c = PAD.channel("cool_lower_back").safe_default
    found = feed(watch, [lambda t: 15.0 - 0.0005 * t * t] * (120 * RATE_HZ),
                 PadContext(cool=off_c))
    assert found is not None
    assert found[1].cause is FaultCause.COOLER_STUCK_ON
    assert found[1].detail.startswith("temp_lower_back: cooling cannot be switched off")


def test_every_watcher_of_a_sensor_judges_its_channel():
    """The supervisor finds the carriage's position sensor, and each fault's channel, by it."""
    for device in (CHAIR, PAD):
        for sensor, watchers in zip(device.sensors, d.watchers_for(device), strict=True):
            index = None if sensor.channel is None else device.channel_index(sensor.channel)
            for watch in watchers:
                if not isinstance(watch, (d.ElementWatch, d.ColdWatch)):
                    assert watch.channel_index == index, (sensor.id, watch)
                assert watch.sensor is sensor


def watch_sensor(device, sensor_id, readings, context, duration_s, start_s: float = 0.0):
    """Feed every watcher `watchers_for(device)` gives `sensor_id` at 20 Hz: (time, fault) of
    the first trip, or None."""
    sensor_index = [s.id for s in device.sensors].index(sensor_id)
    watchers = d.watchers_for(device)[sensor_index]
    for n in range(round(duration_s * RATE_HZ) + 1):
        t = start_s + n / RATE_HZ
        value = readings(t) if callable(readings) else readings
        for watch in watchers:
            fault = watch.update(value, t, context)
            if fault is not None:
                return t, fault
    return None


def test_a_pressure_frozen_with_its_vent_open_or_far_above_its_set_point_is_stuck():
    # The calves off (vent open, 0 kPa), the reading stays at 3: frozen, before the valve's
    # time is up.
    t, fault = watch_sensor(CHAIR, "pressure_calves", 3.0, Channel(None, CALVES), 10)
    assert (fault.cause, t) == (FaultCause.SENSOR_STUCK, d.FROZEN_PRESSURE_S)
    t, fault = watch_sensor(CHAIR, "pressure_calves", 8.0, Channel(5.0, CALVES), 10)
    assert (fault.cause, t) == (FaultCause.SENSOR_STUCK, d.FROZEN_PRESSURE_S)


def test_a_temperature_frozen_while_heating_is_stuck_and_a_still_one_with_the_heat_off_is_not():
    found = watch_sensor(CHAIR, "temp_calves", 30.0, Channel(40.0, HEAT), 70)
    assert found[1].cause is FaultCause.SENSOR_STUCK
    assert found[0] == pytest.approx(d.FROZEN_TEMPERATURE_S)
    assert watch_sensor(CHAIR, "temp_calves", 25.0, Channel(None, HEAT), 130) is None


def test_only_pressure_and_temperature_sensors_get_their_watchers():
    # A board that also reports its calf pump's and calf heater's currents: steady currents
    # while the pump fills and the heater heats are no frozen pressure or temperature.
    pump = CHAIR.sensor("knead_current").model_copy(update={"id": "pump_current",
                                                            "channel": "airbag_calves"})
    heater = CHAIR.sensor("knead_current").model_copy(update={"id": "heater_current",
                                                              "channel": "heat_calves"})
    device = CHAIR.model_copy(update={"sensors": [*CHAIR.sensors, pump, heater]})
    assert watch_sensor(device, "pump_current", 1.0, Channel(10.0, CALVES), 10) is None
    assert watch_sensor(device, "heater_current", 2.0, Channel(40.0, HEAT), 70) is None


def test_the_pads_surface_rewarming_after_cold_is_no_heater_through_its_watchers():
    # Cooled at the first reading only, then rising 1 C in 48 s, as a welded relay heats.
    context = PadContext(cool=lambda t: 20.0 if t == 0 else None)
    found = watch_sensor(PAD, "temp_lower_back", lambda t: 14.0 + t / 48, context, 1100)
    assert found is not None and found[1].cause is FaultCause.HEATER_STUCK_ON
    assert found[0] == pytest.approx(d.REWARM_AFTER_COLD_S + d.HEATER_OFF_SETTLE_S + 48.0)


def test_a_zones_temperature_watches_its_heat_and_cool_channels_and_only_those():
    for device in (CHAIR, PAD):
        for sensor, watchers in zip(device.sensors, d.watchers_for(device), strict=True):
            zone = None if sensor.channel is None else device.channel(sensor.channel).zone
            expected = sorted(
                i for i, c in enumerate(device.channels)
                if sensor.kind == "temperature" and zone is not None and c.zone is zone
                and c.kind in (ChannelKind.HEAT, ChannelKind.COOL))
            elements = [w for w in watchers if isinstance(w, d.ElementWatch)]
            assert sorted(w.channel_index for w in elements) == expected, sensor.id
            # A cooler's on-time counts while it is set below its off value, a heater's above.
            assert all(w.kind is device.channels[w.channel_index].kind for w in elements)


def test_a_motor_speed_is_watched_against_its_command_and_its_current_is_not():
    knead = CHAIR.channel_index("knead_speed")
    # The speed sensor stuck at 0 while the knead runs at 30: it does not follow.
    found = watch_sensor(CHAIR, "knead_speed", 0.0, Channel(30.0, knead), 5)
    assert found is not None and found[1].cause is FaultCause.SENSOR_IMPLAUSIBLE
    # The knead motor's current, steady at half an ampere, is no speed that fails to follow.
    assert watch_sensor(CHAIR, "knead_current", 0.5, Channel(30.0, knead), 5) is None


def test_a_heater_warming_its_surface_is_no_runaway():
    # Heat set at 40 C; the surface warms from 30 C at 1.25 C a minute for three minutes.
    watch = d.TemperatureWatch(CHAIR.sensor("temp_calves"), HEAT)
    assert feed(watch, [lambda t: 30.0 + t / 48] * (180 * RATE_HZ), Channel(40.0, HEAT)) is None


def test_a_runaway_says_how_long_the_rise_took():
    # Heat off and settled; the cover at 29 C at 60 s, 29.5 C until 100 s, then 30 C.
    def cover_c(t):
        return 29.0 if t <= d.HEATER_OFF_SETTLE_S else 29.5 if t < 100.0 else 30.0

    t, fault = feed_exactly(d.TemperatureWatch(CHAIR.sensor("temp_calves"), HEAT),
                            [cover_c] * 2000, Channel(None, HEAT))
    assert t == 100.0
    assert fault.detail == "temp_calves: rose 1.0 C in 40 s with the heat off"
