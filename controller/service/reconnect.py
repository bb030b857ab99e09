"""Keep a board connected forever: explicit states, capped backoff, a quiet log.

    logic = ReconnectLogic(open_link, on_connected, on_lost, port_path="/dev/ttyUSB0")
    await logic.start(); ...; await logic.stop()

States: CONNECTING (opening the port), HANDSHAKING is inside `Link.open`, READY (a connected
link handed to `on_connected`), DISCONNECTED (waiting before the next try). After a failure
the wait grows by BACKOFF_FACTOR per try up to MAX_BACKOFF_S; a board that answers with a
different map (a HandshakeError naming differences) is not going to change by itself, so the
wait goes to the maximum at once. While waiting, a port that is a device path is watched: when
it reappears (the USB cable plugged back) the next try starts at once. The first failure of a
run of failures is a warning; the repeats are debug, so a board that stays away for a day does
not fill the log.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from enum import StrEnum

from massagectl.firmware_bridge.link import Link
from massagectl.routines.errors import MassageError

log = logging.getLogger(__name__)

FIRST_BACKOFF_S = 0.5
BACKOFF_FACTOR = 1.8  # as aioesphomeapi's reconnect logic
MAX_BACKOFF_S = 60.0  # a board away for long is tried once a minute
PORT_WATCH_S = 0.25  # how often a missing device path is looked for while waiting


class ConnectionState(StrEnum):
    CONNECTING = "connecting"
    READY = "ready"
    DISCONNECTED = "disconnected"
    STOPPED = "stopped"


class ReconnectLogic:
    """See the module docstring."""

    def __init__(
        self,
        open_link: Callable[[], Awaitable[Link]],
        on_connected: Callable[[Link], Awaitable[None]],
        on_lost: Callable[[Link, str], Awaitable[None]],
        *,
        name: str,
        port_path: str | None = None,
    ) -> None:
        self.open_link = open_link
        self.on_connected = on_connected
        self.on_lost = on_lost
        self.name = name
        # A device path (not a URL such as socket://) can be watched for coming back.
        self.port_path = port_path if port_path and "://" not in port_path else None
        self.state = ConnectionState.DISCONNECTED
        self.failures = 0  # tries in a row that failed
        self.last_error = ""
        self.connects = 0
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="reconnect")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self.state = ConnectionState.STOPPED

    def backoff_s(self) -> float:
        if self.failures == 0:
            return 0.0
        return min(MAX_BACKOFF_S, FIRST_BACKOFF_S * BACKOFF_FACTOR ** (self.failures - 1))

    async def _run(self) -> None:
        while True:
            self.state = ConnectionState.CONNECTING
            try:
                link = await self.open_link()
            except MassageError as error:
                self._failed(error)
                self.state = ConnectionState.DISCONNECTED
                await self._wait_before_retry()
                continue
            if self.failures:
                log.info("%s is back after %d failed tries", self.name, self.failures)
            self.failures = 0
            self.last_error = ""
            self.connects += 1
            self.state = ConnectionState.READY
            try:
                await self.on_connected(link)
                reason = await link.wait_lost()
            finally:
                if self.state is ConnectionState.READY:
                    self.state = ConnectionState.DISCONNECTED
            self.last_error = reason
            log.warning("%s went away: %s; reconnecting", self.name, reason)
            await self.on_lost(link, reason)
            self.failures = 1  # a short wait: a restarting board needs a moment

    def _failed(self, error: MassageError) -> None:
        self.failures += 1
        self.last_error = str(error)
        if getattr(error, "differences", None):
            self.failures = max(self.failures, 99)  # the maximum wait at once
        if self.failures == 1 or self.failures == 99:
            log.warning("cannot connect to %s: %s (retrying with backoff up to %g s)",
                        self.name, error, MAX_BACKOFF_S)
        else:
            log.debug("cannot connect to %s (try %d): %s", self.name, self.failures, error)

    async def _wait_before_retry(self) -> None:
        loop = asyncio.get_running_loop()
        deadline_s = loop.time() + self.backoff_s()
        was_there = self.port_path is None or os.path.exists(self.port_path)
        while (left_s := deadline_s - loop.time()) > 0:
            await asyncio.sleep(min(left_s, PORT_WATCH_S) if self.port_path else left_s)
            if self.port_path is not None:
                there = os.path.exists(self.port_path)
                if there and not was_there:
                    log.debug("%s appeared: trying at once", self.port_path)
                    return
                was_there = there
