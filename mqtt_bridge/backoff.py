"""Waits between reconnection attempts: exponential, capped, with jitter.

Twenty chairs that lost one broker must not all knock on its door in the same millisecond
when it comes back, so every wait is drawn at random between half and all of its nominal
length ("equal jitter"). The growth factor and cap follow aioesphomeapi's reconnect logic.
"""

from __future__ import annotations

import random

FIRST_WAIT_S = 1.0
GROWTH = 1.8
MAX_WAIT_S = 60.0  # a broker away for a day is retried each minute, not hammered


class Backoff:
    def __init__(self, first_s: float = FIRST_WAIT_S, max_s: float = MAX_WAIT_S,
                 rng: random.Random | None = None) -> None:
        self.first_s = first_s
        self.max_s = max_s
        self.failures = 0
        self._rng = rng or random.Random()

    def nominal_s(self) -> float:
        """The wait before the next attempt, before jitter."""
        if self.failures == 0:
            return 0.0
        return min(self.max_s, self.first_s * GROWTH ** (self.failures - 1))

    def next_wait_s(self) -> float:
        """Count one more failure; the wait before trying again."""
        self.failures += 1
        nominal = self.nominal_s()
        return nominal / 2 + self._rng.uniform(0, nominal / 2)

    def give_up_quickly(self) -> float:
        """A failure that retrying soon cannot fix (a refused password): wait the longest."""
        self.failures = max(self.failures + 1, 64)
        return self.max_s / 2 + self._rng.uniform(0, self.max_s / 2)

    def reset(self) -> None:
        self.failures = 0
