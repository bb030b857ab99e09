"""Hypothesis strategies: plans shaped like the compiler's (continuous, rate-limited, starting and
ending at the safe default) with values that may go anywhere up to beyond the hard limits, and
user profiles with random precautions, limits, injuries and body maps."""

from __future__ import annotations

import itertools
import math

from hypothesis import strategies as st

from massagectl.routines.device import ChannelKind, DeviceProfile, Zone
from massagectl.routines.plan import Plan, Segment, segment_table, split_segment
from massagectl.routines.user import Precaution, UserLimits, UserProfile
from tests.safety.plans import CHAIR, PAD, STEPS

DEVICES = st.sampled_from([CHAIR, PAD])


@st.composite
def users(draw, device: DeviceProfile | None = None) -> UserProfile:
    airbag_zones = sorted({c.zone for c in CHAIR.channels
                           if c.kind is ChannelKind.AIRBAG})
    pressure = draw(st.dictionaries(st.sampled_from(airbag_zones),
                                    st.floats(0, 25, allow_nan=False), max_size=3))
    limits = UserLimits(
        pressure_kpa=pressure,
        temperature_c=draw(st.none() | st.floats(30, 45)),
        depth_mm=draw(st.none() | st.floats(0, 40)),
        session_min=draw(st.sampled_from([None, 10, 15, 20, 30])),
    )
    return UserProfile(
        shoulder_height_mm=draw(st.floats(400, 800)),
        back_length_mm=draw(st.floats(250, 650)),
        precautions=draw(st.frozensets(st.sampled_from(list(Precaution)))),
        injury_zones=draw(st.frozensets(st.sampled_from(list(Zone)), max_size=2)),
        medical_clearance=draw(st.booleans()),
        on_precaution=draw(st.sampled_from(["refuse", "adapt"])),
        limits=limits,
    )


@st.composite
def lanes(draw, device: DeviceProfile, channel_id: str, duration_s: float) -> list[Segment]:
    """One channel's segments over [0, duration_s]: ramps between knots, some oscillating."""
    channel = device.channel(channel_id)
    count = draw(st.integers(1, 6))
    cuts = sorted(draw(st.lists(st.floats(0.05, 0.95), min_size=count - 1, max_size=count - 1)))
    bounds = [0.0] + [c * duration_s for c in cuts] + [duration_s]
    # Values mostly within the hard range; one in ten may reach 30 % beyond it, so the hard-range
    # checks (and the plan's own invariants) get exercised too.
    reach = 0.3 * (channel.max - channel.min)
    value = channel.safe_default if channel.safe_default is not None else draw(
        st.floats(channel.min, channel.max))
    segments = []
    for index, (start_s, end_s) in enumerate(itertools.pairwise(bounds)):
        span_s = end_s - start_s
        if span_s <= 1e-3:
            continue
        last = index == len(bounds) - 2
        step = draw(st.integers(-1, len(STEPS) - 1))
        if last and channel.safe_default is not None:
            target = channel.safe_default
        elif draw(st.integers(0, 9)) == 0:
            target = draw(st.floats(channel.min - reach, channel.max + reach))
        else:
            target = draw(st.floats(channel.min, channel.max))
        # Mostly within the rate the hardware follows, sometimes not.
        if draw(st.integers(0, 9)) > 0:
            room = channel.max_rate_per_s * span_s * 0.9
            target = min(max(target, value - room), value + room)
        amplitude = period_s = 0.0
        if draw(st.integers(0, 3)) == 0 and span_s >= 1.0:
            period_s = span_s / draw(st.integers(1, 8))
            slope = abs(target - value) / span_s
            spare = max(channel.max_rate_per_s * 0.95 - slope, 0.0)
            headroom = min(min(value, target) - channel.min, channel.max - max(value, target))
            largest = min(spare * period_s / (2 * math.pi), max(headroom, 0.0))
            amplitude = draw(st.floats(0, largest)) if largest > 0 else 0.0
            if amplitude == 0.0:
                period_s = 0.0
        segments.append(Segment(channel_id, start_s, span_s, value, target, amplitude,
                                period_s, step))
        value = target
    pieces = []
    for segment in segments:
        try:
            pieces += split_segment(segment, channel.max_duration_s)
        except ValueError:  # a period longer than the channel's max duration: drop the swing
            plain = Segment(segment.channel, segment.start_s, segment.duration_s,
                            segment.start_value, segment.end_value, step=segment.step)
            pieces += split_segment(plain, channel.max_duration_s)
    return pieces


@st.composite
def plans(draw, device: DeviceProfile | None = None) -> Plan:
    device = device or draw(DEVICES)
    duration_s = draw(st.floats(20, 400))
    ids = [c.id for c in device.channels]
    chosen = draw(st.sets(st.sampled_from(ids), min_size=1, max_size=6))
    if draw(st.booleans()):
        chosen.add("roller_position")
    segments = [s for channel_id in sorted(chosen)
                for s in draw(lanes(device, channel_id, duration_s))]
    return Plan("random", device, duration_s, segment_table(segments, device), STEPS)
