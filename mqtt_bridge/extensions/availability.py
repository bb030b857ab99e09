"""Availability: the bridge's `online` (its will says `offline`) and the board link's own."""

from __future__ import annotations

from massagectl.controller.service.operations import ChairEvent, ChairState, ConnectionChanged
from massagectl.mqtt_bridge.context import BridgeExtension
from massagectl.mqtt_bridge.topics import OFFLINE, ONLINE


class Availability(BridgeExtension):
    async def on_connected(self) -> None:
        topics = self.context.chair.topics
        self.context.publish(topics.availability, ONLINE, retain=True, qos=1)
        board_away = self.context.ops.snapshot().state is ChairState.DISCONNECTED
        self.context.publish(topics.board, OFFLINE if board_away else ONLINE, retain=True, qos=1)

    def on_event(self, event: ChairEvent) -> None:
        if isinstance(event, ConnectionChanged):
            self.context.publish(self.context.chair.topics.board,
                                 ONLINE if event.connected else OFFLINE, retain=True, qos=1)

    async def stop(self) -> None:
        # A clean goodbye sends no will, so say it here.
        self.context.publish(self.context.chair.topics.availability, OFFLINE, retain=True, qos=1)
