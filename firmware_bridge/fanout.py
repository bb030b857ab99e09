"""Hands every board message to the link's listeners and async iterators, never blocking."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

log = logging.getLogger(__name__)

MESSAGE_QUEUE_LIMIT = 1024  # per iterator: 50 s of 20 Hz telemetry; the oldest go beyond it


class MessageFanout:
    def __init__(self) -> None:
        self._listeners: list[Callable[[object], None]] = []
        self._queues: set[asyncio.Queue] = set()
        self.dropped = 0  # messages an iterator that fell behind never saw

    def add_listener(self, callback: Callable[[object], None]) -> Callable[[], None]:
        """Call `callback(message)` for every message; returns a function that removes it."""
        self._listeners.append(callback)

        def remove() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return remove

    async def messages(self) -> AsyncIterator[object]:
        """Every message from the first iteration on, until close()."""
        queue: asyncio.Queue = asyncio.Queue()
        self._queues.add(queue)
        try:
            while (message := await queue.get()) is not None:
                yield message
        finally:
            self._queues.discard(queue)

    def publish(self, message: object) -> None:
        for listener in list(self._listeners):
            try:
                listener(message)
            except Exception:  # a listener's bug must not stop the link
                log.exception("link listener %r failed", listener)
        for queue in self._queues:
            if queue.qsize() >= MESSAGE_QUEUE_LIMIT:
                queue.get_nowait()
                self.dropped += 1
            queue.put_nowait(message)

    def close(self) -> None:
        """End every iterator (after the messages already queued)."""
        for queue in self._queues:
            queue.put_nowait(None)
