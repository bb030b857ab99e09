"""Whatever a host sends, the board never commands a value outside a hard range, a stopped board
stays safe until it is reset, and every report it sends fits the wire."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from massagectl.firmware_bridge.clock_wrap import wrap_clock
from massagectl.firmware_bridge.codec import encode_message
from massagectl.firmware_bridge.messages import (
    DeviceState,
    Heartbeat,
    Identify,
    QueryStatus,
    RemoteKey,
    Reset,
    ScheduleSegment,
    SetChannelMask,
    SetIntensity,
    ShowText,
    Stop,
)
from massagectl.routines.device import load_device
from massagectl.sim.board import SimBoard
from massagectl.sim.faults import FAULT_CHANNEL_KINDS, FaultKind

PROFILES = {name: load_device(name) for name in ("chair", "pad")}
HZ = 1_000_000
HEARTBEAT_S = 0.2
SILENT_WAIT_S = 2.5  # waits this long or longer: the host falls silent, the watchdog trips


@st.composite
def segments(draw, profile, hostile: bool):
    """Segments a host might send: plausible ones, or (hostile) ones that break every limit."""
    if hostile:
        index = draw(st.integers(-1, len(profile.channels)))
    else:
        index = draw(st.integers(0, len(profile.channels) - 1))
    channel = profile.channels[min(max(index, 0), len(profile.channels) - 1)]
    span = channel.max - channel.min
    value = st.floats(channel.min, channel.max)
    amplitude = st.just(0.0)
    longest = int(channel.max_duration_s * HZ)
    if hostile:
        value = st.one_of(
            st.floats(channel.min - 0.2 * span, channel.max + 0.2 * span),
            st.sampled_from([channel.min, channel.max, math.nan, math.inf]),
        )
        amplitude = st.floats(-span / 2, span / 2)
        longest = int(longest * 1.2)
    start_value, end_value = draw(value), draw(value)
    if not hostile and draw(st.booleans()):
        room = min(start_value, end_value) - channel.min, channel.max - max(start_value, end_value)
        amplitude = st.floats(-min(room), min(room))
    return (
        draw(st.floats(-2.0, 3.0)),  # start, seconds from now
        ScheduleSegment(
            channel=index,
            start_clock=0,  # filled in when sent
            duration_ticks=draw(st.integers(0 if hostile else 1, longest)),
            start_value=start_value,
            end_value=end_value,
            amplitude=draw(amplitude),
            period_ticks=draw(st.integers(0 if hostile else HZ // 10, 5 * HZ)),
        ),
    )


def device_faults(profile) -> list[tuple[FaultKind, str | None]]:
    """Every fault with a target it can happen to on this device."""
    found: list[tuple[FaultKind, str | None]] = []
    for kind in FaultKind:
        if kind.target is None:
            found.append((kind, None))
        elif kind.target == "sensor":
            found.extend((kind, sensor.id) for sensor in profile.sensors)
        else:
            kinds = FAULT_CHANNEL_KINDS[kind]
            found.extend((kind, c.id) for c in profile.channels if c.kind in kinds)
    return found


def actions(profile):
    return st.lists(
        st.one_of(
            segments(profile, hostile=False),
            segments(profile, hostile=False),
            segments(profile, hostile=True),
            st.sampled_from([Stop(), Reset(), Heartbeat(), QueryStatus(), Identify()]),
            st.builds(SetIntensity, st.one_of(st.floats(-1.0, 2.0), st.just(math.nan))),
            st.builds(SetChannelMask, st.integers(0, 2**32 - 1)),
            st.builds(ShowText, st.integers(-1, 5), st.text(max_size=30)),
            st.sampled_from(list(RemoteKey)),
            st.tuples(st.sampled_from(device_faults(profile)), st.booleans()),
            st.one_of(st.floats(0.0, 3.0), st.sampled_from([0.5, 1.5, 3.0])),  # time passes
        ),
        max_size=40,
    )


def assert_within_limits(board: SimBoard) -> None:
    for channel, value in zip(board.profile.channels, board.outputs, strict=True):
        if value is None:
            assert channel.kind.holds_position, channel.id
        else:
            assert channel.min <= value <= channel.max, (channel.id, value)
    for index, drive in board.plant.drives.items():
        channel = board.profile.channels[index]
        assert channel.min <= drive.position_mm <= channel.max, channel.id
    if board.state is DeviceState.SHUTDOWN:
        assert board.outputs_safe()


@given(data=st.data(), name=st.sampled_from(sorted(PROFILES)))
def test_no_host_message_sequence_drives_an_output_out_of_range(data, name):
    profile = PROFILES[name]
    board = SimBoard(profile, seed=data.draw(st.integers(0, 100)))
    now_s = 0.0
    for action in data.draw(actions(profile)):
        if isinstance(action, float):
            # Time passes; the host keeps the watchdog fed, except in the longest waits.
            end_s = now_s + action
            while action < SILENT_WAIT_S and now_s + HEARTBEAT_S < end_s:
                now_s += HEARTBEAT_S
                board.handle(Heartbeat(), now_s)
            now_s = end_s
            board.advance(now_s)
        elif isinstance(action, RemoteKey):
            board.remote.press(action, now_s)
        elif isinstance(action, tuple) and isinstance(action[0], tuple):
            (kind, target), on = action
            switch = board.inject_fault if on else board.clear_fault
            switch(kind, target, now_s=now_s)
        elif isinstance(action, tuple):
            start_s, segment = action
            start_clock = wrap_clock(board.clock.ticks_at(now_s + start_s))
            board.handle(dataclasses.replace(segment, start_clock=start_clock), now_s)
        else:
            board.handle(action, now_s)
            if isinstance(action, Stop) and not (board.faults.unplugged
                                                 or board.faults.deaf_to_stop):
                assert board.outputs_safe()  # at once, not at the next step
        assert_within_limits(board)
    outputs = board.trace.outputs
    for column, channel in enumerate(profile.channels):
        recorded = outputs[:, column]
        recorded = recorded[~np.isnan(recorded)]
        assert np.all((recorded >= channel.min) & (recorded <= channel.max)), channel.id
    board.clear_fault(FaultKind.UNPLUG, now_s=now_s)
    board.clear_fault(FaultKind.DEAF_TO_STOP, now_s=now_s)  # firmware that obeys STOP again
    board.handle(Stop(), now_s)
    assert board.outputs_safe()
    for message in board.take_messages():
        encode_message(message)  # whatever happened, the wire can carry every report


@pytest.mark.soak
@settings(max_examples=5000)
@given(data=st.data(), name=st.sampled_from(sorted(PROFILES)))
def test_soak_no_host_message_sequence_drives_an_output_out_of_range(data, name):
    test_no_host_message_sequence_drives_an_output_out_of_range.hypothesis.inner_test(data, name)
