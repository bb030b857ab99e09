"""The physics behind the board: honest enough that the host's detectors mean something."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from massagectl.firmware_bridge.messages import Heartbeat, ScheduleSegment, Stop
from massagectl.routines.device import load_device
from massagectl.routines.errors import InputError
from massagectl.sim.board import SimBoard
from massagectl.sim.physics.airbag import CONTROL_BAND_KPA, Airbag
from massagectl.sim.physics.occupant import Occupant
from massagectl.sim.physics.thermal import ThermalZone
from tests.sim.helpers import Host


def test_airbag_rises_no_faster_than_its_pump_and_holds_within_the_band():
    host = Host()
    channel = host.profile.channel("airbag_seat")
    host.schedule("airbag_seat", 0.0, 20.0, 20.0)
    host.wait(19.0)
    times_s = host.board.trace.times_s
    pressure = host.board.trace.actual("airbag_seat")
    rise_rates = np.diff(pressure) / np.diff(times_s)
    assert rise_rates.max() <= channel.max_rate_per_s + 1e-9
    assert rise_rates.max() > 0.8 * channel.max_rate_per_s  # the pump is the limit, not a lag
    settled = pressure[times_s > 10.0]
    assert settled.min() >= 20.0 - CONTROL_BAND_KPA - 1e-9
    assert settled.max() <= 20.0 + 1e-9
    host.stop()
    host.wait(1.5)
    assert host.actual("airbag_seat") < 0.1 * 20.0  # the vent empties it in about a second


@given(steps=st.integers(1, 200), set_point=st.floats(1.0, 30.0), start=st.floats(0.0, 35.0))
def test_airbag_result_does_not_depend_on_the_step_length(steps, set_point, start):
    whole, pieces = Airbag(8.0, 0.0), Airbag(8.0, 0.0)
    whole.pressure_kpa = pieces.pressure_kpa = start
    whole.advance(4.0, set_point)
    for _ in range(steps):
        pieces.advance(4.0 / steps, set_point)
    assert pieces.pressure_kpa == pytest.approx(whole.pressure_kpa, abs=1e-6)


@given(steps=st.integers(1, 100), seconds=st.floats(1.0, 900.0), occupied=st.booleans())
def test_heat_result_does_not_depend_on_the_step_length(steps, seconds, occupied):
    whole, pieces = ThermalZone(False, 0.0), ThermalZone(False, 0.0)
    whole.heat_stuck = pieces.heat_stuck = True  # constant power: the network alone
    whole.cutoff_hot_c = pieces.cutoff_hot_c = math.inf
    whole.advance(seconds, None, occupied)
    for _ in range(steps):
        pieces.advance(seconds / steps, None, occupied)
    assert pieces.contact_c == pytest.approx(whole.contact_c, abs=1e-9)
    assert pieces.element_c == pytest.approx(whole.element_c, abs=1e-9)


def test_thermostat_holds_the_contact_surface_and_the_sensor_lags_the_element():
    host = Host(device="pad")
    host.schedule("heat_lower_back", 0.0, 300.0, 40.0)
    host.wait(120.0)
    zone = host.board.plant.zones[host.profile.channel_index("heat_lower_back")]
    assert zone.element_c > zone.contact_c + 5.0  # heat flows element -> surface
    host.schedule("heat_lower_back", 180.0, 300.0, 40.0)
    host.wait(470.0)
    recent = host.board.trace.sensor("temp_lower_back")[-2000:]
    assert recent.min() > 39.0 and recent.max() < 41.0
    host.stop()


def test_carriage_moves_at_its_speed_limit_and_stops_at_the_end_stop():
    host = Host()
    limit = host.profile.channel("roller_position").max_rate_per_s
    host.schedule("roller_position", 0.0, 2.0, 740.0)  # asks for the top at once
    host.wait(2.0)
    positions = host.board.trace.actual("roller_position")
    speeds = np.diff(positions) / np.diff(host.board.trace.times_s)
    assert speeds.max() == pytest.approx(limit)
    assert host.actual("roller_position") == pytest.approx(2.0 * limit, abs=1.0)
    host.schedule("roller_position", 0.0, 30.0, 740.0)
    host.wait(20.0)
    assert host.actual("roller_position") == 740.0
    host.stop()


def test_knead_motor_spins_up_and_draws_more_current_against_the_back():
    host = Host()
    host.schedule("knead_speed", 0.0, 20.0, 40.0)
    host.wait(0.8)  # its drive has risen to 40 at 60 cycles/min per second; the rotor lags
    assert 15.0 < host.actual("knead_speed") < 35.0  # still spinning up
    host.wait(2.6)
    assert host.sensor("knead_speed") == pytest.approx(40.0, abs=1.5)
    free_a = host.sensor("knead_current")
    host.schedule("roller_position", 0.0, 10.0, 300.0)
    host.schedule("roller_depth", 0.0, 10.0, 20.0)
    host.wait(8.0)
    assert host.sensor("knead_current") > free_a + 0.3
    host.stop()


def test_seat_sensor_follows_the_occupant():
    host = Host()
    host.wait(0.2)
    assert host.sensor("seat") == 1.0
    host.board.occupant.present = False
    host.wait(0.2)
    assert host.sensor("seat") == 0.0


def shoulder_from_scan(heights_mm: np.ndarray, load_a: np.ndarray) -> float:
    """A plain estimator a controller might use: where the smoothed load falls halfway from
    the back's level to the neck's, looking down from the top."""
    kernel = np.ones(9) / 9
    smooth = np.convolve(load_a, kernel, mode="valid")
    heights = np.convolve(heights_mm, kernel, mode="valid")
    neck = np.median(smooth[heights > heights.max() - 60.0])
    back = np.percentile(smooth, 90)
    half = (back + neck) / 2
    above = np.flatnonzero(smooth >= half)
    last = above.max()
    h0, h1, y0, y1 = heights[last], heights[last + 1], smooth[last], smooth[last + 1]
    return float(h0 + (half - y0) * (h1 - h0) / (y1 - y0))


@settings(max_examples=12)
@given(shoulder_mm=st.floats(450.0, 700.0), seed=st.integers(0, 2**16))
def test_body_scan_finds_the_shoulder_line_within_10_mm(shoulder_mm, seed):
    host = Host(occupant=Occupant(shoulder_height_mm=shoulder_mm), seed=seed)
    base_mm = host.profile.track.base_above_seat_mm
    start_mm = 250.0
    host.schedule("roller_position", 0.0, 6.0, start_mm)
    host.schedule("roller_depth", 0.0, 2.0, 0.0, 5.0)
    host.schedule("roller_depth", 2.0, 60.0, 5.0)
    host.wait(6.0)
    scan_s = (740.0 - start_mm) / 20.0  # 20 mm/s upward
    host.schedule("roller_position", 0.0, scan_s, start_mm, 740.0)
    first = len(host.board.trace.times_s)
    host.wait(scan_s)
    trace = host.board.trace
    heights = trace.sensor("roller_position")[first:] + base_mm
    load = trace.sensor("roller_load")[first:]
    # Not a step: the fall-off spreads over several samples and the samples are noisy.
    near = np.abs(heights - shoulder_mm) < 40.0
    assert len(np.unique(load[near])) > 10
    assert shoulder_from_scan(heights, load) == pytest.approx(shoulder_mm, abs=10.0)
    host.stop()


COOLED_SEAT = """
name = "cooled_seat"
description = "one cooled seat pad"
[[channels]]
id = "cool_seat"
kind = "cool"
zone = "seat"
min = 15
max = 30
safe_default = 30
max_rate_per_s = 1
max_duration_s = 600
[[sensors]]
id = "temp_seat"
kind = "temperature"
unit = "C"
channel = "cool_seat"
valid_min = -10
valid_max = 80
resolution = 0.1
"""


def test_a_profile_file_with_a_cooling_channel_simulates(tmp_path):
    path = tmp_path / "cooled_seat.toml"
    path.write_text(COOLED_SEAT)
    board = SimBoard(load_device(path))
    board.handle(Heartbeat(), 0.0)
    start = board.clock.ticks_at(0.0)
    board.handle(ScheduleSegment(0, start, 600 * 1_000_000, 18.0, 18.0), 0.0)
    now_s = 0.0
    while now_s < 590.0:
        now_s += 0.2
        board.handle(Heartbeat(), now_s)
    assert board.trace.sensor("temp_seat")[-1] < 21.0  # below the room's 22 C
    board.handle(Stop(), now_s)


def test_a_sensor_the_simulator_cannot_model_is_named(tmp_path):
    path = tmp_path / "odd.toml"
    path.write_text(COOLED_SEAT.replace('kind = "temperature"', 'kind = "pressure"')
                    .replace('unit = "C"', 'unit = "kPa"'))
    with pytest.raises(InputError, match="temp_seat"):
        SimBoard(load_device(path))
