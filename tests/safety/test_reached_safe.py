"""After a shutdown each output's hardware must reach its safe state within its bound
(hardware.md section 5): edges of each bound, and a channel that runs again is not judged."""

from __future__ import annotations

import pytest

from massagectl.routines.device import Sensor, load_device
from massagectl.safety.reached_safe import (
    AIRBAG_VENT_S,
    AIRBAG_VENTED_KPA,
    DEPTH_TOLERANCE_MM,
    DRIVE_STOP_S,
    MARGIN_S,
    ReachedSafe,
)

CHAIR = load_device("chair")
DEPTH_SENSOR = next(i for i, s in enumerate(CHAIR.sensors)
                    if s.channel == "roller_depth" and s.kind == "position")
CALF_SENSOR = next(i for i, s in enumerate(CHAIR.sensors) if s.id == "pressure_calves")
DEPTH_WITHIN_S = 40 / 15 + MARGIN_S  # chair.toml: 0..40 mm at 15 mm/s


class Safe:
    """Every channel commanded to its safe state (or, with `running`, these are not)."""

    def __init__(self, running: tuple[int, ...] = ()) -> None:
        self.running = running

    def commanded(self, channel_index: int, board_s: float) -> float | None:
        return 1.0 if channel_index in self.running else None


@pytest.mark.parametrize("depth_mm, problem", [
    (DEPTH_TOLERANCE_MM - 0.01, False), (DEPTH_TOLERANCE_MM + 0.01, True)])
def test_roller_depth_must_be_back_by_its_retract_time(depth_mm, problem):
    reached = ReachedSafe(CHAIR)
    reached.shut_down(10.0)
    assert reached.judge(DEPTH_SENSOR, 30.0, 10.0 + DEPTH_WITHIN_S - 0.01, Safe()) is None
    found = reached.judge(DEPTH_SENSOR, depth_mm, 10.0 + DEPTH_WITHIN_S, Safe())
    assert (found is not None) is problem
    if problem:
        assert "roller_depth" in found and "mm" in found
    assert reached.judge(DEPTH_SENSOR, depth_mm, 20.0, Safe()) is None  # said once


@pytest.mark.parametrize("kpa, problem", [
    (AIRBAG_VENTED_KPA - 0.01, False), (AIRBAG_VENTED_KPA, True)])
def test_an_airbag_must_be_vented_within_three_seconds(kpa, problem):
    reached = ReachedSafe(CHAIR)
    reached.shut_down(0.0)
    found = reached.judge(CALF_SENSOR, kpa, AIRBAG_VENT_S, Safe())
    assert (found is not None) is problem


def test_a_channel_running_again_is_not_judged():
    reached = ReachedSafe(CHAIR)
    reached.shut_down(0.0)
    calves = CHAIR.channel_index("airbag_calves")
    assert reached.judge(CALF_SENSOR, 9.0, 1.0, Safe(running=(calves,))) is None
    assert reached.judge(CALF_SENSOR, 9.0, AIRBAG_VENT_S, Safe()) is None


def sensor_index(device, sensor_id: str) -> int:
    return next(i for i, s in enumerate(device.sensors) if s.id == sensor_id)


# hardware.md section 5, per sensor of the chair: how long its channel has, the first reading
# that is not safe, and the unit it is read in. A knead motor runs down from its 60 cycles/min
# at 60 per second, the tapping motor from 12 Hz at 24 Hz per second.
BELOW_A_BOUND = [
    ("knead_speed", 60 / 60 + MARGIN_S, 0.05 * 60, "cycles/min"),
    ("tap_rate", 12 / 24 + MARGIN_S, 0.05 * 12, "Hz"),
    *[(f"pressure_{zone}", AIRBAG_VENT_S, AIRBAG_VENTED_KPA, "kPa")
      for zone in ("shoulders", "arms", "seat", "calves", "feet")],
]


@pytest.mark.parametrize("sensor_id, within_s, bound, unit", BELOW_A_BOUND)
def test_motors_stop_and_bags_vent_below_their_bound_by_their_time(sensor_id, within_s, bound,
                                                                   unit):
    index = sensor_index(CHAIR, sensor_id)
    channel_id = CHAIR.sensors[index].channel
    passing = ReachedSafe(CHAIR)
    passing.shut_down(10.0)
    assert passing.judge(index, 100 * bound, 10.0 + within_s - 0.01, Safe()) is None
    assert passing.judge(index, bound - 0.01, 10.0 + within_s, Safe()) is None
    failing = ReachedSafe(CHAIR)
    failing.shut_down(10.0)
    found = failing.judge(index, bound, 10.0 + within_s, Safe())
    assert found == (f"{channel_id} still at {bound:.2f} {unit} {within_s:.1f} s after the "
                     f"shutdown (safe below {bound:g} {unit})")
    assert failing.judge(index, bound, 10.0 + within_s + 1.0, Safe()) is None  # said once


@pytest.mark.parametrize("sensor_id", ["roller_load", "knead_current", "tap_current",
                                       "temp_lower_back", "temp_calves", "seat"])
def test_currents_temperatures_and_the_seat_are_not_judged(sensor_id):
    """A motor's current says nothing of where the motor is; a surface cools at its own pace."""
    reached = ReachedSafe(CHAIR)
    reached.shut_down(0.0)
    index = sensor_index(CHAIR, sensor_id)
    assert all(reached.judge(index, 99.0, t, Safe()) is None for t in (1.0, 5.0, 60.0))


def test_a_current_sensor_on_a_bag_or_a_drive_is_not_taken_for_its_pressure_or_position():
    extra = tuple(Sensor(id=f"{channel}_current", kind="current", unit="A", channel=channel,
                         valid_min=0.0, valid_max=5.0, resolution=0.01)
                  for channel in ("airbag_calves", "roller_position"))
    device = CHAIR.model_copy(update={"sensors": (*CHAIR.sensors, *extra)})
    reached = ReachedSafe(device)
    reached.shut_down(0.0)
    for sensor in extra:
        index = sensor_index(device, sensor.id)
        # Readings that would be a bag far from vented, or a drive moving past its time.
        assert all(reached.judge(index, amps, t, Safe()) is None
                   for t, amps in ((0.5, 0.0), (1.0, 3.0), (3.0, 3.0), (5.0, 0.0)))


def test_a_head_that_rests_out_of_the_back_must_return_to_its_own_safe_depth():
    """A profile whose heads rest 5 mm out: they must be back within 1 mm of 5 mm, after the
    time a full retract from 40 mm to 5 mm takes."""
    rested = CHAIR.model_copy(update={"channels": tuple(
        c.model_copy(update={"safe_default": 5.0}) if c.id == "roller_depth" else c
        for c in CHAIR.channels)})
    within_s = (40.0 - 5.0) / 15.0 + MARGIN_S
    for depth_mm, problem in [(5.0 + DEPTH_TOLERANCE_MM, False), (5.0 - DEPTH_TOLERANCE_MM, False),
                              (5.0 - DEPTH_TOLERANCE_MM - 0.01, True), (20.0, True)]:
        reached = ReachedSafe(rested)
        reached.shut_down(0.0)
        assert reached.judge(DEPTH_SENSOR, 30.0, within_s - 0.01, Safe()) is None
        found = reached.judge(DEPTH_SENSOR, depth_mm, within_s, Safe())
        assert (found is not None) is problem, depth_mm
        if problem:
            assert found == (f"roller_depth at {depth_mm:.1f} mm {within_s:.1f} s after the "
                             "shutdown, not back to 5 mm")


POSITION_SENSOR = sensor_index(CHAIR, "roller_position")
WIDTH_SENSOR = sensor_index(CHAIR, "roller_width")


def drive(reached: ReachedSafe, readings: list[tuple[float, float]], sensor: int):
    """(board_s, mm) readings of a drive after a shutdown at 10 s; every problem found."""
    return [(board_s, found) for board_s, mm in readings
            if (found := reached.judge(sensor, mm, board_s, Safe())) is not None]


@pytest.mark.parametrize("sensor", [POSITION_SENSOR, WIDTH_SENSOR])
def test_a_drive_that_stands_half_a_second_by_its_time_has_stopped(sensor):
    """Standing: moved less than 2 mm for half a second, which may end at the very deadline;
    once it stood, later readings are not judged."""
    reached = ReachedSafe(CHAIR)
    reached.shut_down(10.0)
    readings = [(10.0, 90.0), (10.5, 100.0), (10.75, 101.99), (11.0, 101.99), (12.0, 150.0)]
    assert drive(reached, readings, sensor) == []


@pytest.mark.parametrize("readings", [
    # moving all along
    [(10.0 + i * 0.05, 100.0 + 3.0 * i) for i in range(21)],
    # exactly 2 mm is a move: the half second starts again
    [(10.0, 90.0), (10.5, 100.0), (10.75, 102.0), (11.0, 102.0)],
    # a quarter second's pause, then on again
    [(10.0, 100.0), (10.25, 100.0), (10.5, 110.0), (10.75, 120.0), (11.0, 130.0)],
])
def test_a_drive_still_moving_at_its_time_is_a_problem_once(readings):
    reached = ReachedSafe(CHAIR)
    reached.shut_down(10.0)
    last_s, last_mm = readings[-1]
    found = drive(reached, [*readings, (11.5, last_mm + 10.0)], POSITION_SENSOR)
    assert found == [(11.0, f"roller_position still moving {DRIVE_STOP_S:.1f} s after the "
                            f"shutdown (at {last_mm:.1f} mm)")]
    assert last_s == 10.0 + DRIVE_STOP_S


def test_a_second_shutdown_judges_a_drive_afresh():
    reached = ReachedSafe(CHAIR)
    reached.shut_down(10.0)
    assert drive(reached, [(10.0, 100.0), (10.5, 100.0)], POSITION_SENSOR) == []  # it stood
    reached.shut_down(20.0)
    found = drive(reached, [(20.0 + i * 0.25, 100.0 + 5 * i) for i in range(5)], POSITION_SENSOR)
    assert [board_s for board_s, _ in found] == [21.0]


JUDGED = [DEPTH_SENSOR, POSITION_SENSOR, WIDTH_SENSOR,
          *[sensor_index(CHAIR, sensor_id) for sensor_id, *_ in BELOW_A_BOUND]]


def unsafe(reached: ReachedSafe, sensor: int, board_s: float, context) -> str | None:
    """A reading far from safe at `board_s` (a drive: one that moved)."""
    value = 30.0 + board_s * 10.0
    return reached.judge(sensor, value, board_s, context)


@pytest.mark.parametrize("sensor", JUDGED)
def test_a_channel_commanded_again_is_no_longer_judged(sensor):
    """The channel resumes 0.2 s after the shutdown: from then on its segments lead."""
    channel = CHAIR.channel_index(CHAIR.sensors[sensor].channel)

    class ResumesAt:
        def commanded(self, channel_index: int, board_s: float) -> float | None:
            return 1.0 if channel_index == channel and board_s >= 0.2 else None

    reached = ReachedSafe(CHAIR)
    reached.shut_down(0.0)
    assert unsafe(reached, sensor, 0.1, ResumesAt()) is None
    assert unsafe(reached, sensor, 0.3, ResumesAt()) is None
    assert all(unsafe(reached, sensor, t, Safe()) is None for t in (4.0, 5.0))
    # Another channel running does not spare this one.
    reached.shut_down(10.0)
    others = Safe(running=tuple(i for i in range(len(CHAIR.channels)) if i != channel))
    assert unsafe(reached, sensor, 14.0, others) is not None


def test_a_board_that_restarted_leaves_nothing_to_judge():
    reached = ReachedSafe(CHAIR)
    reached.shut_down(0.0)
    reached.forget()
    assert all(unsafe(reached, sensor, t, Safe()) is None for sensor in JUDGED
               for t in (4.0, 5.0))
