"""Each injected device fault shows what real hardware would show, so detectors can be tested."""

from __future__ import annotations

import math

import numpy as np
import pytest

from massagectl.firmware_bridge.messages import (
    DeviceState,
    FaultCode,
    FaultReport,
    Heartbeat,
    StatusReport,
    StopCause,
)
from massagectl.routines.errors import InputError, UnknownNameError
from massagectl.sim.board import MOTOR_STALL_S
from massagectl.sim.faults import FaultKind
from massagectl.sim.physics.airbag import PUMP_BLIND_S
from massagectl.sim.physics.thermal import CUTOFF_HOT_C
from massagectl.sim.sensors import SENSOR_RANGE_TRIP_READINGS
from tests.sim.helpers import Host, without_element_currents


def test_device_reset_loses_everything_and_reports_power_on():
    host = Host()
    host.schedule("airbag_feet", 0.0, 30.0, 15.0)
    host.schedule("airbag_feet", 30.0, 30.0, 15.0)
    host.wait(5.0)
    assert host.board.clock_now > 4_000_000
    host.messages()
    host.board.inject_fault(FaultKind.RESET, now_s=host.now_s)
    [status] = host.messages(StatusReport)
    assert status.stop_cause is StopCause.POWER_ON  # the board says it restarted
    assert status.state is DeviceState.READY and status.outputs_safe
    assert status.queue_free == host.board.queue_capacity
    assert host.board.clock_now == 0  # the clock restarted
    pressure_kpa = host.actual("airbag_feet")
    host.wait(2.0)
    assert host.actual("airbag_feet") < 0.1 * pressure_kpa  # vent open: bag empties


def test_unplugged_cable_silences_both_ways_and_the_watchdog_trips():
    host = Host()
    host.schedule("knead_speed", 0.0, 20.0, 30.0)
    host.wait(1.0)
    host.board.inject_fault(FaultKind.UNPLUG, now_s=host.now_s)
    host.messages()
    host.wait(1.0)  # the host keeps sending heartbeats into the void
    assert host.messages() == []
    assert host.board.state is DeviceState.SHUTDOWN
    assert host.board.stop_cause is StopCause.WATCHDOG
    assert host.board.outputs_safe()
    host.board.clear_fault(FaultKind.UNPLUG, now_s=host.now_s)
    host.send(Heartbeat())
    assert host.messages()  # the host hears the board again


def test_stuck_valve_keeps_the_pressure_up_after_a_stop():
    host = Host()
    host.schedule("airbag_shoulders", 0.0, 10.0, 20.0)
    host.schedule("airbag_arms", 0.0, 10.0, 20.0)
    host.wait(5.0)
    host.board.inject_fault(FaultKind.STUCK_VALVE, "airbag_shoulders", now_s=host.now_s)
    host.stop()
    assert host.board.outputs_safe()  # the board believes its vent is open
    host.wait(5.0)
    assert host.sensor("pressure_shoulders") > 18.0  # only the slow leak
    assert host.sensor("pressure_arms") < 0.3


def test_dead_sensor_reads_out_of_range_and_shuts_the_board_down():
    host = Host()
    host.schedule("heat_lower_back", 0.0, 60.0, 38.0)
    host.wait(1.0)
    index = host.profile.sensors.index(host.profile.sensor("temp_lower_back"))
    host.messages()
    host.board.inject_fault(FaultKind.DEAD_SENSOR, "temp_lower_back", now_s=host.now_s)
    period_s = 1 / 20
    host.wait(period_s * (SENSOR_RANGE_TRIP_READINGS - 0.5))
    assert host.board.state is DeviceState.READY  # not yet: one bad reading short
    host.wait(period_s)
    assert host.board.stop_cause is StopCause.SENSOR_RANGE
    [fault] = host.messages(FaultReport)
    assert (fault.code, fault.index) == (FaultCode.SENSOR_RANGE, index)
    assert fault.value < host.profile.sensor("temp_lower_back").valid_min
    assert host.board.outputs_safe()


def test_stuck_sensor_repeats_itself_while_the_truth_moves():
    host = Host()
    host.schedule("roller_position", 0.0, 8.0, 0.0, 300.0)
    host.wait(1.0)
    host.board.inject_fault(FaultKind.STUCK_SENSOR, "roller_position", now_s=host.now_s)
    start = len(host.board.trace.times_s)
    host.wait(4.0)
    readings = host.board.trace.sensor("roller_position")[start:]
    moving = host.board.trace.actual("roller_position")[start:]
    assert np.ptp(readings) == 0.0
    assert np.ptp(moving) > 100.0
    host.stop()


def test_stuck_thermistor_fools_the_thermostat_into_runaway():
    host = Host()
    host.board.inject_fault(FaultKind.STUCK_SENSOR, "temp_calves", now_s=host.now_s)
    host.schedule("heat_calves", 0.0, 300.0, 38.0)
    host.wait(299.0)
    # It reads ambient, so it never switches off: well past its set point.
    assert host.actual("heat_calves") > 38.0 + 1.5
    host.stop()


def test_heater_stuck_on_heats_past_the_set_point_even_after_stop_until_the_cut_off_opens():
    host = Host()
    host.schedule("heat_lower_back", 0.0, 300.0, 38.0)
    host.wait(299.0)
    settled_c = host.actual("heat_lower_back")
    assert settled_c == pytest.approx(38.0, abs=0.8)  # the thermostat holds it
    host.board.inject_fault(FaultKind.HEATER_STUCK_ON, "heat_lower_back", now_s=host.now_s)
    host.stop()
    assert host.board.outputs_safe()
    host.wait(60.0)
    one_minute_c = host.sensor("temp_lower_back")
    host.wait(240.0)
    five_minutes_c = host.sensor("temp_lower_back")
    assert 38.5 < one_minute_c < five_minutes_c
    zone = host.board.plant.zones[host.profile.channel_index("heat_lower_back")]
    assert zone.cutoff_open  # hardware.md 5: the thermal cut-off, not the board, ended it
    contact_c = host.board.trace.actual("heat_lower_back")
    assert CUTOFF_HOT_C <= contact_c.max() < 45.0  # someone seated never passes 45 C
    assert contact_c[-1] < contact_c.max() - 0.5  # and it cools from there


def test_stalled_motor_is_a_fault_after_its_stall_time():
    host = Host()
    host.board.inject_fault(FaultKind.MOTOR_STALL, "roller_position", now_s=host.now_s)
    host.schedule("roller_position", 0.0, 30.0, 0.0, 600.0)
    host.wait(MOTOR_STALL_S - 0.5)
    assert host.board.state is DeviceState.READY
    assert host.sensor("roller_position") == pytest.approx(0.0, abs=1.0)
    host.wait(1.0)
    assert host.board.stop_cause is StopCause.MOTOR_STALL
    faults = host.messages(FaultReport)
    assert faults[-1].code is FaultCode.MOTOR_STALL
    assert faults[-1].index == host.profile.channel_index("roller_position")


def test_stalled_depth_drive_draws_stall_current():
    host = Host()
    host.schedule("roller_depth", 0.0, 20.0, 20.0)
    host.wait(0.2)
    host.board.inject_fault(FaultKind.MOTOR_STALL, "roller_depth", now_s=host.now_s)
    host.wait(2.0)
    assert host.sensor("roller_load") > 1.5
    host.stop()


def test_seat_vacated_clears_the_seat_signal_and_the_back_contact():
    host = Host()
    host.schedule("roller_position", 0.0, 4.0, 300.0)
    host.schedule("roller_depth", 0.0, 20.0, 10.0)
    host.wait(5.0)
    assert host.sensor("seat") == 1.0
    loaded_a = host.sensor("roller_load")
    host.board.inject_fault(FaultKind.SEAT_VACATED, now_s=host.now_s)
    host.wait(0.2)
    assert host.sensor("seat") == 0.0
    assert host.sensor("roller_load") < loaded_a - 0.4
    host.stop()


def test_fault_targets_are_checked():
    host = Host()
    with pytest.raises(InputError, match="airbag"):
        host.board.inject_fault(FaultKind.STUCK_VALVE, "heat_calves", now_s=0.0)
    with pytest.raises(UnknownNameError, match="temp_calves"):
        host.board.inject_fault(FaultKind.DEAD_SENSOR, "temp_calf", now_s=0.0)
    with pytest.raises(InputError, match="needs a channel"):
        host.board.inject_fault(FaultKind.MOTOR_STALL, now_s=0.0)
    with pytest.raises(InputError, match="takes no target"):
        host.board.inject_fault(FaultKind.SEAT_VACATED, "seat", now_s=0.0)


def test_heat_running_away_with_a_failed_cut_off_trips_the_boards_own_over_limit_check():
    # A board without element current sensors (one with them stops at the weld, at 40 C).
    host = Host(device=without_element_currents("pad"))
    host.schedule("heat_lower_back", 0.0, 300.0, 40.0)
    host.board.inject_fault(FaultKind.HEATER_STUCK_ON, "heat_lower_back", now_s=host.now_s)
    # A second, independent failure: the cut-off's contacts welded too.
    host.board.plant.zones[host.profile.channel_index("heat_lower_back")].cutoff_hot_c = math.inf
    for _ in range(3):  # keep the channel covered, as a running session would
        host.wait(290.0)
        host.schedule("heat_lower_back", 0.0, 300.0, 40.0)
    assert host.board.stop_cause is StopCause.OVER_LIMIT
    fault = next(m for m in host.messages(FaultReport) if m.code is FaultCode.OVER_LIMIT)
    assert fault.value > 45.0
    assert host.board.outputs_safe()


def test_a_pump_running_on_a_frozen_pressure_reading_is_stopped_by_the_boards_controller():
    host = Host()
    host.schedule("airbag_calves", 0.0, 10.0, 0.0, 14.0)  # filling at 1.4 kPa/s
    host.wait(3.0)
    host.board.inject_fault(FaultKind.STUCK_SENSOR, "pressure_calves", now_s=host.now_s)
    frozen_kpa = host.sensor("pressure_calves")
    host.wait(5.0)
    pressure = host.board.trace.actual("airbag_calves")[-100:]
    # The controller pumped blind for PUMP_BLIND_S at most, then opened the vent.
    assert pressure.max() < frozen_kpa + PUMP_BLIND_S * 8.0 + 0.5
    assert pressure[-1] < 1.0
    assert host.sensor("pressure_calves") == frozen_kpa
    host.stop()
