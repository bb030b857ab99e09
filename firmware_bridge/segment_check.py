"""The last check before the wire: a segment outside its channel's hard limits is never sent.

The safety layer admits plans and supervises segments; this check does not trust it. It compares
in wire units (thousandths), so what passes is exactly what the board receives.
"""

from __future__ import annotations

from massagectl.firmware_bridge.identity import DeviceIdentity
from massagectl.firmware_bridge.messages import ScheduleSegment
from massagectl.firmware_bridge.wire_types import from_counts, to_counts
from massagectl.routines.device import DeviceProfile


def segment_problems(
    segment: ScheduleSegment, identity: DeviceIdentity, profile: DeviceProfile
) -> list[str]:
    """Why `segment` must not be sent to this board; empty when it may."""
    if not 0 <= segment.channel < len(identity.channels):
        return [f"segment for channel {segment.channel}: the board has channels "
                f"0..{len(identity.channels) - 1}"]
    info = identity.channels[segment.channel]
    channel = profile.channels[segment.channel]
    label = f"segment on channel {segment.channel} '{channel.id}'"
    unit = channel.unit
    try:
        start = to_counts(segment.start_value, "start_value")
        end = to_counts(segment.end_value, "end_value")
        swing = abs(to_counts(segment.amplitude, "amplitude"))
    except ValueError as error:
        return [f"{label}: {error}"]
    problems = []
    lowest, highest = min(start, end) - swing, max(start, end) + swing
    if lowest < to_counts(info.min, "min"):
        problems.append(f"{label} reaches {from_counts(lowest):g} {unit}, "
                        f"below the hard limit of {info.min:g} {unit}")
    if highest > to_counts(info.max, "max"):
        problems.append(f"{label} reaches {from_counts(highest):g} {unit}, "
                        f"above the hard limit of {info.max:g} {unit}")
    if segment.duration_ticks < 1:
        problems.append(f"{label} has no duration")
    elif segment.duration_ticks > info.max_duration_ticks:
        problems.append(f"{label} lasts {segment.duration_ticks} ticks, longer than the "
                        f"channel's max duration of {info.max_duration_ticks} ticks")
    if swing and segment.period_ticks < 1:
        problems.append(f"{label} oscillates with no period")
    if segment.start_clock < 0 or segment.period_ticks < 0:
        problems.append(f"{label} has a negative clock or period")
    return problems
