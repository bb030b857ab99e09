"""Each plausibility rule at its edge, fed synthetic readings directly: a reading just inside a
rule never trips, one just past it trips with its own cause, at its own time, and says so in
words. Readings come every 1/16 s here, a time the float clock holds exactly, so that a window
or a confirm time is met exactly at its edge (the board's 20 Hz is tested in
test_plausibility.py)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from massagectl.routines.device import Zone
from massagectl.routines.user import UserProfile
from massagectl.safety.channel_limits import plan_limits
from massagectl.safety.faults import FaultCause
from massagectl.safety.plausibility import (
    EMPTY_FILL_OF_PUMP_RATE,
    EMPTY_LOAD_MAX_A,
    FILL_BELOW_KPA,
    FILL_PUMPING_BELOW_KPA,
    FILL_WINDOW_S,
    FOLLOW_CONFIRM_S,
    FOLLOW_TOLERANCE_OF_SPAN,
    FOLLOW_WINDOW_S,
    FROZEN_BELOW_SET_POINT_READINGS,
    FROZEN_PUMPING_READINGS,
    PRESSING_DEPTH_MM,
    PUMP_LAG_S,
    PUMP_RUNS_BELOW_KPA,
    PUMP_STEP_KPA,
    RETRACTED_DEPTH_MM,
    RETRACTED_LOAD_MAX_A,
    SEAT_EVIDENCE_S,
    SHALLOW_PRESSING_DEPTH_MM,
    STILL_DEPTH_MM,
    STILL_LOAD_MAX_A,
    STILL_WINDOW_S,
    FollowWatch,
    PumpWatch,
    SeatCheck,
)
from tests.safety.fakes import Holding
from tests.safety.plans import CHAIR

STEP_S = 1 / 16
# The heads count as still once watched for STILL_WINDOW_S less a tenth: from this reading on.
STILL_FROM_S = math.ceil((STILL_WINDOW_S - 0.1) / STEP_S) * STEP_S
LIMITS = plan_limits(CHAIR, UserProfile())
CALVES = CHAIR.channel_index("airbag_calves")
KNEAD = CHAIR.channel_index("knead_speed")
KNEAD_SENSOR = CHAIR.sensor("knead_speed")


class Board:
    """What the checks ask the supervisor: each channel's set point over board time (None: the
    channel is in its safe state), whether the board says every output is safe, whether a
    session runs."""

    def __init__(self, set_points=None, outputs_safe: bool = False, session_active: bool = True,
                 limits=LIMITS) -> None:
        self.set_points = set_points or {}
        self.outputs_safe = outputs_safe
        self.session_active = session_active
        self.limits = limits

    def commanded(self, index, board_s):
        set_point = self.set_points.get(index)
        return set_point(board_s) if callable(set_point) else set_point

    def limits_for(self, index):
        return self.limits.channels[index]


def first_trip(watch, readings, context, start_s: float = 0.0, rate_hz: int = 16):
    """(reading number, board time, fault) of the first trip over `readings`, or None."""
    for n, value in enumerate(readings):
        t = start_s + n / rate_hz
        fault = watch.update(value(t) if callable(value) else value, t, context)
        if fault is not None:
            return n, t, fault
    return None


# --- a pressure reading frozen while the pump fills (PumpWatch) ------------------------------


def pump_watch() -> PumpWatch:
    return PumpWatch(CHAIR.sensor("pressure_calves"), CALVES)


def test_a_pressure_frozen_where_the_pump_surely_runs_trips_on_its_fifth_identical_reading():
    at_edge = 5.0 - PUMP_RUNS_BELOW_KPA  # surely pumping, just
    assert first_trip(pump_watch(), [at_edge] * (FROZEN_PUMPING_READINGS - 1),
                      Holding(5.0, LIMITS)) is None
    n, _, fault = first_trip(pump_watch(), [at_edge] * 40, Holding(5.0, LIMITS))
    assert n + 1 == FROZEN_PUMPING_READINGS
    assert fault.cause is FaultCause.SENSOR_STUCK
    assert fault.detail == ("pressure_calves: stayed at 4 kPa for 5 readings while the pump "
                            "fills toward 5.0 kPa: the sensor froze and the board's controller "
                            "cannot see the bag")
    assert fault.values == {"pressure_calves": (4.0, "kPa"), "set_point": (5.0, "kPa")}


def test_a_pressure_frozen_just_below_the_set_point_trips_after_a_second_of_readings():
    just_below = 5.0 - PUMP_RUNS_BELOW_KPA + 0.01  # the pump may run, or may not
    assert first_trip(pump_watch(), [just_below] * (FROZEN_BELOW_SET_POINT_READINGS - 1),
                      Holding(5.0, LIMITS)) is None
    n, _, fault = first_trip(pump_watch(), [just_below] * 40, Holding(5.0, LIMITS))
    assert n + 1 == FROZEN_BELOW_SET_POINT_READINGS
    assert fault.cause is FaultCause.SENSOR_STUCK
    # Less than a sensor step below the set point the pump has nothing to do: never judged.
    assert first_trip(pump_watch(), [5.0 - PUMP_STEP_KPA] * 100, Holding(5.0, LIMITS)) is None
    assert first_trip(pump_watch(), [5.0 - PUMP_STEP_KPA - 0.01] * 100,
                      Holding(5.0, LIMITS)) is not None


def test_a_live_pressure_reading_never_looks_frozen():
    rising = [1.0 + 0.13 * n for n in range(60)]
    assert first_trip(pump_watch(), rising, Holding(20.0, LIMITS)) is None
    # Two readings alike in a row, then a step: the count starts again each time.
    pairs = [1.0 + 0.1 * (n // 2) for n in range(60)]
    assert first_trip(pump_watch(), pairs, Holding(20.0, LIMITS)) is None


def test_a_frozen_pressure_above_a_lowered_set_point_is_not_judged():
    # Frozen at 4.5 while the set point is 5 (the pump may run), then the set point drops to 3:
    # the pump stops, and a reading that does not move is no evidence any more.
    context = Board({CALVES: lambda t: 5.0 if t < 10 * STEP_S else 3.0})
    assert first_trip(pump_watch(), [4.5] * 60, context) is None


@pytest.mark.parametrize("before", [None, 0.0])
def test_a_raised_set_point_counts_toward_surely_pumping_only_after_the_pumps_lag(before):
    # The set point jumps from off (or 0) to 10 kPa at 1 s; the reading is frozen at 2 kPa.
    context = Board({CALVES: lambda t: before if t < 1.0 else 10.0})
    _, at_s, fault = first_trip(pump_watch(), [2.0] * 80, context)
    assert fault.cause is FaultCause.SENSOR_STUCK
    assert at_s == 1.0 + PUMP_LAG_S + (FROZEN_PUMPING_READINGS - 1) * STEP_S


def test_a_lowered_set_point_counts_at_once():
    # From 10 kPa to 5 at 1 s, the reading frozen at 4.5 from then on: within a kPa of the new
    # set point the pump may be off, so it takes FROZEN_BELOW_SET_POINT_READINGS.
    context = Board({CALVES: lambda t: 10.0 if t < 1.0 else 5.0})
    n, _, _ = first_trip(pump_watch(), [4.5] * 80, context, start_s=1.0)
    assert n + 1 == FROZEN_BELOW_SET_POINT_READINGS


def test_no_pressure_is_judged_frozen_while_the_board_says_every_output_is_safe():
    context = Board({CALVES: 10.0}, outputs_safe=True)
    assert first_trip(pump_watch(), [2.0] * 100, context) is None


@given(set_point=st.floats(0.5, 25.0), below=st.floats(-2.0, 12.0),
       frozen=st.integers(1, 40))
def test_a_frozen_pressure_trips_exactly_when_the_pump_rules_say(set_point, below, frozen):
    """Oracle: below the set point by a sensor step the pump may run; by a kPa it surely
    does; identical readings then trip on the FROZEN_PUMPING_READINGS-th (surely) or the
    FROZEN_BELOW_SET_POINT_READINGS-th (may); never above."""
    value = set_point - below
    if below <= PUMP_STEP_KPA:
        needed = None
    elif below >= PUMP_RUNS_BELOW_KPA:
        needed = FROZEN_PUMPING_READINGS
    else:
        needed = FROZEN_BELOW_SET_POINT_READINGS
    found = first_trip(pump_watch(), [value] * frozen + [value + 0.5] * 3,
                       Holding(set_point, LIMITS))
    if needed is None or frozen < needed:
        assert found is None
    else:
        assert found is not None and found[0] + 1 == needed


# --- a motor speed that does not follow its command (FollowWatch) ----------------------------


@pytest.mark.parametrize("sensor", [KNEAD_SENSOR, KNEAD_SENSOR.model_copy(
    update={"valid_min": -20.0})], ids=["0..80", "-20..80"])
def test_a_speed_reading_at_its_tolerance_and_just_past_it(sensor):
    tolerance = FOLLOW_TOLERANCE_OF_SPAN * (sensor.valid_max - sensor.valid_min)
    for offset, trips in ((tolerance, False), (-tolerance, False),
                          (tolerance + 0.01, True), (-tolerance - 0.01, True)):
        found = first_trip(FollowWatch(sensor, KNEAD), [30.0 + offset] * 100,
                           Holding(30.0, LIMITS))
        assert (found is not None) is trips, offset
        if trips:
            assert found[2].cause is FaultCause.SENSOR_IMPLAUSIBLE


def test_a_speed_reading_off_from_the_start_trips_once_judged_and_confirmed():
    """Judged once the window holds FOLLOW_WINDOW_S less a reading period of commands, then
    outside for FOLLOW_CONFIRM_S: at 20 Hz from the first reading, 1.9 s + 1 s."""
    found = first_trip(FollowWatch(KNEAD_SENSOR, KNEAD), [40.0] * 100,
                       Holding(30.0, LIMITS), rate_hz=20)
    n, _, fault = found
    assert n == 58  # 2.9 s
    # The same on a board whose clock has long been running.
    _, at_s, _ = first_trip(FollowWatch(KNEAD_SENSOR, KNEAD), [40.0] * 100,
                            Holding(30.0, LIMITS), start_s=100.0)
    assert at_s == 100.0 + 31 * STEP_S + FOLLOW_CONFIRM_S  # judged from 1.9375 s
    assert fault.detail == ("knead_speed: reads 40 cycles/min for 1.0 s while commanded "
                            "30.0..30.0 cycles/min: the sensor is stuck or the motor does not "
                            "do what it is told")
    assert fault.values == {"knead_speed": (40.0, "cycles/min"),
                            "set_point": (30.0, "cycles/min")}


@pytest.mark.parametrize("old, new", [(30.0, 0.0), (0.0, 30.0)],
                         ids=["keeps running", "does not start"])
def test_a_command_exactly_the_window_old_still_counts(old, new):
    # The command changes at 1 s; the motor stays at the old speed. The last old command
    # (15/16 s) leaves the window only once it is more than FOLLOW_WINDOW_S old, at 3 s;
    # outside from then, the trip comes FOLLOW_CONFIRM_S later.
    context = Board({KNEAD: lambda t: old if t < 1.0 else new})
    _, at_s, fault = first_trip(FollowWatch(KNEAD_SENSOR, KNEAD), [old] * 200, context)
    assert fault.cause is FaultCause.SENSOR_IMPLAUSIBLE
    assert at_s == 1.0 + FOLLOW_WINDOW_S + FOLLOW_CONFIRM_S


def test_with_no_set_point_a_motor_must_stand_at_its_safe_default():
    tolerance = FOLLOW_TOLERANCE_OF_SPAN * (KNEAD_SENSOR.valid_max - KNEAD_SENSOR.valid_min)
    idle = Board({})
    assert first_trip(FollowWatch(KNEAD_SENSOR, KNEAD), [tolerance] * 100, idle) is None
    assert first_trip(FollowWatch(KNEAD_SENSOR, KNEAD), [tolerance + 0.01] * 100,
                      idle) is not None
    # A motor whose off value is not 0 (a channel from 10 up): it stands at 10.
    off_at_10 = SimpleNamespace(channels={KNEAD: SimpleNamespace(
        channel=SimpleNamespace(safe_default=10.0))})
    assert first_trip(FollowWatch(KNEAD_SENSOR, KNEAD), [10.0] * 100,
                      Board({}, limits=off_at_10)) is None


def test_a_motor_running_while_the_board_says_every_output_is_safe_trips():
    # The set point still says 30, but the board has stopped: the motor must stand.
    context = Board({KNEAD: 30.0}, outputs_safe=True)
    assert first_trip(FollowWatch(KNEAD_SENSOR, KNEAD), [30.0] * 100, context) is not None
    assert first_trip(FollowWatch(KNEAD_SENSOR, KNEAD), [0.0] * 100, context) is None


def test_a_restarted_board_clock_starts_the_window_again():
    watch = FollowWatch(KNEAD_SENSOR, KNEAD)
    assert first_trip(watch, [30.0] * 60, Holding(30.0, LIMITS)) is None
    # The board restarts (its clock from 0) and now runs 0; the motor still reads 30. The old
    # commands are forgotten: judged again once a new window is full, then confirmed.
    _, at_s, _ = first_trip(watch, [30.0] * 100, Holding(0.0, LIMITS), rate_hz=20)
    assert at_s == FOLLOW_WINDOW_S - 0.1 + FOLLOW_CONFIRM_S


def test_a_report_repeated_at_the_same_board_time_does_not_restart_the_window():
    watch = FollowWatch(KNEAD_SENSOR, KNEAD)
    readings = []
    for n in range(100):  # every reading twice, at the same board time
        readings += [(n * STEP_S, 40.0)] * 2
    found = None
    for t, value in readings:
        found = watch.update(value, t, Holding(30.0, LIMITS))
        if found is not None:
            assert t == 31 * STEP_S + FOLLOW_CONFIRM_S  # judged from 1.9375 s, as without repeats
            break
    assert found is not None


# --- the seat switch against the rollers and the airbags (SeatCheck) -------------------------

SENSOR = {sensor.id: index for index, sensor in enumerate(CHAIR.sensors)}
BANDS = {Zone.LOWER_BACK: (100.0, 200.0), Zone.MID_BACK: (200.0, 300.0),
         Zone.SHOULDERS: (300.0, 400.0)}
AT_REST = {"seat": 1.0, "roller_position": 250.0, "roller_depth": 0.0, "roller_load": 0.2,
           "pressure_shoulders": 0.0, "pressure_arms": 0.0, "pressure_seat": 0.0,
           "pressure_calves": 0.0, "pressure_feet": 0.0}


def watch_seat(readings, duration_s: float = 4.0, context=None, bands=BANDS, device=CHAIR,
               start_s: float = 0.0, rate_hz: int = 16):
    """Feed SeatCheck `readings` (a dict by sensor id, or a function of the time since
    `start_s` giving one) `rate_hz` times a second for `duration_s`: (time since `start_s`,
    fault) of its first fault, or None."""
    check = SeatCheck(device)
    context = context or Board()
    index = {sensor.id: i for i, sensor in enumerate(device.sensors)}
    for n in range(round(duration_s * rate_hz) + 1):
        t = n / rate_hz
        values = dict(AT_REST)
        values.update(readings(t) if callable(readings) else readings)
        row = [0.0] * len(device.sensors)
        for sensor_id, value in values.items():
            if sensor_id in index:
                row[index[sensor_id]] = value
        fault = check.update(row, start_s + t, context, bands)
        if fault is not None:
            return t, fault
    return None


@pytest.mark.parametrize("depth_mm, load_a, trips", [
    (PRESSING_DEPTH_MM, EMPTY_LOAD_MAX_A - 0.01, True),
    (PRESSING_DEPTH_MM, EMPTY_LOAD_MAX_A, False),
    (PRESSING_DEPTH_MM - 0.01, STILL_LOAD_MAX_A + 0.05, False),
])
def test_deep_heads_pressing_nothing_at_the_edges(depth_mm, load_a, trips):
    found = watch_seat({"roller_depth": depth_mm, "roller_load": load_a})
    assert (found is not None) is trips
    if trips:
        at_s, fault = found
        assert fault.cause is FaultCause.SEAT_IMPLAUSIBLE
        assert at_s == SEAT_EVIDENCE_S  # evidence from the first reading on
        assert fault.detail == (
            "the seat switch says occupied, but the rollers 8 mm deep on the back carry only "
            "0.49 A (a back pressed that deep takes 0.5 A or more) for 1.0 s: the seat is empty "
            "and its switch stuck, or a load sensor is")
        assert fault.values == {"seat": (1.0, "")}


@pytest.mark.parametrize("depth_mm, load_a, sway_mm, trips", [
    (SHALLOW_PRESSING_DEPTH_MM, STILL_LOAD_MAX_A - 0.01, 0.0, True),
    (SHALLOW_PRESSING_DEPTH_MM, STILL_LOAD_MAX_A, 0.0, False),
    (SHALLOW_PRESSING_DEPTH_MM - 0.01, 0.15, 0.0, False),
    (2.0, 0.15, 0.0, False),
    (6.0, 0.15, STILL_DEPTH_MM - 0.01, True),
    # Moving: left to the deep rule. (Exactly STILL_DEPTH_MM apart no two depth readings of 4 mm
    # or more can be: their float difference is a multiple of 2**-51 mm, 0.3 is not.)
    (6.0, 0.15, STILL_DEPTH_MM + 0.01, False),
])
def test_still_heads_pressing_nothing_at_the_edges(depth_mm, load_a, sway_mm, trips):
    found = watch_seat(lambda t: {"roller_depth": depth_mm + (sway_mm if round(t / STEP_S) % 4
                                                               == 0 else 0.0),
                                  "roller_load": load_a})
    assert (found is not None) is trips
    if trips:
        at_s, fault = found
        # Still once watched for STILL_WINDOW_S less a tenth; the evidence then lasts a second.
        assert at_s == STILL_FROM_S + SEAT_EVIDENCE_S
        assert "what the depth motor draws pressing nothing (a back pressed 4 mm takes " \
            "0.25 A or more)" in fault.detail


def test_still_heads_are_judged_once_watched_long_enough():
    standing = {"roller_depth": 6.0, "roller_load": 0.15}
    # At 20 Hz from the first reading: still from 0.4 s (STILL_WINDOW_S less a tenth), the
    # evidence a second later, on the 29th reading.
    at_s, _ = watch_seat(standing, rate_hz=20)
    assert round(at_s * 20) == 29
    # The same on a board whose clock has long been running.
    at_s, _ = watch_seat(standing, start_s=100.0)
    assert at_s == STILL_FROM_S + SEAT_EVIDENCE_S


def test_a_sway_exactly_the_still_window_ago_still_counts():
    # One reading 0.5 mm deeper at 1 s: the heads are not still until that reading is more than
    # STILL_WINDOW_S old, so the evidence starts again a reading after 1.5 s.
    at_s, _ = watch_seat(lambda t: {"roller_depth": 6.5 if t == 1.0 else 6.0,
                                    "roller_load": 0.15})
    assert at_s == 1.0 + STILL_WINDOW_S + STEP_S + SEAT_EVIDENCE_S


def test_still_heads_judged_again_after_a_board_restart():
    check = SeatCheck(CHAIR)
    row = [0.0] * len(CHAIR.sensors)
    for sensor_id, value in {**AT_REST, "roller_depth": 6.0, "roller_load": 0.15}.items():
        row[SENSOR[sensor_id]] = value
    for n in range(8):  # half a second watched, then the board's clock starts again
        assert check.update(row, 10.0 + n * STEP_S, Board(), BANDS) is None
    trips = [n for n in range(40) if check.update(row, n * STEP_S, Board(), BANDS)]
    assert trips and trips[0] * STEP_S == STILL_FROM_S + SEAT_EVIDENCE_S
    # A report repeated at the same board time changes nothing.
    check = SeatCheck(CHAIR)
    times = [t for n in range(40) for t in (n * STEP_S, n * STEP_S)]
    found = next(t for t in times if check.update(row, t, Board(), BANDS))
    assert found == STILL_FROM_S + SEAT_EVIDENCE_S


@pytest.mark.parametrize("position_mm, trips", [
    (100.0, True), (300.0, True), (99.9, False), (350.0, False)])
def test_only_heads_on_the_middle_and_lower_back_are_judged(position_mm, trips):
    found = watch_seat({"roller_position": position_mm, "roller_depth": 12.0,
                        "roller_load": 0.2})
    assert (found is not None) is trips


def test_without_a_body_map_or_a_sensor_the_rollers_are_no_evidence():
    pressing_nothing = {"roller_depth": 12.0, "roller_load": 0.2}
    assert watch_seat(pressing_nothing, bands=None) is None
    assert watch_seat(pressing_nothing, bands={}) is None
    for missing in ("roller_depth", "roller_load", "roller_position"):
        device = CHAIR.model_copy(update={"sensors": [s for s in CHAIR.sensors
                                                      if s.id != missing]})
        assert watch_seat(pressing_nothing, device=device) is None, missing


def test_a_device_without_a_seat_switch_has_no_seat_fault():
    device = CHAIR.model_copy(update={"sensors": [s for s in CHAIR.sensors if s.id != "seat"]})
    assert watch_seat({"roller_depth": 12.0, "roller_load": 0.2, "seat": 1.0},
                      device=device) is None


@pytest.mark.parametrize("seat, session_active, trips", [
    (0.5, True, True), (0.49, True, False), (1.0, False, False)])
def test_the_seat_says_occupied_from_half_and_only_a_session_is_judged(seat, session_active,
                                                                      trips):
    found = watch_seat({"roller_depth": 12.0, "roller_load": 0.2, "seat": seat},
                       context=Board(session_active=session_active))
    assert (found is not None) is trips


@pytest.mark.parametrize("depth_mm, load_a, trips", [
    (RETRACTED_DEPTH_MM, RETRACTED_LOAD_MAX_A + 0.01, True),
    (RETRACTED_DEPTH_MM + 0.01, RETRACTED_LOAD_MAX_A + 0.01, False),
    (RETRACTED_DEPTH_MM, RETRACTED_LOAD_MAX_A, False),
    (0.0, 0.2, False),
])
def test_a_load_with_the_heads_retracted_at_the_edges(depth_mm, load_a, trips):
    # Off the back, so that the rollers' rules say nothing; the session need not run.
    found = watch_seat({"roller_position": 600.0, "roller_depth": depth_mm,
                        "roller_load": load_a}, context=Board(session_active=False))
    assert (found is not None) is trips
    if trips:
        at_s, fault = found
        assert at_s == SEAT_EVIDENCE_S
        assert fault.cause is FaultCause.SENSOR_IMPLAUSIBLE
        assert fault.detail == ("roller load reads 0.51 A with the heads retracted (1 mm), "
                                "where nothing can press on them: the load sensor is stuck")
        assert fault.values == {"roller_load": (0.51, "A")}


def test_a_load_with_the_heads_retracted_needs_both_sensors():
    for missing in ("roller_depth", "roller_load"):
        device = CHAIR.model_copy(update={"sensors": [s for s in CHAIR.sensors
                                                      if s.id != missing]})
        assert watch_seat({"roller_position": 600.0, "roller_depth": 0.0,
                           "roller_load": 2.0}, device=device) is None, missing


# The calves' bag: pump rate 8 kPa/s, so a bag holding legs rises 3 kPa or more in half a
# second and an empty one about 1; the rule's line is half the pump rate.
CALVES_FILL_EDGE_KPA_PER_S = EMPTY_FILL_OF_PUMP_RATE * CHAIR.channel("airbag_calves").max_rate_per_s


def calves_only(set_point):
    return Board({CALVES: set_point})


@pytest.mark.parametrize("rate_kpa_per_s, trips", [
    (CALVES_FILL_EDGE_KPA_PER_S, False), (CALVES_FILL_EDGE_KPA_PER_S - 0.1, True)])
def test_a_bag_filling_like_an_empty_one_at_the_edge(rate_kpa_per_s, trips):
    found = watch_seat(lambda t: {"roller_position": 600.0,
                                  "pressure_calves": rate_kpa_per_s * t},
                       context=calves_only(20.0))
    assert (found is not None) is trips
    if trips:
        at_s, fault = found
        assert at_s == FILL_WINDOW_S + SEAT_EVIDENCE_S
        assert fault.detail == ("the seat switch says occupied, but an airbag rose only 1.9 kPa "
                                "in 0.5 s of pumping, as a bag with nobody in it does for 1.0 s: "
                                "the seat is empty and its switch stuck, or a load sensor is")


@pytest.mark.parametrize("reading_kpa, set_point_kpa, trips", [
    (FILL_BELOW_KPA, 20.0, True),  # judged up to FILL_BELOW_KPA
    (FILL_BELOW_KPA + 0.01, 20.0, False),
    (5.0 - FILL_PUMPING_BELOW_KPA, 5.0, True),  # pumping surely
    (5.0 - FILL_PUMPING_BELOW_KPA + 0.01, 5.0, False),  # near the set point: may be off
])
def test_a_bag_that_does_not_rise_is_judged_only_below_its_levels(reading_kpa, set_point_kpa,
                                                                  trips):
    found = watch_seat({"roller_position": 600.0, "pressure_calves": reading_kpa},
                       context=calves_only(set_point_kpa))
    assert (found is not None) is trips


def test_no_bag_is_judged_while_the_board_says_every_output_is_safe():
    context = Board({CALVES: 20.0}, outputs_safe=True)
    assert watch_seat({"roller_position": 600.0, "pressure_calves": 2.0},
                      context=context) is None


@given(rate_kpa_per_s=st.floats(0.0, 8.0), set_point_kpa=st.floats(0.0, 25.0))
def test_a_pumped_bag_is_evidence_exactly_when_it_rises_slower_than_the_rule(rate_kpa_per_s,
                                                                            set_point_kpa):
    """Oracle: a bag pumped (set point a kPa or more above the reading, reading at most
    FILL_BELOW_KPA) that rises less than half the pump rate over half a second is evidence; a
    second of evidence trips."""
    rate_kpa_per_s = round(rate_kpa_per_s * 16) / 16  # readings exact on the 1/16 s grid
    level_kpa = min(FILL_BELOW_KPA, set_point_kpa - FILL_PUMPING_BELOW_KPA)
    # Pumped from the start, judged from FILL_WINDOW_S on; a bag rising steadily stays evidence
    # until it passes its level, so it trips if it is still below at the end of the second.
    due_s = FILL_WINDOW_S + SEAT_EVIDENCE_S
    trips = rate_kpa_per_s < CALVES_FILL_EDGE_KPA_PER_S and rate_kpa_per_s * due_s <= level_kpa
    found = watch_seat(lambda t: {"roller_position": 600.0,
                                  "pressure_calves": rate_kpa_per_s * t},
                       context=calves_only(set_point_kpa))
    assert (found[0] if found else None) == (due_s if trips else None)


def test_a_bag_is_judged_after_half_a_second_of_filling_on_any_board_clock():
    found = watch_seat(lambda t: {"roller_position": 600.0, "pressure_calves": 1.0 * t},
                       context=calves_only(20.0), start_s=100.0)
    assert found[0] == FILL_WINDOW_S + SEAT_EVIDENCE_S


def test_only_pressure_sensors_are_judged_as_bags():
    # A board that also reports its calf pump's current: a steady current is no bag that does
    # not fill.
    pump = CHAIR.sensor("knead_current").model_copy(update={"id": "pump_current_calves",
                                                            "channel": "airbag_calves"})
    device = CHAIR.model_copy(update={"sensors": [*CHAIR.sensors, pump]})
    assert watch_seat(lambda t: {"roller_position": 600.0, "pressure_calves": 8.0 * t,
                                 "pump_current_calves": 1.0},
                      duration_s=2.0, context=calves_only(20.0), device=device) is None


def test_a_bag_not_pumped_says_nothing_and_hides_no_other():
    # Every other bag idle (no set point, or a set point it has reached); the feet's bag last in
    # the profile fills like an empty one.
    feet = CHAIR.channel_index("airbag_feet")
    shoulders = CHAIR.channel_index("airbag_shoulders")
    context = Board({feet: 20.0, shoulders: 0.0})
    found = watch_seat(lambda t: {"roller_position": 600.0, "pressure_feet": 1.0 * t},
                       context=context)
    assert found is not None and found[1].cause is FaultCause.SEAT_IMPLAUSIBLE
