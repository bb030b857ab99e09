"""No timing of the host's segments makes a board output rise faster than its rise rate
(hardware.md 4.10): a late segment, and the segment after one that came too late to run or was
refused, rise from where the output is at the channel's rise rate, never in one step; and at
the lower rate SetRiseLimit set, when the host admitted less than the board's own."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from massagectl.firmware_bridge.clock_wrap import wrap_clock
from massagectl.firmware_bridge.messages import (
    Heartbeat,
    ScheduleSegment,
    SetChannelMask,
    SetIntensity,
    SetRiseLimit,
)
from massagectl.routines.device import load_device
from massagectl.sim.trace import SegmentOutcome
from tests.sim.helpers import Host

DEPTH_RISE_MM_PER_S = 15.0  # chair.toml: roller_depth's max_rate_per_s, its rise rate
SAMPLE_S = 0.05  # the board's telemetry period: outputs are recomputed at least this often
CHAIR = load_device("chair")
# The channels that press on the body, whose rise the safety layer limits (airbags, depth).
PRESSING = ["roller_depth", "airbag_calves", "airbag_shoulders"]


def _depth_every_sample(host: Host, seconds: float) -> list[float]:
    found = []
    for _ in range(round(seconds / SAMPLE_S)):
        host.send(Heartbeat())
        host.wait(SAMPLE_S)
        found.append(host.board.output("roller_depth"))
    return found


def test_a_late_ramp_rises_from_where_the_output_was_at_exactly_the_rise_rate():
    """The edge: planned 0 to 10 mm over 2 s (5 mm/s), arriving 1 s late into a retracted
    head. The plan is at 5 mm by then; the head starts from 0 mm and rises at 15 mm/s, the rise
    rate and not a hair more, meeting the plan 0.5 s later at 7.5 mm."""
    host = Host()
    host.wait(1.0)
    host.schedule("roller_depth", -1.0, 2.0, 0.0, 10.0)
    assert host.board.trace.segments[0]["late"]
    assert host.board.output("roller_depth") == 0.0
    depths = [0.0, *_depth_every_sample(host, 0.95)]
    rises_per_s = np.diff(depths) / SAMPLE_S
    assert rises_per_s.max() == pytest.approx(DEPTH_RISE_MM_PER_S, abs=1e-9)
    assert depths[10] == pytest.approx(7.5, abs=1e-9)  # caught up: from here the plan leads
    assert rises_per_s[10:] == pytest.approx(5.0, abs=1e-9)
    assert depths[-1] == pytest.approx(9.75, abs=1e-9)
    host.wait(0.05)
    assert host.board.output("roller_depth") == 0.0  # and it ends when the plan says


def test_a_board_without_the_slew_jumps_to_the_plans_value_a_switchable_firmware_fault():
    host = Host()
    host.board.faults.no_slew = True
    host.wait(1.0)
    host.schedule("roller_depth", -1.0, 2.0, 0.0, 10.0)
    assert host.board.output("roller_depth") == pytest.approx(5.0)
    host.stop()


def test_the_segment_after_one_that_came_too_late_to_run_rises_from_safe():
    """The plan says 0 to 6 mm, then hold 6 mm. The ramp arrives after its end (it changes
    nothing); the hold arrives in time, but the head is still retracted: it rises at 15 mm/s
    instead of starting at 6 mm."""
    host = Host()
    host.wait(3.0)
    host.schedule("roller_depth", -2.0, 1.0, 0.0, 6.0)
    host.schedule("roller_depth", 0.5, 2.0, 6.0)
    assert host.board.output("roller_depth") == 0.0
    depths = _depth_every_sample(host, 1.0)
    assert max(np.diff([0.0, *depths])) / SAMPLE_S <= DEPTH_RISE_MM_PER_S + 1e-9
    assert depths[9] == 0.0  # at the hold's start, 0.5 s on: still retracted
    assert depths[17] == pytest.approx(6.0)  # 0.4 s later, at 15 mm/s
    host.stop()


def test_the_segment_after_a_refused_one_rises_from_safe():
    host = Host()
    index = host.profile.channel_index("roller_depth")
    hz = host.board.clock_hz
    host.send(ScheduleSegment(index, wrap_clock(host.ticks_in(0.1)), hz, 0.0, 6.0,
                              amplitude=1.0, period_ticks=0))  # refused: a swing needs a period
    host.schedule("roller_depth", 1.1, 2.0, 6.0)
    assert host.board.trace.segments[0]["outcome"] == SegmentOutcome.BAD_SEGMENT
    depths = _depth_every_sample(host, 2.0)
    assert max(np.diff([0.0, *depths])) / SAMPLE_S <= DEPTH_RISE_MM_PER_S + 1e-9
    assert depths[-1] == pytest.approx(6.0)
    host.stop()


def test_a_late_segment_over_a_running_one_rises_from_the_running_value():
    host = Host()
    host.schedule("roller_depth", 0.0, 10.0, 4.0)
    host.wait(1.0)  # the hold of 4 mm runs (it rose from 0 at once: the test sends it so)
    host.schedule("roller_depth", -0.5, 5.0, 10.0)
    assert host.board.output("roller_depth") == pytest.approx(4.0)
    depths = _depth_every_sample(host, 0.5)
    assert depths[0] == pytest.approx(4.0 + DEPTH_RISE_MM_PER_S * SAMPLE_S)
    assert depths[-1] == pytest.approx(10.0)  # 6 mm at 15 mm/s: 0.4 s
    host.stop()


# --- any timing --------------------------------------------------------------------------------


@st.composite
def admitted_plan(draw, channel_id: str, rise_per_s: float | None = None):
    """Back-to-back segments from the safe default, each rising no faster than `rise_per_s`
    (the channel's rise rate by default) and falling no faster than its rate: what admission
    lets through."""
    channel = CHAIR.channel(channel_id)
    rise = channel.rise_per_s if rise_per_s is None else rise_per_s
    high = min(channel.max, 12.0)
    value = channel.safe_default
    segments = []
    for _ in range(draw(st.integers(1, 8))):
        duration_s = draw(st.floats(0.1, 3.0))
        steepest = rise * duration_s
        end = draw(st.floats(max(channel.min, value - channel.max_rate_per_s * duration_s),
                             min(high, value + steepest)))
        amplitude = period_s = 0.0
        if draw(st.booleans()):  # a swing whose peak slope, with the ramp's, stays within rise
            slope = abs(end - value) / duration_s
            room = min(value, end) - channel.min, high - max(value, end)
            period_s = draw(st.floats(0.5, 3.0))
            amplitude = draw(st.floats(0.0, max(0.0, min(
                *room, (rise - slope) * period_s / (2 * math.pi)))))
        segments.append((duration_s, value, end, amplitude, period_s))
        value = end
    return segments


@st.composite
def timed_host(draw):
    """A channel, its plan, and when each segment reaches the board: up to 2 s early (in time)
    or up to 3 s late, in the order the host sends them; some refused; intensity and the
    channel's mask changing in between; and half the time an admitted rise below the board's
    own, which SetRiseLimit tells it first."""
    channel_id = draw(st.sampled_from(PRESSING))
    own = CHAIR.channel(channel_id).rise_per_s
    rise_per_s = draw(st.one_of(st.just(own), st.floats(0.05, 1.0).map(lambda f: own * f)))
    plan = draw(admitted_plan(channel_id, rise_per_s))
    leads_s = draw(st.lists(st.floats(-3.0, 2.0), min_size=len(plan), max_size=len(plan)))
    refused = draw(st.lists(st.booleans(), min_size=len(plan), max_size=len(plan)))
    changes = draw(st.lists(st.tuples(
        st.floats(0.0, 12.0),
        st.one_of(st.builds(SetIntensity, st.floats(0.1, 1.0)), st.booleans())),
        max_size=6))
    return channel_id, rise_per_s, plan, leads_s, refused, changes


def _output_timeline(host: Host, channel_id: str, events) -> tuple[np.ndarray, np.ndarray]:
    """Run the events (host seconds, message) in order; the channel's output at every moment
    it changes, in board ticks: at each sample (where ramps move on) and at each message that
    moved it. The output holds its value in between, so a rise is what it climbed since the
    previous of these moments."""
    ticks, values = [], []
    for at_s, message in events:
        if at_s > host.now_s:
            host.wait(at_s - host.now_s)
        before = host.board.output(channel_id)
        host.send(message)
        if host.board.output(channel_id) != before:
            ticks.append((host.board.ticks, 1, len(ticks)))
            values.append(host.board.output(channel_id))
    host.wait(4.0)
    trace = host.board.trace
    sampled = [(int(t), 0, i) for i, t in enumerate(trace.ticks)]
    order = sorted(sampled + ticks)
    outputs = trace.output(channel_id)
    merged = [outputs[i] if kind == 0 else values[i] for _, kind, i in order]
    return np.array([t for t, _, _ in order]), np.array(merged, dtype=float)


@given(timed_host())
def test_no_timing_of_segments_makes_an_output_rise_faster_than_its_rise_rate(timed):
    channel_id, rise_per_s, plan, leads_s, refused, changes = timed
    host = Host()
    index = host.profile.channel_index(channel_id)
    if rise_per_s < host.profile.channel(channel_id).rise_per_s:
        host.send(SetRiseLimit(index, rise_per_s))
    hz = host.board.clock_hz
    origin_s = 1.0  # plan time 0, in host seconds
    events = []
    start_s, sent_s = origin_s, 0.0
    for (duration_s, start, end, amplitude, period_s), lead_s, bad in zip(plan, leads_s,
                                                                          refused):
        sent_s = max(sent_s, start_s - lead_s)  # in start order, as the link sends them
        segment = ScheduleSegment(
            index, wrap_clock(round(start_s * hz)), round(duration_s * hz), start, end,
            amplitude, 0 if bad else round(period_s * hz) if amplitude else 0)
        if bad:
            segment = ScheduleSegment(index, segment.start_clock, segment.duration_ticks,
                                      start, end, 1.0, 0)  # a swing without a period
        events.append((sent_s, segment))
        start_s += duration_s
    for at_s, change in changes:
        if isinstance(change, bool):
            change = SetChannelMask(0xFFFF if change else ~(1 << index) & 0xFFFF)
        events.append((origin_s + at_s, change))
    events.sort(key=lambda event: event[0])  # stable: segments stay in start order
    ticks, outputs = _output_timeline(host, channel_id, events)
    rises = np.diff(outputs)
    allowed = rise_per_s * np.diff(ticks) / hz + 1e-9
    worst = int(np.argmax(rises - allowed))
    assert rises[worst] <= allowed[worst], (
        f"{channel_id} rose {rises[worst]:.3f} in {np.diff(ticks)[worst] / hz:.3f} s "
        f"(rise rate {rise_per_s:g}/s) at board time {ticks[worst] / hz:.3f} s")
    host.stop()
