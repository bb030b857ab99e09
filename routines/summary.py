"""A plan in a few lines a person reads: duration, segments and value range per channel, notes."""

from __future__ import annotations

import numpy as np

from massagectl.routines.plan import Plan


def format_duration(seconds: float) -> str:
    """`20:00` for 1200 s; hours when needed (`8:00:00`)."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def channel_ranges(plan: Plan) -> dict[str, tuple[int, float, float]]:
    """Per used channel: segment count, lowest and highest value reached (conservative bounds)."""
    ranges = {}
    for channel_id in plan.used_channels():
        rows = plan.channel_table(channel_id)
        swing = np.abs(rows["amplitude"])
        low = float(np.min(np.minimum(rows["start_value"], rows["end_value"]) - swing))
        high = float(np.max(np.maximum(rows["start_value"], rows["end_value"]) + swing))
        ranges[channel_id] = (len(rows), low, high)
    return ranges


def plan_summary(plan: Plan, user_name: str = "default") -> str:
    """The text `massagectl compile` prints; golden tests keep one per built-in routine."""
    lines = [
        f"routine {plan.routine} on device {plan.device.name} for user {user_name} "
        f"at intensity {plan.intensity}",
        f"duration {format_duration(plan.duration_s)} ({plan.duration_s:g} s), "
        f"{len(plan)} segments, {len(plan.steps)} steps",
        f"{'channel':<18} {'unit':<10} {'segments':>8} {'lowest':>8} {'peak':>8}",
    ]
    for channel_id, (count, low, high) in channel_ranges(plan).items():
        unit = plan.device.channel(channel_id).unit.value
        lines.append(f"{channel_id:<18} {unit:<10} {count:>8} {low:>8.2f} {high:>8.2f}")
    used = set(plan.used_channels())
    untouched = [c.id for c in plan.device.channels if c.id not in used]
    if untouched:
        lines.append(f"at rest throughout: {', '.join(untouched)}")
    for note in plan.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines) + "\n"
