"""The actuator map: what a board built for a profile reports, and every difference named."""

from __future__ import annotations

import dataclasses

import pytest

from firmware_bridge.device_protocol import DeviceProtocol
from firmware_bridge.host_protocol import HostProtocol
from firmware_bridge.identity import (
    IdentityCollector,
    device_profile_map,
    map_differences,
)
from routines.device import SensorKind, Unit, Zone, load_device
from tests.firmware_bridge.wire_helpers import events_of


@pytest.mark.parametrize("name", ["chair", "pad"])
def test_a_boards_map_survives_the_wire_and_matches_its_profile(name):
    profile = load_device(name)
    identity = device_profile_map(profile)
    host = HostProtocol()
    host.receive_data(DeviceProtocol().send_all(identity.messages()), now_s=0.0)
    collector = IdentityCollector()
    for message in events_of(host):
        collector.add(message)
    assert collector.identity() == identity
    assert map_differences(identity, profile) == []


def test_each_difference_is_named_with_both_values():
    chair = load_device("chair")
    identity = device_profile_map(chair)
    channels = list(identity.channels)
    channels[3] = dataclasses.replace(channels[3], max=80.0)
    channels[8] = dataclasses.replace(channels[8], zone=Zone.FEET, safe_default=2.0)
    sensors = list(identity.sensors)
    sensors[6] = dataclasses.replace(sensors[6], unit=Unit.CYCLES_PER_MIN)
    changed = dataclasses.replace(identity, channels=tuple(channels), sensors=tuple(sensors))
    assert map_differences(changed, chair) == [
        "channel 3 'knead_speed': device says max 80 cycles/min, profile says 60",
        "channel 8 'airbag_calves': device says zone feet, profile says calves",
        "channel 8 'airbag_calves': device says safe default 2 kPa, profile says 0",
        "sensor 6 'tap_rate': device says unit cycles/min, profile says Hz",
    ]


def test_another_device_and_another_protocol_version_are_refused():
    pad_board = device_profile_map(load_device("pad"))
    differences = map_differences(pad_board, load_device("chair"))
    assert differences[0] == "channel count: device says 4, profile 'chair' says 12"
    assert "channel 1 'roller_width': device says kind knead, profile says width" in differences
    old = dataclasses.replace(pad_board, info=dataclasses.replace(pad_board.info,
                                                                  protocol_version=0))
    assert map_differences(old, load_device("pad")) == [
        "protocol version: device speaks 0, this host speaks 1"
    ]


def test_max_duration_is_compared_at_the_boards_own_clock():
    pad = load_device("pad")
    slow_clock = device_profile_map(pad, clock_hz=32_768)
    assert map_differences(slow_clock, pad) == []
    info = dataclasses.replace(slow_clock.info, clock_hz=1_000_000)
    assert any("max duration" in d for d in map_differences(
        dataclasses.replace(slow_clock, info=info), pad))


def test_collector_waits_for_every_part_and_accepts_repeats():
    identity = device_profile_map(load_device("pad"))
    collector = IdentityCollector()
    for message in identity.messages()[:-1]:
        collector.add(message)
        collector.add(message)
    assert collector.identity() is None
    collector.add(identity.messages()[-1])
    assert collector.identity() == identity
    assert identity.sensors[0].kind is SensorKind.POSITION
