"""The handheld remote as a front-end of the chair service: its keys through the menu to the
service's operations, the menu's rows to its display.

    await service.open([HandheldRemote()])

Keys arrive as the service's KeyPressed events. STOP has already acted on the board and in the
supervisor before this sees it; the menu's stop joins that stop. A key the chair cannot act on
now is refused by the operation and shown for a moment on the display's last row. A key
repeating faster than KEY_REPEAT_S (a stuck key) is ignored after the first, and logged once.
Only rows that changed are sent; the running screen's clock is refreshed every REFRESH_S.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from massagectl.controller.frontends.remote_menu import (
    Action,
    RemoteMenu,
    display_size,
    shorten,
)
from massagectl.controller.service.core import ChairService
from massagectl.controller.service.operations import (
    ChairState,
    ConnectionChanged,
    KeyPressed,
    OperationRefused,
    Origin,
    Refused,
    StateChanged,
)
from massagectl.controller.service.vocabulary import Discomfort, MarkSpot, carry_out
from massagectl.firmware_bridge.messages import RemoteKey

log = logging.getLogger(__name__)

REFRESH_S = 1.0  # the running screen's clock shows seconds
KEY_REPEAT_S = 0.05  # the same key again sooner than this is a stuck key, not a person
MESSAGE_S = 3.0  # a refusal stays on the last row this long


class HandheldRemote:
    name = "remote"

    def __init__(self) -> None:
        self.service: ChairService | None = None
        self.menu: RemoteMenu | None = None
        self.shown: list[str] = []
        self.message = ""
        self._message_until_s = 0.0
        self._last_key: tuple[RemoteKey, float] | None = None
        self._storm_logged = False
        self._acting = False
        self._unsubscribe: Callable[[], None] | None = None
        self._refresher: asyncio.Task | None = None

    async def start(self, service: ChairService) -> None:
        self.service = service
        self._new_menu()
        self._unsubscribe = service.subscribe(self._on_event)
        self._refresher = asyncio.get_running_loop().create_task(self._refresh_forever(),
                                                                 name="remote display")

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._refresher is not None:
            self._refresher.cancel()
            await asyncio.gather(self._refresher, return_exceptions=True)

    def _attached(self) -> tuple[ChairService, RemoteMenu]:
        """The service and the menu, which `start` sets up before any event can arrive."""
        if self.service is None or self.menu is None:
            raise RuntimeError("the handheld remote is not started")
        return self.service, self.menu

    def _new_menu(self) -> None:
        service = self.service
        if service is None:
            raise RuntimeError("the handheld remote is not started")
        rows, columns = service.display_size()
        sane_rows, sane_columns, odd = display_size(rows, columns)
        if odd:
            log.warning("the remote reports a %sx%s display; laying out for %dx%d",
                        rows, columns, sane_rows, sane_columns)
        self.menu = RemoteMenu(service.routines(), users=service.users(), zones=service.zones(),
                               rows=sane_rows, columns=sane_columns)
        self.shown = []

    def _on_event(self, event: object) -> None:
        if isinstance(event, KeyPressed):
            try:
                key = RemoteKey[event.key]
            except KeyError:
                return
            self.on_key(key)
        elif isinstance(event, ConnectionChanged):
            if event.connected:
                self._new_menu()  # the board may be another one, with another display
            self.refresh()
        elif isinstance(event, StateChanged):
            self.refresh()
        elif isinstance(event, OperationRefused) and event.origin is Origin.REMOTE \
                and not self._acting:
            # A start from the remote that admission refused after the key (it runs off the
            # loop): the reason shows as a refusal at the key would.
            self._say(event.reason, asyncio.get_running_loop().time())
            self.refresh()

    def on_key(self, key: RemoteKey) -> None:
        service, menu = self._attached()
        now_s = asyncio.get_running_loop().time()
        last = self._last_key
        self._last_key = (key, now_s)
        if key is not RemoteKey.STOP and last is not None and last[0] is key \
                and now_s - last[1] < KEY_REPEAT_S:
            if not self._storm_logged:
                log.warning("the %s key repeats faster than a person presses it; ignoring "
                            "the repeats", key.name)
                self._storm_logged = True
            return
        if menu.columns and key in (RemoteKey.UP, RemoteKey.DOWN, RemoteKey.BACK):
            menu.users = service.users()  # profiles added while the service runs
        action = menu.press(key, service.snapshot(), now_s)
        self._acting = True  # a refusal raised here is shown below, not from its event too
        try:
            self._act(action)
        except Refused as error:
            self._say(error.message, now_s)
        finally:
            self._acting = False
        self.refresh()

    def _act(self, action: Action | None) -> None:
        if action is None:
            return
        done = carry_out(self._attached()[0], action, Origin.REMOTE)
        if isinstance(action, (Discomfort, MarkSpot)):  # what the chair learnt, on the display
            self._say(done, asyncio.get_running_loop().time())

    def _say(self, text: str, now_s: float) -> None:
        self.message = text
        self._message_until_s = now_s + MESSAGE_S

    def rows(self) -> tuple[str, ...]:
        service, menu = self._attached()
        rows = list(menu.rows(service.snapshot()))
        if self.message and asyncio.get_running_loop().time() < self._message_until_s:
            rows[-1] = shorten(self.message, menu.columns)
        else:
            self.message = ""
        return tuple(rows)

    def refresh(self) -> None:
        """Send the rows that changed since the display last got them."""
        if self.service is None or self.menu is None:
            return
        service = self.service
        rows = self.rows()
        for index, text in enumerate(rows):
            if index < len(self.shown) and self.shown[index] == text:
                continue
            if not service.show_on_remote(index, text):
                self.shown = []  # not sent: send everything again next time
                return
            if index < len(self.shown):
                self.shown[index] = text
            else:
                self.shown.append(text)

    async def _refresh_forever(self) -> None:
        # Only what changes with time alone: the running screen's clock, an option screen's
        # idle timeout, a message's end. Everything else is redrawn on the service's events.
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(REFRESH_S)
            try:
                service, menu = self._attached()
                timed_out = menu.tick(loop.time())
                if timed_out or self.message or service.state() is ChairState.RUNNING:
                    self.refresh()
            except Exception:  # the display must keep going; say so, once per failure
                log.exception("refreshing the remote's display failed")
