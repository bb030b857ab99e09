"""Events for Home Assistant's `event` entities: remote keys, safety trips, session ends."""

from __future__ import annotations

import json

from massagectl.controller.service.operations import (
    ChairEvent,
    FaultLatched,
    KeyPressed,
    SessionEnded,
)
from massagectl.mqtt_bridge.context import BridgeExtension


class Events(BridgeExtension):
    def on_event(self, event: ChairEvent) -> None:
        topics = self.context.chair.topics
        match event:
            case KeyPressed(key=key):
                self._send(topics.event("remote_key"), {"event_type": key.lower()})
            case FaultLatched(cause=cause, detail=detail):
                self._send(topics.event("safety_trip"), {"event_type": cause, "detail": detail})
            case SessionEnded(summary=summary):
                self._send(topics.event("session_end"), {
                    "event_type": summary.ended_how, "detail": summary.detail,
                    "routine": summary.routine, "massage_s": round(summary.massage_s)})

    def _send(self, topic: str, payload: dict[str, object]) -> None:
        # Not retained: an event replayed after a restart would be a second event.
        self.context.publish(topic, json.dumps(payload), qos=1)
