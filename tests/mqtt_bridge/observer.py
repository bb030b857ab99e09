"""A plain MQTT client for the tests: publishes commands and waits for what the bridge says."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import aiomqtt

WAIT_TIMEOUT_S = 10.0


class Observer:
    """Collects every message on its subscriptions; `wait_for` waits for one that matches."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        self.messages: list[aiomqtt.Message] = []
        self._arrived = asyncio.Event()
        self._reader = asyncio.get_running_loop().create_task(self._read(), name="observer")

    async def _read(self) -> None:
        async for message in self.client.messages:
            self.messages.append(message)
            self._arrived.set()

    async def wait_for(self, topic: str, predicate: Callable[[aiomqtt.Message], bool] = (
            lambda message: True), *, after: int = 0) -> aiomqtt.Message:
        """The first message on `topic` (from index `after` on) that `predicate` accepts."""
        async with asyncio.timeout(WAIT_TIMEOUT_S):
            seen = after
            while True:
                for message in self.messages[seen:]:
                    if str(message.topic) == topic and predicate(message):
                        return message
                seen = len(self.messages)
                self._arrived.clear()
                await self._arrived.wait()

    async def wait_json(self, topic: str, predicate: Callable[[dict], bool] = lambda d: True,
                        *, after: int = 0) -> dict:
        message = await self.wait_for(
            topic, lambda m: bool(m.payload) and predicate(json.loads(m.payload)), after=after)
        return json.loads(message.payload)  # type: ignore[arg-type]

    def on(self, topic: str) -> list[aiomqtt.Message]:
        return [message for message in self.messages if str(message.topic) == topic]

    async def close(self) -> None:
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)
