"""What a step asks of one channel (a pattern), and writing it as segments in time.

A `ChannelWriter` keeps one channel's time and value. Writing a pattern first moves the channel
from where it is to where the pattern starts (a transition ramp at a comfortable rate, never
above the channel's `max_rate_per_s`), then fills the rest of the span with the pattern, so the
channel's segments always meet in value and cover time without gaps. Times are integer plan
milliseconds; values are the channel's unit at intensity 5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from massagectl.routines.device import Channel, ChannelKind

# How fast a channel moves between steps, per second: gentle enough not to jolt the occupant,
# capped by each channel's own max_rate_per_s. Steps set their own pace inside (press ramps,
# stroke speed); these apply only to getting there.
TRANSITION_RATE_PER_S = {
    ChannelKind.POSITION: 30.0,  # mm/s, the carriage speed of commercial chairs (30-60 mm/s)
    ChannelKind.WIDTH: 20.0,  # mm/s
    ChannelKind.DEPTH: 4.0,  # mm/s: heads sinking in faster than this feel like a jab
    ChannelKind.KNEAD: 15.0,  # cycles/min per s: spin up over a second or two
    ChannelKind.TAP: 4.0,  # Hz/s
    ChannelKind.AIRBAG: 2.0,  # kPa/s: no sudden squeeze
    ChannelKind.HEAT: 2.0,  # C/s of set point; the heater itself follows far slower
    ChannelKind.COOL: 2.0,  # C/s
}
# Values closer than this are the same value (float rounding), not a move.
SAME_VALUE = 1e-9


@dataclass(frozen=True, slots=True)
class Hold:
    """Stay at a value."""

    value: float

    @property
    def entry(self) -> float:
        return self.value


@dataclass(frozen=True, slots=True)
class Sweep:
    """Oscillate around `centre` with whole periods of at least `period_ms` (shorter spans
    hold the centre)."""

    centre: float
    amplitude: float
    period_ms: int

    @property
    def entry(self) -> float:
        return self.centre


@dataclass(frozen=True, slots=True)
class Passes:
    """Travel back and forth between `first` and `second`, `pass_ms` per pass."""

    first: float
    second: float
    pass_ms: int

    @property
    def entry(self) -> float:
        return self.first


@dataclass(frozen=True, slots=True)
class Sequence:
    """Ramps through `keyframes` ((duration_ms, value) each) from `entry`. The keyframe at
    `elastic` (a hold) gives up the time the transition and `wait_for` take, so what follows it
    (a release) still fits the step. `wait_for` names a channel to arrive first."""

    entry: float
    keyframes: tuple[tuple[int, float], ...]
    elastic: int
    wait_for: str | None = None


Pattern = Hold | Sweep | Passes | Sequence
# (start_ms, duration_ms, start_value, end_value, amplitude, period_ms, step) per segment.
Row = tuple[int, int, float, float, float, int, int]


class ChannelWriter:
    """Writes one channel's segments in time order."""

    def __init__(self, channel: Channel, index: int, value: float) -> None:
        self.channel = channel
        self.index = index
        self.time_ms = 0
        self.value = value
        self.rows: list[Row] = []
        self.rate_per_s = min(TRANSITION_RATE_PER_S[channel.kind], channel.max_rate_per_s)
        self.max_duration_ms = math.floor(channel.max_duration_s * 1000)

    def emit(self, duration_ms: int, end_value: float, step: int, amplitude=0.0, period_ms=0):
        self.rows.append(
            (self.time_ms, duration_ms, self.value, end_value, amplitude, period_ms, step)
        )
        self.time_ms += duration_ms
        self.value = end_value

    def approach(self, target: float, until_ms: int, step: int, rate_per_s=None) -> None:
        """Ramp toward `target` at `rate_per_s` (the transition rate), stopping at `until_ms`."""
        delta = target - self.value
        if abs(delta) <= SAME_VALUE:
            self.value = target
            return
        rate = rate_per_s or self.rate_per_s
        # Rounded up to whole ms (never faster than `rate`), forgiving float noise of a ramp
        # meant to fill a span exactly.
        needed_ms = max(1, math.ceil(abs(delta) / rate * 1000 - 1e-6))
        available_ms = until_ms - self.time_ms
        if available_ms <= 0:
            return
        if needed_ms <= available_ms:
            self.emit(needed_ms, target, step)
        else:
            self.emit(available_ms, self.value + delta * available_ms / needed_ms, step)

    def hold(self, until_ms: int, step: int) -> None:
        if until_ms > self.time_ms:
            self.emit(until_ms - self.time_ms, self.value, step)

    def ramp_over(self, target: float, until_ms: int, step: int) -> None:
        """Reach `target` exactly at `until_ms` in one ramp (the caller checked the rate)."""
        if until_ms > self.time_ms:
            self.emit(until_ms - self.time_ms, target, step)
        self.value = target

    def write(self, pattern: Pattern, until_ms: int, step: int, wait_until_ms: int = 0) -> int:
        """Fill the span up to `until_ms` with `pattern`; returns when the transition ended.
        A sequence starts no earlier than `wait_until_ms`."""
        self.approach(pattern.entry, until_ms, step)
        arrived_ms = self.time_ms
        if isinstance(pattern, Sweep):
            self._sweep(pattern, until_ms, step)
        elif isinstance(pattern, Passes):
            self._passes(pattern, until_ms, step)
        elif isinstance(pattern, Sequence):
            self._sequence(pattern, until_ms, step, wait_until_ms)
        self.hold(until_ms, step)
        return arrived_ms

    def _sweep(self, sweep: Sweep, until_ms: int, step: int) -> None:
        span_ms = until_ms - self.time_ms
        periods = span_ms // sweep.period_ms if sweep.amplitude > 0 else 0
        if periods == 0:
            return
        period_ms = span_ms // periods
        if period_ms > self.max_duration_ms:
            # The board needs each segment within max_duration, cut at whole periods.
            periods = -(-span_ms // self.max_duration_ms)
            period_ms = span_ms // periods
        self.emit(periods * period_ms, sweep.centre, step, sweep.amplitude, period_ms)

    def _passes(self, passes: Passes, until_ms: int, step: int) -> None:
        ends = (passes.second, passes.first)
        number = 0
        while self.time_ms < until_ms:
            left_ms = until_ms - self.time_ms
            target = ends[number % 2]
            if left_ms >= passes.pass_ms:
                self.emit(passes.pass_ms, target, step)
            else:
                self.emit(left_ms, self.value + (target - self.value) * left_ms / passes.pass_ms,
                          step)
            number += 1

    def _sequence(self, sequence: Sequence, until_ms: int, step: int, wait_until_ms: int):
        self.hold(min(wait_until_ms, until_ms), step)
        keyframes = list(sequence.keyframes)
        overrun_ms = sum(d for d, _ in keyframes) - (until_ms - self.time_ms)
        if overrun_ms > 0:
            duration_ms, value = keyframes[sequence.elastic]
            keyframes[sequence.elastic] = (max(0, duration_ms - overrun_ms), value)
        for duration_ms, value in keyframes:
            left_ms = until_ms - self.time_ms
            if left_ms <= 0:
                return
            if duration_ms == 0:
                continue
            if duration_ms <= left_ms:
                self.emit(duration_ms, value, step)
            else:
                self.emit(left_ms, self.value + (value - self.value) * left_ms / duration_ms, step)
