"""Compiling and admitting a plan in a worker thread, so the event loop keeps serving STOP.

    admitted = await off_loop(preflight, routine, device, user, limits)
    path = await in_thread(executor, save_trace)   # in an executor of one's own, no arguments

A routine's compile and admission take milliseconds to tens of milliseconds of CPU. Run on the
event loop, they hold it: a STOP arriving meanwhile over the control socket, MQTT or the link
waits behind them. In a worker thread the loop goes on at once: when it wakes (a byte from the
board, a socket, a timer) it asks for the interpreter lock, which the thread gives up after the
switch interval. That interval is 5 ms by default; while such work runs it is
SWITCH_INTERVAL_S, so a STOP waits at most about that long. The work must only read what it is
given: pass copies of anything the loop keeps changing.

On a VirtualTimeLoop the clock stands still while the work runs (sim.virtual_loop), as it does
while a callback runs, so a run in virtual time does not depend on how fast the thread is.
"""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

T = TypeVar("T")

# How soon the worker gives the interpreter lock back to a loop that wants it. Shorter than
# the default 5 ms by ten: a STOP is written within a millisecond or so of arriving, for a
# compile a few percent slower (a switch costs microseconds; the loop mostly sleeps).
SWITCH_INTERVAL_S = 0.0005

_running = 0  # works in threads now: the shorter interval holds while any runs
_default_interval_s = sys.getswitchinterval()


async def off_loop(work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`work(*args, **kwargs)` in the loop's default executor; its result or its exception."""
    return await in_thread(None, functools.partial(work, *args, **kwargs))


async def in_thread(executor: Executor | None, work: Callable[[], T]) -> T:
    """`work()` in `executor` (None: the loop's default), with the short switch interval while
    it runs; its result or its exception."""
    global _running, _default_interval_s
    loop = asyncio.get_running_loop()
    if _running == 0:
        _default_interval_s = sys.getswitchinterval()
        sys.setswitchinterval(min(SWITCH_INTERVAL_S, _default_interval_s))
    _running += 1
    try:
        return await loop.run_in_executor(executor, work)
    finally:
        _running -= 1
        if _running == 0:
            sys.setswitchinterval(_default_interval_s)
