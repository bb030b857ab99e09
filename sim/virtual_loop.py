"""Event loops whose clock is not the wall clock: skipping idle time, or paced N times faster.

The simulator, the link and the session all take their time from `loop.time()`, so running them
on one of these loops moves the whole system onto a virtual timeline. Either way the clock only
moves while the loop waits: time stands still while callbacks run, so however slow or busy the
machine, no callback ever sees more time pass than the program scheduled (a watchdog of 0.5 s
cannot trip because the process was descheduled for a moment).

- `VirtualTimeLoop()`: whenever no callback is ready, the clock jumps to the next timer. A
  30-minute session runs as fast as the CPU allows. For in-memory transports: real file
  descriptors (a terminal, signals) are still polled, but a timer never waits for them.
- `VirtualTimeLoop(speed=N)`: the same jumps, paced so the clock runs at most N times faster
  than the wall clock; waits happen in the real selector, so real descriptors are served
  while the clock catches up. A machine too slow for N simply runs slower than N.

Work handed to a thread with `run_in_executor` (a plan's compile and admission) counts like a
callback: the clock does not move until it is done, so a run does not depend on how fast the
thread is. The loop meanwhile runs whatever is ready and serves real descriptors.

The loop is a SelectorEventLoop whose selector is wrapped; asyncio's own scheduling is untouched.
"""

from __future__ import annotations

import asyncio
import math
import selectors
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

# On a clock that skips idle time, real file descriptors (signals, a terminal) are polled at
# most this often in wall time: a key press or Ctrl-C waits at most 1 ms longer.
REAL_POLL_INTERVAL_S = 0.001
# A paced clock that fell this far behind the wall clock (a busy machine, a debugger) starts
# pacing afresh from now instead of racing to catch up.
MAX_PACING_LAG_S = 0.1




class _ClockedSelector(selectors.BaseSelector):
    """Delegates to a real selector, but turns blocking waits into clock advances."""

    def __init__(self, inner: selectors.BaseSelector, loop: VirtualTimeLoop) -> None:
        self._inner = inner
        self._loop = loop

    def register(self, fileobj, events, data=None):
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj):
        return self._inner.unregister(fileobj)

    def modify(self, fileobj, events, data=None):
        return self._inner.modify(fileobj, events, data)

    def get_map(self):
        return self._inner.get_map()

    def close(self) -> None:
        self._inner.close()

    def select(self, timeout: float | None = None):
        return self._loop._select(self._inner, timeout)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """See the module docstring. `speed=None` skips idle time; a number scales the wall clock."""

    # asyncio's own state, private and so left out of its type stubs: the selector this loop
    # wraps, and the timer heap and clock resolution that `_advance_to` reads.
    _selector: selectors.BaseSelector
    _scheduled: list[asyncio.TimerHandle]
    _clock_resolution: float

    def __init__(self, speed: float | None = None, start_s: float = 0.0) -> None:
        super().__init__()
        if speed is not None and speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._virtual_s = start_s
        self._wall_origin_s = time.monotonic()
        self._virtual_origin_s = start_s
        self._last_poll_wall_s = -math.inf
        self._in_threads = 0  # executor jobs not finished: the clock waits for them
        self._selector = _ClockedSelector(self._selector, self)

    def time(self) -> float:
        return self._virtual_s

    def run_in_executor(self, executor, func, *args):  # type: ignore[override]
        future = super().run_in_executor(executor, func, *args)
        self._in_threads += 1
        future.add_done_callback(self._thread_done)
        return future

    def _thread_done(self, _future: asyncio.Future) -> None:
        self._in_threads -= 1

    def _select(self, inner: selectors.BaseSelector, timeout: float | None):
        if self._in_threads and timeout != 0:
            # Nothing ready but a thread's work: wait for it (its result wakes the selector
            # through the loop's self-pipe) with the clock standing still.
            events = inner.select(None)
            self._last_poll_wall_s = time.monotonic()
            return events
        wall_s = time.monotonic()
        if self.speed is not None and timeout != 0:
            return self._paced_select(inner, timeout, wall_s, self.speed)
        if timeout is None or wall_s - self._last_poll_wall_s >= REAL_POLL_INTERVAL_S:
            # Real descriptors were not polled for a while: asking the kernel on every turn of
            # the loop would cost more than the callbacks themselves.
            events = inner.select(0)
            self._last_poll_wall_s = wall_s
            if events:
                return events
        if timeout is None:
            # Nothing is scheduled at all: only outside input (a signal, another thread) can
            # wake the loop, so wait for it in real time.
            return inner.select(None)
        self._advance_to(self._virtual_s + timeout)
        return []

    def _paced_select(self, inner: selectors.BaseSelector, timeout: float | None,
                      wall_s: float, speed: float):
        """Wait in real time until the paced clock reaches the next timer, then jump to it."""
        paced_wall_s = (self._virtual_s - self._virtual_origin_s) / speed
        behind_s = (wall_s - self._wall_origin_s) - paced_wall_s
        if behind_s > MAX_PACING_LAG_S:
            self._wall_origin_s, self._virtual_origin_s = wall_s, self._virtual_s
        if timeout is None:
            wait_s = None
        else:
            due_wall_s = self._wall_origin_s + (self._virtual_s + timeout
                                                - self._virtual_origin_s) / speed
            wait_s = max(0.0, due_wall_s - wall_s)
        events = inner.select(wait_s)
        self._last_poll_wall_s = time.monotonic()
        if events:
            # Woken early by a real descriptor: the clock moves on as far as the wall clock did.
            paced_s = self._virtual_origin_s + (self._last_poll_wall_s
                                                - self._wall_origin_s) * speed
            if timeout is not None:
                paced_s = min(paced_s, self._virtual_s + timeout)
            self._virtual_s = max(self._virtual_s, paced_s)
            return events
        if timeout is not None:
            self._advance_to(self._virtual_s + timeout)
        return []

    def _advance_to(self, target_s: float) -> None:
        scheduled = self._scheduled
        if scheduled and scheduled[0].when() <= target_s + self._clock_resolution:
            # asyncio runs timers due within its clock resolution at once. The clock must reach
            # them too: code waiting for a deadline a few ulps away would otherwise wake with
            # time standing still, compute the same tiny wait again, and spin forever.
            target_s = max(target_s, scheduled[0].when())
        self._virtual_s = target_s


def run_virtual(
    main: Callable[[], Coroutine[Any, Any, T]] | Coroutine[Any, Any, T],
    speed: float | None = None,
) -> T:
    """Run a coroutine to completion on a fresh VirtualTimeLoop, then close the loop."""
    with asyncio.Runner(loop_factory=lambda: VirtualTimeLoop(speed=speed)) as runner:
        coroutine = main() if callable(main) else main
        return runner.run(coroutine)
