"""The retained state topic: published on change, at a bounded rate, and on every connect.

Changes the service reports go out at once unless the last publication was less than
`MIN_INTERVAL_S` ago, in which case they are folded into one publication at the end of that
interval. Readings (pressures, temperatures) change all the time, so they are refreshed every
`REFRESH_ACTIVE_S` during a session and every `REFRESH_IDLE_S` otherwise, and only when the
payload changed.
"""

from __future__ import annotations

import asyncio
import json

from massagectl.controller.service.operations import ChairEvent, ChairState
from massagectl.mqtt_bridge.context import BridgeContext, BridgeExtension
from massagectl.mqtt_bridge.state_payload import ACTIVE, state_payload

MIN_INTERVAL_S = 0.25  # at most four state messages a second per chair
REFRESH_ACTIVE_S = 1.0
REFRESH_IDLE_S = 5.0  # the seat sensor and idle temperatures: seen within seconds


class StatePublisher(BridgeExtension):
    def __init__(self, context: BridgeContext) -> None:
        super().__init__(context)
        self._loop = asyncio.get_running_loop()
        self._last_payload: str | None = None
        self._last_sent_s = -MIN_INTERVAL_S
        self._pending: asyncio.TimerHandle | None = None
        self._refresh = self._loop.create_task(self._keep_fresh(), name="mqtt state refresh")

    def payload(self) -> str:
        context = self.context
        return json.dumps(state_payload(
            context.ops.snapshot(), selected_routine=context.selected_routine,
            readings=context.readings(), pressure_sensors=context.pressure_sensors,
            temperature_sensors=context.temperature_sensors), separators=(",", ":"))

    def publish_now(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        payload = self.payload()
        self._last_payload = payload
        self._last_sent_s = self._loop.time()
        self.context.publish(self.context.chair.topics.state, payload, retain=True, qos=1)

    def changed(self) -> None:
        """Something shown changed: publish now, or at the end of the current interval."""
        if self._pending is not None:
            return
        wait_s = self._last_sent_s + MIN_INTERVAL_S - self._loop.time()
        if wait_s <= 0:
            self.publish_now()
        else:
            self._pending = self._loop.call_later(wait_s, self.publish_now)

    async def on_connected(self) -> None:
        self.publish_now()

    def on_event(self, event: ChairEvent) -> None:
        self.changed()

    async def _keep_fresh(self) -> None:
        while True:
            active = self.context.ops.snapshot().state in (*ACTIVE, ChairState.PAUSED)
            await asyncio.sleep(REFRESH_ACTIVE_S if active else REFRESH_IDLE_S)
            if self.payload() != self._last_payload:
                self.changed()

    async def stop(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
        self._refresh.cancel()
        await asyncio.gather(self._refresh, return_exceptions=True)
