"""The bridge's incoming messages: a stop goes straight to the stop path, the rest wait in turn.

aiomqtt hands every message it reads to its queue's `put_nowait`, from the callback that reads
the socket. This queue sorts them there:

- a stop command is not queued at all: it is handed to `on_stop` at once, as it is read, ahead
  of every command that came before it and whatever they set off (the stop path is synchronous
  and never waits, so it may run inside the read; `on_stop` must not raise);
- other commands wait first in, first out, at most COMMANDS_WAITING of them; one more is not
  queued but handed to `on_overflow`, which answers it (refused, nothing done);
- everything else (discovery, Home Assistant's status, the bridge's own probes) waits with the
  commands and is never dropped: the bridge's subscriptions bound it.

Which message is which is the caller's `classify`, so the queue knows no topics.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from enum import Enum

import aiomqtt

# Commands waiting to be handled at most: the token bucket lets 10 through at once, so a longer
# queue would only hold commands that will be refused anyway, and memory during a flood.
COMMANDS_WAITING = 32


class Lane(Enum):
    STOP = "stop"
    COMMAND = "command"
    OTHER = "other"


Classify = Callable[[aiomqtt.Message], Lane]
Handler = Callable[[aiomqtt.Message], None]


def inbox_type(classify: Classify, on_stop: Handler, on_overflow: Handler,
               commands_waiting: int = COMMANDS_WAITING) -> type[asyncio.Queue[aiomqtt.Message]]:
    """A queue class for `aiomqtt.Client(queue_type=...)` that sorts as the module says."""

    class Inbox(asyncio.Queue[aiomqtt.Message]):
        _queue: deque[tuple[Lane, aiomqtt.Message]]

        def _init(self, maxsize: int) -> None:
            self._queue = deque()
            self._lane = Lane.OTHER  # of the message being put, for _put
            self.commands = 0
            self.dropped = 0

        def put_nowait(self, item: aiomqtt.Message) -> None:
            lane = self._lane = classify(item)
            if lane is Lane.STOP:
                on_stop(item)
                return
            if lane is Lane.COMMAND and self.commands >= commands_waiting:
                self.dropped += 1
                on_overflow(item)
                return
            super().put_nowait(item)

        def _put(self, item: aiomqtt.Message) -> None:
            self.commands += self._lane is Lane.COMMAND
            self._queue.append((self._lane, item))

        def _get(self) -> aiomqtt.Message:
            lane, item = self._queue.popleft()
            self.commands -= lane is Lane.COMMAND
            return item

    return Inbox
