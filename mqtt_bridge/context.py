"""What every bridge extension shares: the chair's operations, its description, and publishing.

Publishing never blocks the caller (the service's event listeners must not block): messages go
to a bounded outbox that the connected session drains in order. While the broker is away, the
outbox keeps only the newest messages; everything retained is re-published on the next connect
anyway, so nothing lasting is lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import aiomqtt
from paho.mqtt.properties import Properties

from massagectl.controller.service.operations import ChairEvent, ChairOperations
from massagectl.mqtt_bridge.discovery import ChairDescription, DiscoveryForm

log = logging.getLogger(__name__)

OUTBOX_MESSAGES = 1000  # a flood's answers cannot grow memory without bound
MessageHandler = Callable[[aiomqtt.Message], None]
Readings = Callable[[], Mapping[str, float]]


@dataclass(frozen=True)
class Outgoing:
    topic: str
    payload: str | bytes
    retain: bool = False
    qos: int = 0
    properties: Properties | None = None  # paho Properties (MQTT 5 correlation data)


@dataclass
class BridgeContext:
    ops: ChairOperations
    chair: ChairDescription
    discovery_form: DiscoveryForm
    readings: Readings
    pressure_sensors: Mapping[str, str]
    temperature_sensors: Mapping[str, str]
    rediscovery_delay_s: tuple[float, float] = (0.5, 3.0)
    selected_routine: str | None = None
    connected: bool = False
    outbox: deque[Outgoing] = field(default_factory=lambda: deque(maxlen=OUTBOX_MESSAGES))
    _wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    dropped_messages: int = 0
    # Announce everything again (discovery, availability, state): set by the bridge.
    reannounce: Callable[[], None] = lambda: None

    def publish(self, topic: str, payload: str | bytes, *, retain: bool = False, qos: int = 0,
                properties: Properties | None = None) -> None:
        if len(self.outbox) == self.outbox.maxlen:
            self.dropped_messages += 1
        self.outbox.append(Outgoing(topic, payload, retain, qos, properties))
        self._wakeup.set()

    async def drain(self, client: aiomqtt.Client) -> None:
        """Send the outbox to the broker as it fills, until cancelled or disconnected."""
        while True:
            while self.outbox:
                message = self.outbox.popleft()
                await client.publish(message.topic, message.payload, qos=message.qos,
                                     retain=message.retain, properties=message.properties)
            self._wakeup.clear()
            await self._wakeup.wait()


class BridgeExtension:
    """One feature of the bridge (zigbee2mqtt's `lib/extension`): built with the context,
    told about every connection and every chair event, stopped with the bridge."""

    def __init__(self, context: BridgeContext) -> None:
        self.context = context

    def subscriptions(self) -> dict[str, MessageHandler]:
        """Topic filters this extension listens to, and the handler for each."""
        return {}

    async def on_connected(self) -> None:
        """Announce what this extension owns; called after every (re)connect."""

    def on_event(self, event: ChairEvent) -> None:
        """A chair event; must not block."""

    def on_disconnected(self) -> None:
        """The broker went away."""

    async def stop(self) -> None:
        """Before the bridge leaves the broker: publish any last words."""
