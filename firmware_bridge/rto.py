"""Retransmission timeout from round-trip samples, per RFC 6298 (SRTT, RTTVAR, backoff).

Deviations from the RFC, for a serial line rather than the Internet: the bounds are 25 ms
(Klipper's lower bound) .. 250 ms instead of 1 s .. 60 s; the upper bound is an eighth of the
link's 2 s ack limit, so a backed-off host still tries eight times before it gives a block up
(with Klipper's 5 s the backoff alone outlasted the ack limit: at 1 % damaged bytes a saturated
link was lost within 10 s; measured in benchmarks/bench_damaged_line.py); the first timeout
before any sample is 250 ms (a full window of 8 blocks takes 44 ms to cross a 115200 baud line,
so 1 s would only slow recovery during the handshake); and an ack that moves the window ends a
backoff even without a new sample (`progress()`). A serial line has no congestion to back off
from; backoff only guards against a board that stopped answering, and an ack proves it answers.
Without this, on a noisy line where most blocks are retransmitted, Karn's rule leaves no samples
and the timeout stays at its maximum.
"""

from __future__ import annotations

MIN_RTO_S = 0.025  # Klipper's serialqueue: the board answers within a few byte times
MAX_RTO_S = 0.25  # see the module docstring: at least 8 tries within the 2 s ack limit
INITIAL_RTO_S = 0.25
CLOCK_GRANULARITY_S = 0.001  # G in RFC 6298: loop.time() is far finer, 1 ms is the timer slop
ALPHA = 1 / 8  # RFC 6298 gains
BETA = 1 / 4
K = 4


class RtoEstimator:
    """Feed `sample(rtt_s)` for blocks sent once (Karn's rule); call `backoff()` on a timeout."""

    def __init__(self) -> None:
        self.srtt_s: float | None = None
        self.rttvar_s = 0.0
        self.rto_s = INITIAL_RTO_S
        self.samples = 0

    def sample(self, rtt_s: float) -> None:
        rtt_s = max(rtt_s, 0.0)
        if self.srtt_s is None:
            self.srtt_s = rtt_s
            self.rttvar_s = rtt_s / 2
        else:
            self.rttvar_s = (1 - BETA) * self.rttvar_s + BETA * abs(self.srtt_s - rtt_s)
            self.srtt_s = (1 - ALPHA) * self.srtt_s + ALPHA * rtt_s
        self.samples += 1
        self.progress()  # a fresh sample also ends any backoff (RFC 6298 section 5.7)

    def progress(self) -> None:
        """The board acked new blocks: drop any backoff."""
        if self.srtt_s is None:
            self.rto_s = INITIAL_RTO_S
        else:
            self.rto_s = self._bounded(self.srtt_s + max(CLOCK_GRANULARITY_S, K * self.rttvar_s))

    def backoff(self) -> None:
        self.rto_s = self._bounded(self.rto_s * 2)

    @staticmethod
    def _bounded(rto_s: float) -> float:
        return min(MAX_RTO_S, max(MIN_RTO_S, rto_s))
