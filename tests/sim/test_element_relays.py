"""The element current sensors (hardware.md 5.1) and the board's own check of its relays
(hardware.md 5, sim.element_relays): an element draws its rated current while its relay is
closed, welded or not, and nothing otherwise; current with the relay commanded open is
reported (OVER_LIMIT on the current sensor) and latched, within two readings."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from massagectl.firmware_bridge.messages import (
    ClearFault,
    DeviceState,
    FaultCode,
    FaultReport,
    Heartbeat,
    Reset,
    StopCause,
)
from massagectl.sim.element_relays import WELDED_READINGS
from massagectl.sim.faults import FaultKind
from massagectl.sim.physics import thermal
from tests.sim.helpers import Host

SAMPLE_S = 0.05  # the board's telemetry period
HEATER_A = thermal.ELEMENT_POWER_W / thermal.SUPPLY_V  # 0.92 A
COOLER_A = thermal.COOLER_INPUT_W / thermal.SUPPLY_V  # 1.25 A


def _heat_zone(host: Host, channel: str = "heat_lower_back") -> thermal.ThermalZone:
    return host.board.plant.zones[host.profile.channel_index(channel)]


def _welded_reports(host: Host) -> list[FaultReport]:
    return [m for m in host.messages(FaultReport) if m.code is FaultCode.OVER_LIMIT]


def _latched(host: Host) -> None:
    board = host.board
    assert board.state is DeviceState.SHUTDOWN and board.outputs_safe()
    assert board.latched_cause is StopCause.OVER_LIMIT is board.stop_cause


def _wait_until(host: Host, done, limit_s: float = 200.0) -> None:
    for _ in range(round(limit_s / SAMPLE_S)):
        if done():
            return
        host.send(Heartbeat())  # steps shorter than the helper's heartbeat period
        host.wait(SAMPLE_S)
    raise AssertionError(f"not within {limit_s} s")


def test_the_element_draws_its_rated_current_while_its_relay_is_closed_and_nothing_else():
    host = Host()
    host.schedule("heat_lower_back", 0.0, 60.0, 40.0)
    host.wait(5.0)
    assert _heat_zone(host).heating
    assert host.sensor("heat_lower_back_current") == pytest.approx(HEATER_A, abs=0.04)
    assert host.sensor("heat_calves_current") < 0.04  # its heat is off
    host.stop()
    host.wait(1.0)
    assert host.sensor("heat_lower_back_current") < 0.04


def test_a_thermoelectric_module_draws_through_the_leg_of_its_direction():
    host = Host("pad")
    host.schedule("cool_lower_back", 0.0, 60.0, 15.0)
    host.wait(5.0)
    assert host.sensor("cool_lower_back_current") == pytest.approx(COOLER_A, abs=0.04)
    assert host.sensor("heat_lower_back_current") < 0.04
    assert not host.shut_down
    host.stop()


def test_a_relay_welded_after_a_stop_is_reported_within_two_readings_and_latched():
    host = Host()
    host.schedule("heat_lower_back", 0.0, 60.0, 40.0)
    host.wait(20.0)
    host.board.inject_fault(FaultKind.HEATER_STUCK_ON, "heat_lower_back", now_s=host.now_s)
    host.messages()
    host.stop()  # a person's stop: the relay is commanded open, the element heats on
    host.wait(WELDED_READINGS * SAMPLE_S)
    [report] = _welded_reports(host)
    assert report.index == host.profile.sensors.index(
        next(s for s in host.profile.sensors if s.id == "heat_lower_back_current"))
    assert report.value == pytest.approx(HEATER_A, abs=0.04)
    _latched(host)
    host.wait(60.0)
    assert _welded_reports(host) == []  # said once


def test_the_thermal_cut_off_still_ends_the_heat_of_a_latched_welded_relay():
    host = Host()
    host.schedule("heat_lower_back", 0.0, 60.0, 40.0)
    host.wait(20.0)
    host.board.inject_fault(FaultKind.HEATER_STUCK_ON, "heat_lower_back", now_s=host.now_s)
    host.stop()
    zone = _heat_zone(host)
    hottest = 0.0
    for _ in range(600):
        host.wait(1.0)
        hottest = max(hottest, zone.contact_c)
    assert zone.cutoff_open and hottest < 45.0
    codes = [m.code for m in host.messages(FaultReport)]
    assert FaultCode.OVER_LIMIT in codes and FaultCode.THERMAL_CUTOFF in codes
    _latched(host)  # by the first latched cause


def test_a_relay_welded_at_the_set_point_is_reported_within_two_readings_of_opening():
    """The board knows its relay: no need to wait for the surface to tell."""
    host = Host()
    zone = _heat_zone(host)
    zone.element_c = zone.contact_c = 37.0  # warmed up already
    host.schedule("heat_lower_back", 0.0, 300.0, 38.0)
    _wait_until(host, lambda: zone.heating)  # warming the last degree, the relay closed
    host.board.inject_fault(FaultKind.HEATER_STUCK_ON, "heat_lower_back", now_s=host.now_s)
    host.messages()
    _wait_until(host, lambda: not zone.heating or host.shut_down)  # the thermostat opens it
    assert not host.shut_down
    opened_s = host.now_s
    _wait_until(host, lambda: host.shut_down)
    assert host.now_s - opened_s <= (WELDED_READINGS + 1) * SAMPLE_S
    assert _welded_reports(host)
    _latched(host)


def test_after_clear_fault_a_relay_still_welded_is_reported_and_latched_again():
    host = Host()
    host.board.inject_fault(FaultKind.HEATER_STUCK_ON, "heat_lower_back", now_s=0.0)
    host.wait(1.0)
    assert len(_welded_reports(host)) == 1
    host.send(ClearFault())
    host.send(Reset())
    host.wait(2 * SAMPLE_S)
    assert len(_welded_reports(host)) == 1
    _latched(host)


@settings(max_examples=max(4, settings().max_examples // 25), deadline=None)
@given(set_point_c=st.sampled_from([34.0, 38.0, 40.0, 42.0, 44.0]),
       occupied=st.booleans(), seed=st.integers(0, 10_000),
       off_after_s=st.floats(200.0, 900.0))
def test_a_sound_thermostat_cycling_never_trips_the_boards_check(set_point_c, occupied, seed,
                                                                  off_after_s):
    host = Host(seed=seed, trace_samples=False)
    host.board.occupant.present = occupied
    for start_s in range(0, 900, 290):  # keep the channel covered, as a session would
        host.schedule("heat_lower_back", 0.0, min(290.0, max(off_after_s - start_s, 1.0)),
                      set_point_c)
        host.wait(290.0)
    host.wait(60.0)  # and cooling down with the heat off
    assert not host.shut_down
    assert _welded_reports(host) == []


def test_a_cooler_leg_welded_after_a_stop_is_reported_too():
    """The mirror case: a thermoelectric module stuck cooling."""
    host = Host("pad")
    host.schedule("cool_lower_back", 0.0, 60.0, 20.0)
    host.wait(10.0)
    host.board.inject_fault(FaultKind.HEATER_STUCK_ON, "cool_lower_back", now_s=host.now_s)
    host.messages()
    host.stop()
    host.wait(WELDED_READINGS * SAMPLE_S)
    [report] = _welded_reports(host)
    assert host.profile.sensors[report.index].id == "cool_lower_back_current"
    assert report.value == pytest.approx(COOLER_A, abs=0.04)
    _latched(host)
