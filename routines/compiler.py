"""The routine compiler: `compile_routine(routine, device, user, intensity) -> Plan`.

Steps are placed on the time axis (routines.timeline), each becomes channel patterns
(routines.techniques), patterns become segments channel by channel (routines.patterns), and
the segments are cut to each channel's `max_duration_s` and packed into the plan's table with
numpy. The same inputs always give the same plan.

Conventions the rest of the system relies on:
- The plan lasts `warm_up_s + steps + cool_down_s`. The warm-up ramps every channel the first
  steps use from rest to where they start; the cool-down ramps every level channel back to its
  safe default and parks the roller, so a finished plan leaves nothing on.
- Position-like channels (roller position, width) start parked at the low end of their range
  (`Channel.min`), where chairs home the carriage at power-on, and end there.
- Between steps a channel moves at a comfortable transition rate (routines.patterns) within the
  step that needs it, so transitions never change the plan's duration.
- Values are computed at intensity 5 and scaled to the chosen level at the end (routines.intensity).
"""

from __future__ import annotations

import numpy as np

from massagectl.routines.device import Channel, DeviceProfile
from massagectl.routines.errors import InputError
from massagectl.routines.intensity import LEVELS, intensity_factor, scale_table
from massagectl.routines.patterns import ChannelWriter, Hold, Pattern, Sequence
from massagectl.routines.plan import SEGMENT_DTYPE, Plan, freeze_table
from massagectl.routines.routine import Routine
from massagectl.routines.routine_check import raise_if_unfit
from massagectl.routines.techniques import Techniques
from massagectl.routines.timeline import Timeline, place
from massagectl.routines.user import DEFAULT_USER, UserProfile

__all__ = ["compile", "compile_routine", "intensity_factor", "resolve_intensity", "rest_value"]

ROW_DTYPE = np.dtype(
    [
        ("start_ms", np.int64),
        ("duration_ms", np.int64),
        ("start_value", np.float64),
        ("end_value", np.float64),
        ("amplitude", np.float64),
        ("period_ms", np.int64),
        ("step", np.int32),
    ]
)


def resolve_intensity(routine: Routine, user: UserProfile, intensity: int | None) -> int:
    """The level to compile at: given, else the routine's, else the user's preference."""
    level = intensity if intensity is not None else routine.intensity
    level = level if level is not None else user.preferred_intensity
    if level not in LEVELS:
        raise InputError(f"intensity {level!r} is not a level", "use 1, 2, 3, 4 or 5")
    return level


def compile_routine(
    routine: Routine,
    device: DeviceProfile,
    user: UserProfile | None = None,
    intensity: int | None = None,
) -> Plan:
    """Compile `routine` for `device` and `user` (default occupant if None) at `intensity`
    (None: the routine's, else the user's preferred level). Raises InvalidFileError naming the
    file and field when the routine does not fit the device."""
    user = user or DEFAULT_USER
    level = resolve_intensity(routine, user, intensity)
    raise_if_unfit(routine, device, user)
    timeline = place(routine)
    techniques = Techniques(device, user)
    writers = _write(timeline, techniques, device)
    table = np.concatenate([_segments(writer) for writer in writers]) if writers else (
        np.empty(0, dtype=SEGMENT_DTYPE))
    plan = Plan(
        routine=routine.name,
        device=device,
        duration_s=timeline.duration_ms / 1000,
        table=freeze_table(scale_table(table, device, level)),
        steps=timeline.labels,
        notes=tuple(techniques.notes),
        intensity=level,
    )
    broken = plan.problems()
    if broken:
        # Every path above is meant to keep these invariants; a failure is a compiler bug.
        raise RuntimeError(f"compiler produced an invalid plan for {routine.name!r}: {broken}")
    return plan


compile = compile_routine


def rest_value(channel: Channel) -> float:
    """Where a channel is before and after a plan: its safe default, or parked at its min."""
    return channel.min if channel.safe_default is None else channel.safe_default


def _write(timeline: Timeline, techniques: Techniques, device: DeviceProfile):
    writers: dict[str, ChannelWriter] = {}
    cache: dict[int, dict[str, Pattern]] = {}
    warm_up_ms = timeline.warm_up_ms

    def writer_for(channel_id: str, entry: float, start_ms: int) -> ChannelWriter:
        writer = writers.get(channel_id)
        if writer is None:
            channel = device.channel(channel_id)
            writer = ChannelWriter(channel, device.channel_index(channel_id), rest_value(channel))
            writers[channel_id] = writer
            if start_ms == warm_up_ms > 0:
                # Spread the move over the whole warm-up, or go at the transition rate if the
                # warm-up is too short for that.
                rate = min(writer.rate_per_s, abs(entry - writer.value) / (warm_up_ms / 1000))
                writer.approach(entry, warm_up_ms, timeline.warm_up_index, rate or None)
                writer.hold(warm_up_ms, timeline.warm_up_index)
        return writer

    for placed in timeline.placed:
        if placed.index not in cache:
            label = timeline.labels[placed.index]
            patterns = techniques.patterns(placed.step, label)
            # Position-like channels first, so a sequence can wait for the roller to arrive.
            order = sorted(patterns, key=lambda c: not device.channel(c).kind.holds_position)
            cache[placed.index] = {channel_id: patterns[channel_id] for channel_id in order}
        arrived: dict[str, int] = {}
        for channel_id, pattern in cache[placed.index].items():
            writer = writer_for(channel_id, pattern.entry, placed.start_ms)
            writer.write(_idle(writer), placed.start_ms, -1)
            wait_ms = 0
            if isinstance(pattern, Sequence) and pattern.wait_for is not None:
                wait_ms = arrived.get(pattern.wait_for, 0)
            arrived[channel_id] = writer.write(pattern, placed.end_ms, placed.index, wait_ms)

    for writer in writers.values():
        writer.write(_idle(writer), timeline.steps_end_ms, -1)
        if writer.channel.safe_default is None:
            writer.approach(writer.channel.min, timeline.duration_ms, timeline.cool_down_index)
            writer.hold(timeline.duration_ms, timeline.cool_down_index)
        else:
            writer.ramp_over(writer.channel.safe_default, timeline.duration_ms,
                             timeline.cool_down_index)
    return sorted(writers.values(), key=lambda writer: writer.index)


def _idle(writer: ChannelWriter) -> Hold:
    """What a channel does while no step drives it: rest, or stay put if position-like."""
    safe = writer.channel.safe_default
    return Hold(writer.value if safe is None else safe)


def _segments(writer: ChannelWriter) -> np.ndarray:
    """One channel's rows as plan segments, cut to its max_duration (oscillations at whole
    periods, which the writer keeps within max_duration)."""
    rows = np.array(writer.rows, dtype=ROW_DTYPE)
    limit_ms = writer.max_duration_ms
    oscillating = rows["amplitude"] != 0
    whole_periods = limit_ms // np.maximum(rows["period_ms"], 1)
    piece_ms = np.where(oscillating, whole_periods * rows["period_ms"], limit_ms)
    counts = -(-rows["duration_ms"] // piece_ms)
    source = np.repeat(np.arange(len(rows)), counts)
    first_piece = np.repeat(np.cumsum(counts) - counts, counts)
    offset_ms = (np.arange(len(source)) - first_piece) * piece_ms[source]
    picked = rows[source]
    length_ms = np.minimum(piece_ms[source], picked["duration_ms"] - offset_ms)
    span = picked["end_value"] - picked["start_value"]
    table = np.empty(len(source), dtype=SEGMENT_DTYPE)
    table["channel"] = writer.index
    table["start_s"] = (picked["start_ms"] + offset_ms) / 1000
    table["duration_s"] = length_ms / 1000
    table["start_value"] = picked["start_value"] + span * (offset_ms / picked["duration_ms"])
    reaches_end = offset_ms + length_ms == picked["duration_ms"]
    table["end_value"] = np.where(
        reaches_end,
        picked["end_value"],
        picked["start_value"] + span * ((offset_ms + length_ms) / picked["duration_ms"]),
    )
    table["amplitude"] = picked["amplitude"]
    table["period_s"] = picked["period_ms"] / 1000
    table["step"] = picked["step"]
    return table
