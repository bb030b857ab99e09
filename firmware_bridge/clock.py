"""Clock synchronisation: the board's clock (ticks) as a line fitted on host time (seconds).

Each heartbeat round trip gives one sample: the board's clock, read between the host's send
and receive times, is placed at their midpoint. The line is a least-squares fit over the recent
samples with the shortest round trips (a long one waited behind other bytes and says little).
`error_s` is the estimate's uncertainty: half the best round trip plus the fit's RMS residual.

The wire carries 32-bit clocks, which wrap every 71.6 minutes at 1 MHz; `unwrap` turns them into
an unbounded tick count near the estimate (firmware_bridge.clock_wrap), so sessions of any length
schedule correctly.
Host seconds (`*_s`) and device ticks (`clock`) never mix except through this class.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from massagectl.firmware_bridge.clock_wrap import unwrap_clock

CLOCK_SAMPLE_WINDOW = 64  # 32 s of heartbeats at 2 Hz: long enough to average jitter away
MIN_FIT_SPAN_S = 1.0  # over a shorter span a fitted rate is noisier than the nominal one
# Crystals are within 100 ppm and RC oscillators within about 2 %; a fit further off than this
# means bad samples, and the nominal rate is the better guess.
MAX_RATE_DEVIATION = 0.02
# Samples whose round trip exceeds the best one by this much waited behind other traffic.
RTT_SLACK_S = 0.001
# The line is fitted again at most this often (a fit costs tens of microseconds; samples over
# hours add up). A line a second old is still right to a microsecond: crystal
# rates drift by parts per million over minutes, not seconds.
REFIT_INTERVAL_S = 1.0


@dataclass(frozen=True, slots=True)
class ClockSample:
    host_s: float
    clock: int  # unwrapped
    rtt_s: float


class ClockSync:
    """See the module docstring."""

    def __init__(self, clock_hz: int) -> None:
        self.clock_hz = clock_hz
        self._samples: deque[ClockSample] = deque(maxlen=CLOCK_SAMPLE_WINDOW)
        self._base_s = 0.0
        self._base_clock = 0.0
        self.rate_hz = float(clock_hz)  # ticks per host second
        self.error_s = math.inf
        self._fitted_at_s = -math.inf

    @property
    def ready(self) -> bool:
        return bool(self._samples)

    def add_sample(self, sent_s: float, received_s: float, raw_clock: int) -> float:
        """Add a round trip; returns how far (s) the board's clock was from the estimate."""
        host_s = (sent_s + received_s) / 2
        if self._samples:
            clock = self.unwrap(raw_clock, near=self.clock_at(host_s))
            deviation_s = (clock - self.clock_at(host_s)) / self.rate_hz
        else:
            clock = raw_clock
            deviation_s = 0.0
        self._samples.append(ClockSample(host_s, clock, max(received_s - sent_s, 0.0)))
        if host_s - self._fitted_at_s >= REFIT_INTERVAL_S or len(self._samples) < 8:
            self._fit()
            self._fitted_at_s = host_s
        return deviation_s

    def clock_at(self, host_s: float) -> int:
        """The board's clock (unwrapped ticks) at host time `host_s`."""
        return round(self._base_clock + (host_s - self._base_s) * self.rate_hz)

    def host_time_at(self, clock: int) -> float:
        """Host time when the board's clock reads `clock` (unwrapped ticks)."""
        return self._base_s + (clock - self._base_clock) / self.rate_hz

    def unwrap(self, raw_clock: int, near: int | None = None) -> int:
        """The unwrapped clock congruent to a 32-bit wire clock, closest to `near`."""
        if near is None:
            if not self._samples:
                return raw_clock
            near = self._samples[-1].clock
        return unwrap_clock(raw_clock, near)

    def _fit(self) -> None:
        best_rtt_s = min(sample.rtt_s for sample in self._samples)
        usable = [s for s in self._samples if s.rtt_s <= 2 * best_rtt_s + RTT_SLACK_S]
        mean_s = sum(s.host_s for s in usable) / len(usable)
        mean_clock = sum(s.clock for s in usable) / len(usable)
        spread = sum((s.host_s - mean_s) ** 2 for s in usable)
        rate = float(self.clock_hz)
        if usable[-1].host_s - usable[0].host_s >= MIN_FIT_SPAN_S and spread > 0:
            fitted = sum((s.host_s - mean_s) * (s.clock - mean_clock) for s in usable) / spread
            if abs(fitted / self.clock_hz - 1) <= MAX_RATE_DEVIATION:
                rate = fitted
        self._base_s, self._base_clock, self.rate_hz = mean_s, mean_clock, rate
        residual_sq = sum(
            ((s.clock - mean_clock) - (s.host_s - mean_s) * rate) ** 2 for s in usable
        ) / len(usable)
        self.error_s = best_rtt_s / 2 + math.sqrt(residual_sq) / rate
