"""The board's fault latch (Reset and power cycles keep it, ClearFault ends it), its intensity
slew (a rise at the channel's rise rate, a fall at once) and its identity (hardware.md 5)."""

from __future__ import annotations

import itertools

import pytest

from massagectl.firmware_bridge.messages import (
    ClearFault,
    DeviceInfo,
    DeviceState,
    FaultCode,
    FaultReport,
    Heartbeat,
    HostStopCause,
    Identify,
    RemoteKey,
    Reset,
    ScheduleSegment,
    SetChannelMask,
    SetIntensity,
    StatusReport,
    Stop,
    StopCause,
)
from massagectl.sim.faults import FaultKind
from massagectl.sim.remote import DISPLAY_COLUMNS, DISPLAY_ROWS
from tests.sim.helpers import Host, without_element_currents

CALF_RISE_KPA_PER_S = 4.0  # chair.toml: max_rise_per_s of airbag_calves
SAMPLE_S = 0.05  # the board updates a slewing output at least at its telemetry rate


def _latched_by(host: Host, cause: StopCause) -> StatusReport:
    status = host.last_status()
    assert status.state is DeviceState.SHUTDOWN and status.fault_latched
    assert status.stop_cause is cause and status.outputs_safe
    return status


@pytest.mark.parametrize("how", ["host_fault", "sensor_range", "motor_stall"])
def test_a_fault_shutdown_survives_reset_and_a_power_cycle_until_clear_fault(how):
    host = Host()
    host.schedule("roller_position", 0.0, 30.0, 100.0, 600.0)
    host.wait(0.5)
    if how == "host_fault":
        host.send(Stop(HostStopCause.FAULT))
        cause = StopCause.HOST_FAULT
    elif how == "sensor_range":
        host.board.inject_fault(FaultKind.DEAD_SENSOR, "temp_calves", now_s=host.now_s)
        host.wait(0.5)
        host.board.clear_fault(FaultKind.DEAD_SENSOR, "temp_calves", now_s=host.now_s)
        cause = StopCause.SENSOR_RANGE
    else:
        host.board.inject_fault(FaultKind.MOTOR_STALL, "roller_position", now_s=host.now_s)
        host.wait(10.5)
        host.board.clear_fault(FaultKind.MOTOR_STALL, "roller_position", now_s=host.now_s)
        cause = StopCause.MOTOR_STALL
    _latched_by(host, cause)
    host.send(Reset())
    _latched_by(host, cause)  # Reset answers, and the board stays stopped
    host.schedule("airbag_calves", 0.0, 5.0, 10.0)
    host.wait(0.5)
    assert host.board.outputs_safe()  # segments are dropped while latched
    host.board.inject_fault(FaultKind.RESET, now_s=host.now_s)  # a power cycle
    _latched_by(host, cause)
    host.send(Reset())
    _latched_by(host, cause)
    host.send(ClearFault())
    status = host.last_status()
    assert status.state is DeviceState.SHUTDOWN and not status.fault_latched
    host.send(Reset())
    assert host.last_status().state is DeviceState.READY


@pytest.mark.parametrize("stop", ["host_stop", "remote_key", "watchdog"])
def test_a_persons_stop_and_a_silent_host_end_with_reset(stop):
    host = Host()
    host.schedule("airbag_calves", 0.0, 5.0, 10.0)
    host.wait(0.5)
    if stop == "host_stop":
        host.send(Stop(HostStopCause.REQUESTED))
    elif stop == "remote_key":
        host.board.remote.press(RemoteKey.STOP, host.now_s)
    else:
        host.wait(0.6, heartbeat_s=None)
    status = host.last_status()
    assert status.state is DeviceState.SHUTDOWN and not status.fault_latched
    host.send(Reset())
    assert host.last_status().state is DeviceState.READY


def test_a_fault_stop_after_a_persons_stop_still_latches():
    host = Host()
    host.send(Stop())
    assert not host.last_status().fault_latched
    host.send(Stop(HostStopCause.FAULT))
    _latched_by(host, StopCause.HOST_FAULT)
    host.send(Stop())  # a person's stop never unlatches
    _latched_by(host, StopCause.HOST_FAULT)


def test_a_board_that_forgets_its_latch_on_reset_is_a_switchable_firmware_fault():
    host = Host()
    host.board.faults.forgetful_latch = True
    host.send(Stop(HostStopCause.FAULT))
    host.send(Reset())
    assert host.last_status().state is DeviceState.READY


def _calf_outputs(host: Host, seconds: float) -> list[float]:
    found = []
    for _ in range(round(seconds / SAMPLE_S)):
        host.send(Heartbeat())
        host.wait(SAMPLE_S)
        found.append(host.board.output("airbag_calves"))
    return found


def _steepest_rise_per_s(outputs: list[float]) -> float:
    return max(b - a for a, b in itertools.pairwise(outputs)) / SAMPLE_S


def test_an_intensity_rise_fills_the_bag_at_its_rise_rate_and_a_fall_acts_at_once():
    host = Host()
    host.send(SetIntensity(0.2))
    host.schedule("airbag_calves", 0.0, 60.0, 12.0)
    host.wait(1.0)  # from the empty bag at 4 kPa/s, then it holds
    assert host.board.output("airbag_calves") == pytest.approx(2.4)
    host.send(SetIntensity(1.0))  # four presses of intensity up at once
    assert host.board.output("airbag_calves") == pytest.approx(2.4)
    outputs = _calf_outputs(host, 3.0)
    assert _steepest_rise_per_s(outputs) <= CALF_RISE_KPA_PER_S + 1e-9
    assert outputs[-1] == pytest.approx(12.0)
    assert outputs.index(12.0) * SAMPLE_S == pytest.approx(9.6 / CALF_RISE_KPA_PER_S, abs=0.06)
    host.send(SetIntensity(0.5))
    assert host.board.output("airbag_calves") == pytest.approx(6.0)  # at once
    host.stop()


def test_a_zone_switched_back_on_refills_at_its_rise_rate_and_off_acts_at_once():
    host = Host()
    host.schedule("airbag_calves", 0.0, 60.0, 12.0)
    host.wait(0.2)
    index = host.profile.channel_index("airbag_calves")
    host.send(SetChannelMask(~(1 << index) & 0xFFFFFFFF))
    assert host.board.output("airbag_calves") == 0.0
    host.send(SetChannelMask(0xFFFFFFFF))
    outputs = _calf_outputs(host, 3.5)
    assert outputs[0] == pytest.approx(CALF_RISE_KPA_PER_S * SAMPLE_S)
    assert _steepest_rise_per_s(outputs) <= CALF_RISE_KPA_PER_S + 1e-9
    assert outputs[-1] == pytest.approx(12.0)
    host.stop()


def test_without_the_slew_the_bag_jumps_a_switchable_firmware_fault():
    host = Host()
    host.board.faults.no_slew = True
    host.send(SetIntensity(0.2))
    host.schedule("airbag_calves", 0.0, 60.0, 12.0)
    host.wait(0.2)
    host.send(SetIntensity(1.0))
    assert host.board.output("airbag_calves") == pytest.approx(12.0)
    host.stop()


def test_each_simulated_chair_has_its_own_serial_number_and_the_display_size():
    first, second = Host(serial=1), Host(serial=2)
    infos = []
    for host in (first, second):
        host.messages()
        host.send(Identify())
        [info] = host.messages(DeviceInfo)
        infos.append(info)
    assert infos[0].serial_number == "SIM-chair-1" and infos[1].serial_number == "SIM-chair-2"
    assert (infos[0].display_rows, infos[0].display_cols) == (DISPLAY_ROWS, DISPLAY_COLUMNS)


def test_a_welded_heater_relay_is_cut_off_below_45_c_latched_even_after_a_stop():
    """hardware.md 5, thermal cut-off: independent of the firmware and of the heater's switch
    (on a board without element current sensors, which would latch the weld at once:
    tests/sim/test_element_relays.py)."""
    host = Host(without_element_currents("chair"))
    host.schedule("heat_lower_back", 0.0, 60.0, 40.0)
    host.wait(20.0)
    host.board.inject_fault(FaultKind.HEATER_STUCK_ON, "heat_lower_back", now_s=host.now_s)
    host.send(Stop())  # the person stops: the relay stays welded, the surface keeps heating
    index = host.profile.channel_index("heat_lower_back")
    zone = host.board.plant.zones[index]
    hottest = 0.0
    for _ in range(60 * 10):  # ten minutes
        host.wait(1.0)
        hottest = max(hottest, zone.contact_c)
    assert index in host.board.cutoff_open
    assert hottest < 45.0  # the cut-off opened at 44.6 C
    _latched_by(host, StopCause.THERMAL_CUTOFF)
    faults = [m for m in host.messages() if getattr(m, "code", None) is FaultCode.THERMAL_CUTOFF]
    assert faults and faults[0].index == index


def test_a_segment_for_a_channel_the_board_lacks_is_reported_with_index_minus_one():
    host = Host("pad")  # five channels
    host.messages()
    host.send(ScheduleSegment(20, host.board.clock_now, 1000, 0.0, 0.0))
    [fault] = host.messages(FaultReport)
    assert fault.code is FaultCode.BAD_SEGMENT and fault.index == -1
