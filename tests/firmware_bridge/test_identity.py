"""The actuator map: what a board built for a profile reports, and every difference named."""

from __future__ import annotations

import dataclasses

import pytest

from massagectl.firmware_bridge.device_protocol import DeviceProtocol
from massagectl.firmware_bridge.host_protocol import HostProtocol
from massagectl.firmware_bridge.identity import (
    IdentityCollector,
    device_profile_map,
    map_differences,
)
from massagectl.firmware_bridge.wire import PROTOCOL_VERSION
from massagectl.routines.device import SensorKind, Unit, Zone, load_device
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
    assert differences[0].startswith("device: a 'pad' board")
    old = dataclasses.replace(pad_board, info=dataclasses.replace(pad_board.info,
                                                                  protocol_version=1))
    assert map_differences(old, load_device("pad")) == [
        f"protocol version: device speaks 1, this host speaks {PROTOCOL_VERSION}"
    ]


def test_a_pad_where_the_chair_was_expected_is_named_with_both_channel_lists():
    chair, pad = load_device("chair"), load_device("pad")
    differences = map_differences(device_profile_map(pad), chair)
    assert differences == [
        "device: a 'pad' board (firmware sim-1) with 5 channels and 7 sensors; "
        "profile 'chair' has 12 channels and 18 sensors",
        "device channels: " + ", ".join(c.id for c in pad.channels),
        "profile 'chair' channels: " + ", ".join(c.id for c in chair.channels),
    ]
    # The link joins them into one error line: short enough to read, not unrelated pairs.
    assert len("; ".join(differences)) < 500
    assert not any("device says kind" in line for line in differences)


def test_an_unknown_board_with_other_counts_lists_what_each_output_is():
    pad = load_device("pad")
    board = device_profile_map(pad)
    extra = dataclasses.replace(board.channels[-1], index=len(board.channels))
    bigger = dataclasses.replace(
        board, channels=(*board.channels, extra),
        info=dataclasses.replace(board.info, channel_count=len(board.channels) + 1))
    differences = map_differences(bigger, pad)
    assert differences[0].startswith("device: a board no built-in profile describes")
    assert differences[1] == ("device channels: position, knead, tap, heat lower_back, "
                              "cool lower_back, cool lower_back")
    assert differences[2] == "profile 'pad' channels: " + ", ".join(c.id for c in pad.channels)


def test_a_board_with_other_sensor_counts_shows_both_sensor_lists():
    pad = load_device("pad")
    board = device_profile_map(pad)
    fewer = dataclasses.replace(board, sensors=board.sensors[:-1], info=dataclasses.replace(
        board.info, sensor_count=len(board.sensors) - 1))
    differences = map_differences(fewer, pad)
    assert len(differences) == 3
    assert "with 5 channels and 6 sensors; profile 'pad' has 5 channels and 7 sensors" in (
        differences[0])
    assert differences[2] == "profile 'pad' sensors: " + ", ".join(s.id for s in pad.sensors)


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
