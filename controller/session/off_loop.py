"""Compiling and admitting a plan in a worker thread, so the event loop keeps serving STOP.

    admitted = await off_loop(preflight, routine, device, user, limits)

A routine's compile and admission take milliseconds to tens of milliseconds of CPU. Run on the
event loop, they hold it: a STOP arriving meanwhile over the control socket, MQTT or the link
waits behind them. In a worker thread the loop goes on at once (the thread yields the
interpreter lock to the loop every few milliseconds, sys.getswitchinterval()). The work must
only read what it is given: pass copies of anything the loop keeps changing.

On a VirtualTimeLoop the clock stands still while the work runs (sim.virtual_loop), as it does
while a callback runs, so a run in virtual time does not depend on how fast the thread is.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def off_loop(work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`work(*args, **kwargs)` in the loop's default executor; its result or its exception."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, functools.partial(work, *args, **kwargs))
