"""Writing the chair's files off the event loop, one after another in the order asked.

    writer = FileWriter()
    done = writer.write(save_the_trace, "the trace of relax")  # returns at once
    await writer.flush()        # every write asked so far is on disk (or failed and logged)
    await writer.close()        # the same, then the thread goes

A session's end writes its trace (a compressed archive: tens of milliseconds for a long
session), the chair's safety record and the session history, each flushed to disk. On the
loop that would hold it, and a STOP arriving meanwhile would wait. So they run in one worker
thread of their own (controller.session.off_loop: the loop gets the interpreter lock back
within half a millisecond), strictly in the order they were asked for: a later session's or a
fault clear's record never lands before an earlier one's. A write must only read what it is
given (copies of what the loop goes on changing). An OSError is logged, never raised: a full
disk must not stop the chair. The service's close flushes, so a SIGTERM loses no record.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from massagectl.controller.session.off_loop import in_thread

log = logging.getLogger(__name__)

T = TypeVar("T")


class FileWriter:
    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._pending: set[asyncio.Task] = set()

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    def write(self, work: Callable[[], T], what: str) -> asyncio.Task[T | None]:
        """Run `work()` in the writer's thread after every write asked before; the task's
        result is work's, or None when it raised OSError (logged, naming `what`)."""
        if self._executor is None:
            # One thread: the executor's queue keeps the order, whatever happens to the tasks.
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="chair files")
        task = asyncio.get_running_loop().create_task(self._run(self._executor, work, what),
                                                      name=f"writing {what}")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return task

    @staticmethod
    async def _run(executor: ThreadPoolExecutor, work: Callable[[], T], what: str) -> T | None:
        try:
            return await in_thread(executor, work)
        except OSError as error:
            log.error("could not write %s: %s", what, error)
            return None

    async def flush(self) -> None:
        """Wait until every write asked so far has ended."""
        while self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def close(self) -> None:
        await self.flush()
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)  # idle by now: returns at once
