"""Build plans for safety tests the way the compiler's output looks: Segments into a table."""

from __future__ import annotations

import itertools

from massagectl.routines.device import DeviceProfile, load_device
from massagectl.routines.plan import Plan, Segment, segment_table, split_segment
from massagectl.routines.user import UserProfile
from massagectl.safety.limits import SafetyLimits

CHAIR = load_device("chair")
PAD = load_device("pad")
# An owner who raised the heat cap to the 45 C contact limit (set points to 44 C), and a person
# who wants all of it: heat near the hard limit, where the dose budget ends it.
HOT_CHAIR = SafetyLimits(heat={"cap_c": 45})
HOT_USER = UserProfile(name="hot", limits={"temperature_c": 45})

STEPS = ("steps[0] (warm up)", "steps[1] (work)", "steps[2] (cool down)")


def lane(channel: str, *pieces: tuple) -> list[Segment]:
    """Contiguous segments from 0 s; a piece is (duration_s, start, end[, amp, period][, step])."""
    segments = []
    start_s = 0.0
    for piece in pieces:
        duration_s, start, end, *rest = piece
        amplitude, period_s, step = 0.0, 0.0, 1
        if len(rest) == 1:
            step = rest[0]
        elif len(rest) >= 2:
            amplitude, period_s = rest[0], rest[1]
            step = rest[2] if len(rest) > 2 else 1
        segments.append(Segment(channel, start_s, duration_s, start, end, amplitude, period_s,
                                step))
        start_s += duration_s
    return segments


def plan_of(device: DeviceProfile, *lanes: list[Segment], routine: str = "test",
            duration_s: float | None = None) -> Plan:
    segments = []
    for segments_of_lane in lanes:
        for segment in segments_of_lane:
            channel = device.channel(segment.channel)
            segments += split_segment(segment, channel.max_duration_s)
    if duration_s is None:
        duration_s = max(s.end_s for s in segments)
    return Plan(routine, device, duration_s, segment_table(segments, device), STEPS)


def squeeze(channel: str, peak: float, hold_s: float, ramp_s: float = 5.0,
            total_s: float | None = None) -> list[Segment]:
    """Inflate (step 0), hold (step 1), release (step 2), then rest at 0 to `total_s`."""
    pieces = [(ramp_s, 0.0, peak, 0), (hold_s, peak, peak, 1), (ramp_s, peak, 0.0, 2)]
    used_s = 2 * ramp_s + hold_s
    if total_s is not None and total_s > used_s:
        pieces.append((total_s - used_s, 0.0, 0.0, 2))
    return lane(channel, *pieces)


def travel(points_mm: list[float], leg_s: float, start_hold_s: float = 0.0) -> list[Segment]:
    """The carriage moving through `points_mm`, `leg_s` per leg."""
    pieces = []
    if start_hold_s:
        pieces.append((start_hold_s, points_mm[0], points_mm[0], 1))
    pieces += [(leg_s, a, b, 1) for a, b in itertools.pairwise(points_mm)]
    return lane("roller_position", *pieces)
