"""A token bucket: how many commands a chair accepts in a burst, and how many a second after."""

from __future__ import annotations

from collections.abc import Callable

BURST_COMMANDS = 10  # a Home Assistant slider dragged end to end sends a handful
COMMANDS_PER_S = 5.0


class TokenBucket:
    def __init__(self, clock: Callable[[], float], burst: int = BURST_COMMANDS,
                 per_s: float = COMMANDS_PER_S) -> None:
        self._clock = clock
        self.burst = burst
        self.per_s = per_s
        self._tokens = float(burst)
        self._at_s = clock()

    def take(self) -> bool:
        """One command's worth, if there is one left now."""
        now_s = self._clock()
        self._tokens = min(self.burst, self._tokens + (now_s - self._at_s) * self.per_s)
        self._at_s = now_s
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True
