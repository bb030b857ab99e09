"""The simulated board's own clock: a free-running tick counter, 32 bits on the wire.

The board counts ticks from power-on. Internally the count is unwrapped (a Python int that never
wraps), so `ticks` values compare directly; on the wire only the low 32 bits travel (`clock`),
and a 32-bit clock from the host is unwrapped against the board's current count (the nearest
value within half a wrap: firmware_bridge.clock_wrap, the arithmetic the host uses too). Host
seconds (`now_s`, the event loop's time) map to ticks through the crystal frequency, optionally
off by `drift_ppm` so a host's clock regression has something to do.
"""

from __future__ import annotations

import math

# Microcontroller timers commonly count at 1 MHz: 1 us resolution, a 32-bit wrap every 71.6 min.
DEFAULT_CLOCK_HZ = 1_000_000

# Host times are floats; a tick boundary computed from one may land a hair below the integer.
# A thousandth of a tick is far below any timing the board resolves and far above float error
# for any session length.
TICK_ROUNDING = 1e-3


class BoardClock:
    """Maps host seconds to the board's ticks and back, from one power-on instant."""

    def __init__(
        self,
        boot_s: float,
        clock_hz: int = DEFAULT_CLOCK_HZ,
        start_ticks: int = 0,
        drift_ppm: float = 0.0,
    ) -> None:
        if clock_hz <= 0:
            raise ValueError("clock_hz must be positive")
        self.clock_hz = clock_hz
        self.boot_s = boot_s
        self.start_ticks = start_ticks
        # The true rate: what the crystal really does, as seen in host seconds.
        self.true_hz = clock_hz * (1.0 + drift_ppm * 1e-6)

    def ticks_at(self, now_s: float) -> int:
        return self.start_ticks + math.floor((now_s - self.boot_s) * self.true_hz + TICK_ROUNDING)

    def time_at(self, ticks: int) -> float:
        """The host time at which the counter reaches `ticks`."""
        return self.boot_s + (ticks - self.start_ticks) / self.true_hz

    def seconds(self, ticks: int) -> float:
        """A tick span in true seconds (what physics integrates over)."""
        return ticks / self.true_hz

    def span_ticks(self, seconds: float) -> int:
        """A span in nominal board seconds, in whole ticks (how firmware converts its limits)."""
        return round(seconds * self.clock_hz)
