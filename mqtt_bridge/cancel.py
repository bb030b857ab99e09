"""Cancel tasks and wait for their end, even through a cancellation that gets lost.

Python 3.11's `asyncio.wait_for`, which aiomqtt awaits every acknowledgement with, drops a
cancellation that arrives in the turn its awaitable finishes (fixed in 3.12): a task cancelled
while a PUBACK lands goes on as if nothing happened, and whoever waits for it waits forever.
So the bridge cancels again until the task is done.
"""

from __future__ import annotations

import asyncio
from typing import Any

CANCEL_AGAIN_S = 0.1  # a lost cancellation is noticed and repeated after this long


async def cancel_and_wait(*tasks: asyncio.Future[Any]) -> None:
    """Cancel every task and return once all are done; a cancellation of the caller while it
    waits is raised after that, so no task is left behind."""
    caller_cancelled = False
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        try:
            _, pending = await asyncio.wait(pending, timeout=CANCEL_AGAIN_S)
        except asyncio.CancelledError:
            caller_cancelled = True
    if caller_cancelled:
        raise asyncio.CancelledError
