"""Every way the board stops: Stop, the watchdog, the remote's STOP key; and what ends a stop."""

from __future__ import annotations

import pytest

from massagectl.firmware_bridge.messages import (
    DeviceState,
    Heartbeat,
    KeyPress,
    QueryStatus,
    RemoteKey,
    Reset,
    SetChannelMask,
    SetIntensity,
    ShowText,
    StatusReport,
    StopCause,
)
from massagectl.routines.device import load_device
from massagectl.sim.board import WATCHDOG_S, SimBoard
from massagectl.sim.remote import DISPLAY_COLUMNS
from massagectl.sim.trace import SegmentOutcome
from tests.sim.helpers import Host


def running_chair() -> Host:
    host = Host()
    host.schedule("airbag_shoulders", 0.0, 10.0, 18.0)
    host.schedule("heat_lower_back", 0.0, 60.0, 40.0)
    host.schedule("knead_speed", 0.0, 10.0, 40.0)
    host.schedule("roller_depth", 0.0, 10.0, 10.0)
    host.schedule("roller_position", 0.0, 10.0, 100.0, 400.0)
    for k in range(5):  # queued well ahead
        host.schedule("airbag_calves", 2.0 + k, 1.0, 10.0)
    host.wait(1.0)
    assert not host.board.outputs_safe()
    return host


def test_power_on_is_ready_with_every_output_safe():
    host = Host()
    [status] = [m for m in host.board.trace.events if m.kind == "state"]
    assert status.detail == {"state": "READY", "cause": "POWER_ON"}
    first, *_later = [m for m in host.messages() if isinstance(m, StatusReport)]
    assert first.stop_cause is StopCause.POWER_ON and first.outputs_safe
    assert first.state is DeviceState.READY
    host.send(QueryStatus())
    assert host.last_status().stop_cause is StopCause.POWER_ON  # until a host stops or resets
    host.send(Reset())
    assert host.last_status().stop_cause is StopCause.NONE
    assert host.last_status().state is DeviceState.READY
    assert host.board.outputs_safe()


def test_stop_clears_the_queue_and_makes_outputs_safe_at_once():
    host = running_chair()
    host.messages()
    host.stop()
    # Same instant: no time has passed, and the board has already said so.
    assert host.board.outputs_safe()
    [status] = host.messages(StatusReport)
    assert status.state is DeviceState.SHUTDOWN
    assert status.stop_cause is StopCause.HOST_STOP
    assert status.outputs_safe
    assert status.queue_free == host.board.queue_capacity
    outcomes = host.board.trace.segments["outcome"]
    assert (outcomes == SegmentOutcome.CLEARED).sum() == 5
    host.wait(6.0)
    assert host.board.outputs_safe()  # nothing that was queued ever runs
    assert host.sensor("pressure_calves") < 0.3
    assert host.sensor("pressure_shoulders") < 0.3  # vented
    assert host.sensor("roller_depth") < 0.5  # retracted


def test_a_repeated_stop_is_confirmed_again_and_keeps_the_first_cause():
    host = running_chair()
    host.board.remote.press(RemoteKey.STOP, host.now_s)
    host.messages()
    host.stop()
    [status] = host.messages(StatusReport)
    assert status.stop_cause is StopCause.REMOTE_STOP_KEY


def test_segments_are_refused_until_reset():
    host = running_chair()
    host.stop()
    host.schedule("knead_speed", 0.1, 1.0, 30.0)
    assert host.board.trace.segments[-1]["outcome"] == SegmentOutcome.SHUTDOWN
    host.wait(1.0)
    assert host.board.outputs_safe()
    host.send(Reset())
    assert host.board.state is DeviceState.READY
    assert host.board.stop_cause is StopCause.NONE
    assert host.board.outputs_safe()  # Reset starts nothing by itself
    host.messages()
    host.send(Reset())  # in READY: only a report
    assert [type(m) for m in host.messages()] == [StatusReport]
    host.schedule("knead_speed", 0.1, 1.0, 30.0)
    host.wait(0.7)  # from 0 at 60 cycles/min per second
    assert host.board.output("knead_speed") == 30.0
    host.stop()


def test_watchdog_shuts_down_after_half_a_second_of_host_silence():
    host = running_chair()
    host.send(Heartbeat())
    last_frame_s = host.now_s
    host.wait(WATCHDOG_S - 0.01, heartbeat_s=None)
    assert host.board.state is DeviceState.READY
    host.wait(0.02, heartbeat_s=None)
    assert host.board.state is DeviceState.SHUTDOWN
    assert host.board.stop_cause is StopCause.WATCHDOG
    assert host.board.outputs_safe()
    event = host.board.trace.events_of("state")[-1]
    assert event.time_s - last_frame_s == pytest.approx(WATCHDOG_S, abs=1e-6)


def test_a_board_nobody_has_talked_to_does_not_trip_its_watchdog():
    board = SimBoard(load_device("pad"))
    board.advance(5.0)
    assert board.state is DeviceState.READY


def test_intensity_scales_toward_the_safe_default_and_never_above_full():
    host = Host()
    host.schedule("airbag_arms", 0.0, 10.0, 20.0)
    host.schedule("knead_speed", 0.0, 10.0, 40.0)  # not intensity-scaled
    host.schedule("roller_depth", 0.0, 10.0, 10.0)
    host.wait(4.5)  # each has risen from safe at its rise rate (the arms' bag at 5 kPa/s)
    host.send(SetIntensity(0.5))
    assert host.board.output("airbag_arms") == 10.0
    assert host.board.output("roller_depth") == 5.0
    assert host.board.output("knead_speed") == 40.0
    host.send(SetIntensity(3.0))
    host.wait(3.0)  # a rise is slewed (tests/sim/test_latch_and_slew.py)
    assert host.board.output("airbag_arms") == 20.0
    host.send(SetIntensity(float("nan")))
    assert host.board.output("airbag_arms") == 0.0
    host.stop()


def test_masked_channels_go_safe_at_once_and_resume_their_schedule():
    host = Host()
    host.schedule("tap_rate", 0.0, 10.0, 2.0, 12.0)
    host.wait(1.0)
    index = host.profile.channel_index("tap_rate")
    host.send(SetChannelMask(~(1 << index) & 0xFFFFFFFF))
    assert host.board.output("tap_rate") == 0.0
    host.wait(4.0)
    host.send(SetChannelMask(0xFFFFFFFF))
    assert host.board.output("tap_rate") == 0.0  # rising again from safe at 24 Hz/s
    host.wait(0.5)
    assert host.board.output("tap_rate") == pytest.approx(7.5)  # where the schedule is now
    host.stop()


def test_remote_stop_key_stops_locally_first_then_reports_the_key():
    host = running_chair()
    host.messages()
    host.board.remote.press(RemoteKey.STOP, host.now_s)
    messages = host.messages()
    assert isinstance(messages[0], StatusReport) and messages[0].outputs_safe
    assert messages[0].stop_cause is StopCause.REMOTE_STOP_KEY
    assert messages[-1] == KeyPress(host.board.clock_now, RemoteKey.STOP)
    assert host.board.outputs_safe()


def test_other_keys_are_only_reported():
    host = running_chair()
    host.messages()
    host.board.remote.press(RemoteKey.INTENSITY_DOWN, host.now_s)
    assert host.messages() == [KeyPress(host.board.clock_now, RemoteKey.INTENSITY_DOWN)]
    assert host.board.state is DeviceState.READY
    host.stop()


def test_display_shows_what_the_host_sends():
    host = Host()
    host.send(ShowText(0, "Deep back  12:30"))
    host.send(ShowText(1, "x" * 30))
    host.send(ShowText(7, "no such row"))
    rows = host.board.remote.rows
    assert rows[0] == "Deep back  12:30"
    assert rows[1] == "x" * DISPLAY_COLUMNS
    assert "no such row" not in host.board.remote.text
