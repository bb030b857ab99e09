"""Home Assistant discovery: announced after every connect and whenever Home Assistant restarts.

Home Assistant forgets nothing it was told with retain, but after its own restart (or a broker
that lost its retained store) entities stay unavailable until they hear from the device again:
so when `<prefix>/status` says `online`, everything is announced again after a short random
delay (many chairs answering at once would flood a starting Home Assistant).

Before the first announcement of a connection the bridge looks for the other discovery form's
retained configs of this chair; when there are any, it announces through Home Assistant's
documented migration instead, so switching `discovery` between `entity` and `device` keeps every
entity, its id and its history. The look is bounded without a timer: the bridge publishes a
probe to itself and announces when the probe comes back, which is after every retained message
its subscriptions brought.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets

import aiomqtt

from massagectl.mqtt_bridge.context import BridgeContext, BridgeExtension, MessageHandler
from massagectl.mqtt_bridge.discovery import (
    MIGRATE,
    DiscoveryForm,
    Publication,
    announcement,
    device_config_topic,
    migration,
)

HOME_ASSISTANT_ONLINE = "online"


class Discovery(BridgeExtension):
    def __init__(self, context: BridgeContext) -> None:
        super().__init__(context)
        chair = context.chair
        self.status_topic = f"{chair.discovery_prefix}/status"
        self.probe_topic = f"{chair.topics.root}/discovery_probe"
        if context.discovery_form is DiscoveryForm.DEVICE:
            self.other_form_filter = f"{chair.discovery_prefix}/+/{chair.topics.chair_id}/+/config"
        else:
            self.other_form_filter = device_config_topic(chair)
        self._probe = ""
        self._old_topics: list[str] = []
        self._later: asyncio.TimerHandle | None = None
        self._rng = random.Random()

    def subscriptions(self) -> dict[str, MessageHandler]:
        return {self.status_topic: self._on_status, self.probe_topic: self._on_probe,
                self.other_form_filter: self._on_other_form}

    async def on_connected(self) -> None:
        self._old_topics = []
        self._probe = secrets.token_hex(8)
        self.context.publish(self.probe_topic, self._probe, qos=1)

    def _on_probe(self, message: aiomqtt.Message) -> None:
        if message.payload != self._probe.encode():
            return
        self._probe = ""
        chair, form = self.context.chair, self.context.discovery_form
        steps: list[Publication] = []
        if not chair.serial_number:  # no board yet: unique ids wait for its serial number
            self._old_topics = []
        elif self._old_topics:
            steps = migration(chair, form, old_topics=self._old_topics)
            self._old_topics = []
        else:
            steps = announcement(chair, form)
        for step in steps:
            self.context.publish(step.topic, step.payload, retain=step.retain, qos=1)
        self.context.publish(chair.topics.routines, json.dumps(list(chair.routines)),
                             retain=True, qos=1)

    def _on_other_form(self, message: aiomqtt.Message) -> None:
        payload = bytes(message.payload or b"")
        if not message.retain or not payload or payload == MIGRATE.encode():
            return
        self._old_topics.append(str(message.topic))
        if not self._probe:  # already announced on this connection: migrate now
            self._probe = secrets.token_hex(8)
            self.context.publish(self.probe_topic, self._probe, qos=1)

    def _on_status(self, message: aiomqtt.Message) -> None:
        # A retained "online" is an old birth message, not a restart happening now.
        if (message.retain or message.payload != HOME_ASSISTANT_ONLINE.encode()
                or self._later is not None):
            return
        low_s, high_s = self.context.rediscovery_delay_s
        loop = asyncio.get_running_loop()
        self._later = loop.call_later(self._rng.uniform(low_s, high_s), self._announce_again)

    def _announce_again(self) -> None:
        self._later = None
        self.context.reannounce()

    def on_disconnected(self) -> None:
        if self._later is not None:
            self._later.cancel()
            self._later = None

    async def stop(self) -> None:
        self.on_disconnected()
