"""Bridges and observers on a test broker, set up and torn down in one `async with`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

import aiomqtt

from massagectl.mqtt_bridge.bridge import BridgeSettings, MqttBridge
from massagectl.mqtt_bridge.connection import BrokerSettings
from massagectl.routines.device import load_device

from .broker import Mosquitto
from .observer import Observer

QUICK_REDISCOVERY_S = (0.0, 0.05)


@dataclass(frozen=True)
class Address:
    """Where a bridge connects when it is not straight to a test broker (a relay)."""

    host: str
    port: int


def settings_for(broker: Mosquitto | Address, **options) -> BridgeSettings:
    broker_options = {key: options.pop(key) for key in list(options)
                      if key in BrokerSettings.__dataclass_fields__}
    return BridgeSettings(broker=BrokerSettings(broker.host, broker.port, **broker_options),
                          rediscovery_delay_s=QUICK_REDISCOVERY_S, **options)


@asynccontextmanager
async def running_bridge(broker: Mosquitto | Address, ops, **options) -> AsyncIterator[MqttBridge]:
    bridge = MqttBridge(settings_for(broker, **options), load_device("chair"))
    await bridge.start(ops)
    try:
        yield bridge
    finally:
        await bridge.stop()


@asynccontextmanager
async def observing(broker: Mosquitto, *topics: str, protocol=aiomqtt.ProtocolVersion.V5,
                    **options) -> AsyncIterator[Observer]:
    async with aiomqtt.Client(broker.host, broker.port, protocol=protocol, **options) as client:
        for topic in topics:
            await client.subscribe(topic, qos=1)
        observer = Observer(client)
        try:
            yield observer
        finally:
            await observer.close()


def with_settings(settings: BridgeSettings, **changes) -> BridgeSettings:
    return replace(settings, **changes)
