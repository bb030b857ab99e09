"""Property: whatever segments a session tries to send, those the supervisor passes stay within
every limit, judged independently on the board's timeline (the board holds a value after a
segment for up to max_duration_s, and a drive stays where it stopped). Values, slopes and dose
come from the oracle's own restatement of the segment formula and the burn dose, never from the
safety layer's helpers."""

from __future__ import annotations

import asyncio
import math

import numpy as np
from hypothesis import event, given, settings
from hypothesis import strategies as st

from massagectl.routines.device import ChannelKind
from massagectl.routines.plan import Segment
from massagectl.safety.body_map import BACK_ZONE_BANDS_PCT
from massagectl.safety.supervisor import SegmentRefusedError
from massagectl.sim.virtual_loop import run_virtual
from tests.safety.oracle import burn_fraction_per_s, segment_value, true_extremes, true_slopes
from tests.safety.plans import CHAIR, lane, plan_of
from tests.safety.rig import Rig
from tests.safety.strategies import users

START_POSITION_MM = 200.0
SAMPLE_HZ = 20.0
POLL_S = 1.0  # how often the supervisor's timer runs in this test


@st.composite
def attempts(draw):
    """Segments in start order over random channels: gaps, jumps, swings, out-of-range values."""
    ends = {}
    found = []
    for _ in range(draw(st.integers(1, 14))):
        channel = CHAIR.channels[draw(st.integers(0, len(CHAIR.channels) - 1))]
        start_s = ends.get(channel.id, 0.0) + draw(st.sampled_from([0.0, 0.0, 0.0, 0.5, 3.0]))
        duration_s = draw(st.floats(0.2, channel.max_duration_s * 1.1))
        span = channel.max - channel.min
        wide = st.floats(channel.min - 0.1 * span, channel.max + 0.1 * span)
        lower_half = st.floats(channel.min, channel.min + 0.5 * span)
        start = draw(wide)
        end = draw(st.one_of(lower_half, lower_half, wide))
        if draw(st.integers(0, 2)) > 0:  # mostly continue from where the channel is
            same = [s for s in found if s.channel == channel.id]
            start = same[-1].end_value if same else (
                channel.safe_default if channel.safe_default is not None else start)
        amplitude = period_s = 0.0
        if draw(st.integers(0, 3)) == 0:
            period_s = draw(st.floats(0.5, 10))
            amplitude = draw(st.floats(0, 0.2 * span))
        found.append(Segment(channel.id, start_s, duration_s, start, end, amplitude, period_s))
        ends[channel.id] = start_s + duration_s
    return sorted(found, key=lambda s: s.start_s)


def sent_through(user, segments):
    """Send `segments` as one session would (clearing and restarting after each refusal), then
    let the board run them: returns the limits, the passed segments per session, and when the
    supervisor's timer stopped the last session (inf: it ran to the end)."""
    plan = plan_of(CHAIR, lane("knead_speed", (1, 0, 0)))
    user = user.model_copy(update={"medical_clearance": True})

    async def scenario():
        rig = Rig(plan, user)
        # Only the segment checks and the timer's checks are under test here.
        rig.supervisor.watchers = [() for _ in rig.supervisor.watchers]
        rig.supervisor.stale_after_s = math.inf
        rig.report({"roller_position": START_POSITION_MM})
        sessions: list[list[Segment]] = []
        for segment in segments:
            if rig.supervisor.latch.latched:
                await rig.stopped()
                rig.supervisor.clear_faults("test")
            if not rig.supervisor.session_active:
                sessions.append([])  # a new session: the board starts from its safe state
                rig.supervisor.begin_session(rig.admitted, rig.now)
            try:
                rig.supervisor.check_segment(segment)
            except SegmentRefusedError:
                continue
            sessions[-1].append(segment)
        stopped_s = math.inf
        if rig.supervisor.session_active:
            end_s = max([s.end_s for s in sessions[-1]], default=0.0) + 400.0
            while rig.now < end_s and not rig.stop_seen():
                await asyncio.sleep(POLL_S)
                rig.supervisor.poll(rig.now)
            if rig.stop_seen():
                stopped_s = (await rig.stopped()).requested_s
        else:  # a refusal stopped it, as soon as it was sent
            stopped_s = (await rig.stopped()).requested_s
        return rig.admitted.limits, sessions, stopped_s

    return run_virtual(scenario())


@settings(max_examples=max(100, settings.default.max_examples))
@given(users(CHAIR), attempts())
def test_no_segment_the_supervisor_passes_exceeds_a_limit(user, segments):
    limits, sessions, stopped_s = sent_through(user, segments)
    event(f"passed {sum(len(s) for s in sessions)} of {len(segments)}")
    event("stopped by the timer" if stopped_s < math.inf else "ran to the end")
    for session in sessions:
        check_segments(session, limits)
    # Earlier sessions were stopped (and their queues cleared) when a segment was refused;
    # the last one runs until the supervisor's timer stops it, if it does.
    if sessions:
        check_timeline(sessions[-1], limits, stopped_s)


def check_segments(segments: list[Segment], limits) -> None:
    by_channel: dict[str, list[Segment]] = {}
    for segment in segments:
        by_channel.setdefault(segment.channel, []).append(segment)
    for channel_id, lane_segments in by_channel.items():
        channel_limits = limits.channel(channel_id)
        channel = channel_limits.channel
        previous = None
        for segment in lane_segments:
            args = _shape(segment)
            assert segment.duration_s <= channel.max_duration_s + 1e-6
            lowest, highest = true_extremes(*args)
            assert highest <= channel_limits.cap.value + 1e-6
            assert lowest >= channel_limits.floor.value - 1e-6
            slopes = true_slopes(*args)
            assert np.abs(slopes).max() <= channel_limits.max_rate_per_s * (1 + 1e-6)
            if channel_limits.max_rise_per_s is not None:
                assert slopes.max() <= channel_limits.max_rise_per_s * (1 + 1e-6)
                held = channel.safe_default
                if previous is not None and segment.start_s - previous.end_s < \
                        channel.max_duration_s:
                    held = _end_value(previous)
                assert segment.start_value - held <= 1e-6
            if previous is not None:
                assert segment.start_s >= previous.end_s - 1e-6
            previous = segment


def _shape(segment: Segment) -> tuple[float, float, float, float, float]:
    return (segment.start_value, segment.end_value, segment.amplitude, segment.duration_s,
            segment.period_s)


def _end_value(segment: Segment) -> float:
    return float(segment_value(*_shape(segment), segment.duration_s))


def _board_values(lane_segments, channel, times: np.ndarray, stopped_s: float) -> np.ndarray:
    fallback = START_POSITION_MM if channel.safe_default is None else channel.safe_default
    values = np.full(times.shape, fallback)
    for segment in lane_segments:
        inside = (times >= segment.start_s) & (times < segment.end_s)
        values[inside] = segment_value(*_shape(segment), times[inside] - segment.start_s)
        hold_until = math.inf if channel.safe_default is None else \
            segment.end_s + channel.max_duration_s
        after = (times >= segment.end_s) & (times < hold_until)
        values[after] = _end_value(segment)
    if channel.safe_default is not None:
        values[times >= stopped_s] = channel.safe_default  # STOP: outputs safe
    return values


def check_timeline(segments: list[Segment], limits, stopped_s: float) -> None:
    """Sample what the board outputs, holding last values, until the supervisor stopped it."""
    by_channel: dict[str, list[Segment]] = {}
    for segment in segments:
        if segment.start_s < stopped_s:
            by_channel.setdefault(segment.channel, []).append(segment)
    if not by_channel:
        return
    end_s = max(s.end_s for lane_segments in by_channel.values() for s in lane_segments)
    times = np.arange(0.0, end_s + 1.0, 1.0 / SAMPLE_HZ)
    position = _board_values(by_channel.get("roller_position", []),
                             CHAIR.channel("roller_position"), times, stopped_s)
    user = limits.user
    pct = (user.shoulder_height_mm - (CHAIR.track.base_above_seat_mm + position)) \
        / user.back_length_mm * 100
    for channel_id, lane_segments in by_channel.items():
        channel_limits = limits.channel(channel_id)
        channel = channel_limits.channel
        values = _board_values(lane_segments, channel, times, stopped_s)
        if channel_limits.is_roller_work:
            covered = np.zeros(times.shape, dtype=bool)
            for s in lane_segments:
                covered |= (times >= s.start_s) & (times < s.end_s)
            for zone, top, bottom in BACK_ZONE_BANDS_PCT:
                cap = channel_limits.zone_caps.get(zone)
                on_zone = covered & (pct >= top) & (pct < bottom)
                if cap is not None and np.any(on_zone):
                    assert values[on_zone].max() <= cap.value + 1e-6, (channel_id, zone)
        if channel_limits.hold is not None:
            hold = channel_limits.hold
            above = values > hold.occlusion_kpa
            run = gap = longest = 0
            for flag in above:
                if flag:
                    run, gap = (run + gap + 1 if run else 1), 0
                else:
                    gap += 1
                if gap * (1 / SAMPLE_HZ) >= hold.release_s:
                    run = gap = 0
                longest = max(longest, run)
            assert (longest - 1) / SAMPLE_HZ <= hold.max_hold_s + POLL_S + 1 / SAMPLE_HZ
        if channel.kind is ChannelKind.HEAT:
            heat = channel_limits.heat
            on = values > channel.safe_default
            assert on.sum() / SAMPLE_HZ <= heat.max_on_s + POLL_S + 2 / SAMPLE_HZ
            # Dose at each segment's highest set point while it runs, at the held value after.
            peaks = np.full(times.shape, channel.safe_default, dtype=float)
            for s in lane_segments:
                peaks[(times >= s.start_s) & (times < s.end_s)] = true_extremes(*_shape(s))[1]
            peaks = np.where(on, np.maximum(peaks, values), channel.safe_default)
            rates = np.array([burn_fraction_per_s(v + heat.overshoot_c) if v > 0 else 0.0
                              for v in peaks])
            slack = rates.max(initial=0.0) * (POLL_S + 2 * len(lane_segments) / SAMPLE_HZ)
            assert rates.sum() / SAMPLE_HZ <= heat.dose_budget + slack
