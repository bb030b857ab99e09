"""The lowest and highest of the readings (or commands) in the last few seconds of board time,
without a pass over the window per reading: two monotonic queues of (board_s, value), the
values increasing in one and decreasing in the other, so the first of each is the extreme.

    window = SlidingWindow(span_s=2.0)
    window.add(board_s, value)     # a board clock that goes back starts the window afresh
    if window.covered_s >= 1.9:    # watched long enough to judge
        spread = window.high - window.low
"""

from __future__ import annotations

from collections import deque


class SlidingWindow:
    """See the module docstring. Holds the values of the last `span_s` (inclusive)."""

    def __init__(self, span_s: float) -> None:
        self.span_s = span_s
        self._times: deque[float] = deque()
        self._lows: deque[tuple[float, float]] = deque()
        self._highs: deque[tuple[float, float]] = deque()

    def add(self, board_s: float, value: float) -> None:
        times, lows, highs = self._times, self._lows, self._highs
        if times and board_s < times[-1]:
            self.clear()  # a restarted board clock
        times.append(board_s)
        while lows and lows[-1][1] >= value:
            lows.pop()
        lows.append((board_s, value))
        while highs and highs[-1][1] <= value:
            highs.pop()
        highs.append((board_s, value))
        while board_s - times[0] > self.span_s:
            times.popleft()
        oldest_s = times[0]
        while lows[0][0] < oldest_s:
            lows.popleft()
        while highs[0][0] < oldest_s:
            highs.popleft()

    def clear(self) -> None:
        self._times.clear()
        self._lows.clear()
        self._highs.clear()

    @property
    def covered_s(self) -> float:
        """From the oldest value held to the newest (0 when empty)."""
        return self._times[-1] - self._times[0] if self._times else 0.0

    @property
    def low(self) -> float:
        return self._lows[0][1]

    @property
    def high(self) -> float:
        return self._highs[0][1]
