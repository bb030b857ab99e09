"""The board's queue: segments run on its own clock, by the plan's formula, within its limits."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from massagectl.firmware_bridge.clock_wrap import unwrap_clock, wrap_clock
from massagectl.firmware_bridge.messages import (
    FaultCode,
    FaultReport,
    QueryStatus,
    StatusReport,
)
from massagectl.firmware_bridge.wire import CLOCK_MODULUS
from massagectl.routines.plan import segment_values
from massagectl.sim.board import QUEUE_CAPACITY
from massagectl.sim.segments import segment_value
from massagectl.sim.trace import SegmentOutcome
from tests.sim.helpers import Host


def test_segments_run_on_time_and_follow_the_plan_formula():
    host = Host()
    # A ramp, then an oscillation around a ramping centre, back to back on one airbag.
    host.schedule("airbag_calves", 0.2, 3.0, 0.0, 12.0)
    host.schedule("airbag_calves", 3.2, 4.0, 12.0, 8.0, amplitude=3.0, period_s=2.0)
    host.wait(8.0)
    trace = host.board.trace
    segments = trace.segments
    assert list(segments["outcome"]) == [SegmentOutcome.EXECUTED] * 2
    assert list(segments["executed_ticks"]) == list(segments["planned_ticks"])
    assert not segments["late"].any()
    assert np.all(trace.timing_errors_s() == 0.0)

    ticks = trace.ticks
    commanded = trace.output("airbag_calves")
    for row in segments:
        start, duration = row["executed_ticks"], row["duration_ticks"]
        inside = (ticks >= start) & (ticks < start + duration)
        expected = segment_values(
            float(start), float(duration), row["start_value"], row["end_value"],
            row["amplitude"], float(row["period_ticks"]), ticks[inside].astype(float),
        )
        assert inside.sum() > 40
        np.testing.assert_allclose(commanded[inside], expected, rtol=0, atol=1e-9)
    host.stop()


@given(
    start=st.integers(0, 10**9),
    duration=st.integers(1, 10**9),
    values=st.tuples(*[st.floats(-100, 100)] * 3),
    period=st.integers(0, 10**8),
    offset=st.floats(0, 1),
)
def test_scalar_formula_matches_the_plan_formula(start, duration, values, period, offset):
    start_value, end_value, amplitude = values
    t = start + offset * duration
    expected = segment_values(start, duration, start_value, end_value, amplitude, period, t)
    got = segment_value(start, duration, start_value, end_value, amplitude, period, t)
    assert got == pytest.approx(float(expected), rel=1e-12, abs=1e-12)


def test_late_segment_starts_on_arrival_on_the_plans_timeline_and_is_counted():
    host = Host()
    host.wait(1.0)
    host.messages()
    host.schedule("knead_speed", -0.3, 2.0, 20.0, 40.0)
    trace = host.board.trace
    [row] = trace.segments
    assert row["late"]
    assert row["executed_ticks"] == row["arrival_ticks"]
    assert row["executed_ticks"] - row["planned_ticks"] == pytest.approx(300_000, abs=1)
    # Started at once, 0.3 s into the ramp (the part already past is skipped), but from where
    # the output was: it rises at 60 cycles/min per second until it meets the plan, which has
    # moved on at 10 per second from 23: 23 / (60 - 10) = 0.46 s later. The board's 20 Hz
    # samples see 27.0 at 0.45 s (still catching up) and the plan's 28.0 at 0.5 s.
    assert host.board.output("knead_speed") == 0.0
    host.wait(0.45)
    assert host.board.output("knead_speed") == pytest.approx(27.0, abs=1e-9)
    host.wait(0.05)
    assert host.board.output("knead_speed") == pytest.approx(28.0, abs=1e-9)
    [fault] = host.messages(FaultReport)
    assert fault.code is FaultCode.LATE_SEGMENT
    assert fault.index == host.profile.channel_index("knead_speed")
    assert fault.value == pytest.approx(0.3, abs=1e-6)  # seconds late
    host.send(QueryStatus())
    assert host.last_status().late_segments == 1
    assert trace.timing_errors_s()[0] == pytest.approx(0.3, abs=1e-6)
    host.wait(1.8 - 0.5)
    assert host.board.output("knead_speed") == 0.0  # it ends on the plan's timeline too
    host.stop()


def test_a_segment_late_by_more_than_its_length_changes_nothing():
    host = Host()
    host.wait(5.0)
    host.schedule("tap_rate", -3.0, 2.0, 8.0)
    assert host.board.trace.segments[0]["late"]
    assert host.board.output("tap_rate") == 0.0
    assert host.board.queue_free == host.board.queue_capacity


def test_schedule_survives_the_32_bit_clock_wrap():
    start = CLOCK_MODULUS - 1_500_000  # the clock wraps 1.5 s after power-on
    host = Host(clock_start_ticks=start)
    host.schedule("tap_rate", 1.0, 2.0, 6.0)
    segment = host.board.trace.segments[0]
    assert wrap_clock(int(segment["planned_ticks"])) < CLOCK_MODULUS
    host.wait(2.0)
    assert host.board.clock_now < 1_000_000  # wrapped
    assert host.board.output("tap_rate") == 6.0
    assert host.board.trace.timing_errors_s()[0] == 0.0
    host.stop()


def test_unwrap_picks_the_nearest_count():
    near = 5 * CLOCK_MODULUS + 10
    assert unwrap_clock(wrap_clock(near + 1000), near) == near + 1000
    assert unwrap_clock(wrap_clock(near - 1000), near) == near - 1000


def test_a_channel_returns_to_safe_when_its_last_segment_ends():
    host = Host()
    channel = host.profile.channel("airbag_seat")
    host.schedule("airbag_seat", 0.0, channel.max_duration_s, 10.0, 15.0)  # the longest allowed
    host.wait(channel.max_duration_s - 0.01)
    assert host.board.output("airbag_seat") == pytest.approx(15.0, abs=0.01)
    host.wait(0.02)
    assert host.board.output("airbag_seat") == channel.safe_default
    assert host.board.outputs_safe()
    host.wait(2.0)
    assert host.sensor("pressure_seat") < 1.0  # vented


def test_back_to_back_segments_leave_no_gap():
    host = Host()
    host.schedule("airbag_seat", 0.0, 2.0, 0.0, 10.0)  # at 5 kPa/s, the seat's rise rate
    host.schedule("airbag_seat", 2.0, 1.0, 10.0)
    host.schedule("airbag_seat", 3.0, 1.0, 8.0)  # a fall acts at once
    host.wait(3.0 - 1e-6)
    assert host.board.output("airbag_seat") == 10.0
    host.wait(2e-6)
    assert host.board.output("airbag_seat") == 8.0  # never the safe 0 in between
    host.stop()


def test_position_drive_stops_where_it_is_when_no_segment_covers_it():
    host = Host()
    host.schedule("roller_position", 0.0, 2.0, 0.0, 200.0)
    host.wait(1.0)
    assert host.board.output("roller_position") == pytest.approx(100.0)
    host.wait(1.5)
    assert host.board.output("roller_position") is None
    assert host.board.outputs_safe()
    position = host.actual("roller_position")
    host.wait(1.0)
    assert host.actual("roller_position") == position  # stopped, not drifting


@pytest.mark.parametrize(
    "change, why",
    [
        (dict(duration_ticks=121_000_001), "longer than max_duration"),
        (dict(start_value=25.5), "above the hard range"),
        (dict(end_value=-0.5), "below the hard range"),
        (dict(amplitude=6.0), "oscillation leaves the range"),
        (dict(amplitude=1.0, period_ticks=0), "oscillation without period"),
        (dict(start_value=math.nan), "not a number"),
        (dict(end_value=math.inf), "infinite"),
        (dict(duration_ticks=0), "no duration"),
        (dict(channel=99), "unknown channel"),
        (dict(start_clock=-1), "not a 32-bit clock"),
    ],
)
def test_bad_segments_are_refused_and_change_nothing(change, why):
    host = Host()
    good = host.segment("airbag_calves", 0.5, 2.0, 20.0)
    bad = dataclasses.replace(good, **change)
    host.messages()
    host.send(bad)
    [fault] = host.messages(FaultReport)
    assert fault.code is FaultCode.BAD_SEGMENT, why
    assert host.board.trace.segments[-1]["outcome"] == SegmentOutcome.BAD_SEGMENT
    assert host.board.queue_free == QUEUE_CAPACITY
    host.wait(3.0)
    assert host.board.outputs_safe()
    assert host.sensor("pressure_calves") < 0.5


def test_values_within_wire_rounding_of_a_limit_are_clamped_to_it():
    host = Host()
    host.schedule("heat_calves", 0.0, 10.0, 45.00001)
    host.wait(9.5)  # from off at the set point's rise rate, 5 C/s
    assert host.board.output("heat_calves") == 45.0
    host.stop()


def test_a_full_queue_refuses_the_next_segment():
    host = Host(queue_capacity=4)
    for k in range(4):
        host.schedule("tap_rate", 1.0 + k, 1.0, 2.0)
    host.messages()
    host.schedule("tap_rate", 5.0, 1.0, 2.0)
    [fault] = host.messages(FaultReport)
    assert fault.code is FaultCode.QUEUE_FULL
    assert host.board.queue_free == 0
    host.wait(2.5)  # one has ended; the running one still counts
    assert host.board.queue_free == 1
    host.stop()
    status = host.messages(StatusReport)[-1]
    assert status.queue_free == 4
