"""Segments as the board sees them: the plan formula in ticks, and the checks a board applies.

The board does not trust the host: a segment that names an unknown channel, lasts longer than
the channel's `max_duration_s`, has a non-finite number, or could leave the channel's hard range
is refused (FaultReport BAD_SEGMENT) and changes nothing.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from massagectl.firmware_bridge.messages import ScheduleSegment
from massagectl.firmware_bridge.wire import CLOCK_MODULUS
from massagectl.routines.device import Channel

# Values travel the wire in a compact number format (fixed point or float), so a value the host
# computed at a limit may arrive a rounding step beyond it. A millionth of the channel's span
# admits that and nothing a host could mean. Accepted values are clamped into the range anyway.
RANGE_TOLERANCE_FRACTION = 1e-6


def segment_value(
    start: float,
    duration: float,
    start_value: float,
    end_value: float,
    amplitude: float,
    period: float,
    t: float,
) -> float:
    """`routines.plan.segment_values` for one point, in any time unit (the board uses ticks).

    The same operations in the same order as the vectorised formula, without numpy's per-call
    cost: the board evaluates every channel at every step.
    """
    tau = t - start
    fraction = tau / duration if duration > 0 else 0.0
    centre = start_value + (end_value - start_value) * fraction
    if period > 0:
        return centre + amplitude * math.sin(2 * math.pi * tau / period)
    return centre


@dataclass(slots=True)
class QueuedSegment:
    """A segment accepted by the board, with the row that records it in the trace."""

    planned_ticks: int  # unwrapped start clock the host asked for
    duration_ticks: int
    start_value: float
    end_value: float
    amplitude: float
    period_ticks: int
    record: int
    constant: float | None = None  # the value of a hold (no ramp, no swing): no formula needed

    def __post_init__(self) -> None:
        if self.amplitude == 0.0 and self.start_value == self.end_value:
            self.constant = self.start_value

    def value_at(self, executed_ticks: int, ticks: int) -> float:
        return segment_value(
            executed_ticks, self.duration_ticks, self.start_value, self.end_value,
            self.amplitude, self.period_ticks, ticks,
        )


@dataclass(frozen=True, slots=True)
class SegmentProblem:
    """Why a segment was refused, and the offending number (a value in the channel's unit, or a
    duration in seconds; -1 where there is none)."""

    reason: str
    value: float


def segment_problem(
    message: ScheduleSegment,
    channels: tuple[Channel, ...],
    max_duration_ticks: list[int],
    clock_hz: int,
    *,
    check_range: bool = True,
    check_duration: bool = True,
) -> SegmentProblem | None:
    """Why the board refuses this segment, or None when it accepts it. The range and duration
    checks can be left out only to simulate firmware bugs (sim.faults)."""
    if (not isinstance(message.channel, numbers.Integral)
            or not 0 <= message.channel < len(channels)):
        return SegmentProblem(f"unknown channel index {message.channel!r}", -1.0)
    channel = channels[message.channel]
    clock = message.start_clock
    if not isinstance(clock, numbers.Integral) or not 0 <= clock < CLOCK_MODULUS:
        return SegmentProblem(f"{channel.id}: start clock {clock!r} is not a 32-bit count", -1.0)
    duration = message.duration_ticks
    if not isinstance(duration, numbers.Integral) or duration <= 0:
        return SegmentProblem(f"{channel.id}: duration {duration!r} ticks is not positive", -1.0)
    if check_duration and duration > max_duration_ticks[message.channel]:
        return SegmentProblem(
            f"{channel.id}: duration {duration} ticks exceeds max_duration "
            f"{max_duration_ticks[message.channel]} ticks",
            duration / clock_hz,
        )
    numbers_sent = (message.start_value, message.end_value, message.amplitude)
    if not all(isinstance(x, numbers.Real) and math.isfinite(x) for x in numbers_sent):
        return SegmentProblem(f"{channel.id}: non-finite value in {numbers_sent}", -1.0)
    period = message.period_ticks
    if not isinstance(period, numbers.Integral) or period < 0:
        return SegmentProblem(f"{channel.id}: period {period!r} ticks is negative", -1.0)
    if message.amplitude != 0 and period == 0:
        return SegmentProblem(f"{channel.id}: an oscillation needs a positive period", 0.0)
    swing = abs(message.amplitude)
    lowest = min(message.start_value, message.end_value) - swing
    highest = max(message.start_value, message.end_value) + swing
    tolerance = RANGE_TOLERANCE_FRACTION * (channel.max - channel.min)
    if check_range and (lowest < channel.min - tolerance or highest > channel.max + tolerance):
        return SegmentProblem(
            f"{channel.id}: values {lowest:g}..{highest:g} leave the hard range "
            f"{channel.min:g}..{channel.max:g} {channel.unit}",
            float(highest if highest > channel.max + tolerance else lowest),
        )
    return None
