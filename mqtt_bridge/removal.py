"""Removing a chair from Home Assistant and the broker: every retained topic of it, cleared.

What is cleared is what the broker holds, found by subscribing, not a list worked out from a
device profile: the per-entity and the per-device discovery configs of the chair, and the
chair's own retained topics (state, availability, routines, ...). An empty retained payload
removes a discovered entity from Home Assistant and the message from the broker. The look is
bounded the way the discovery extension's is: a probe published to itself comes back after
every retained message the subscriptions brought.

Stop the service first (or set `[mqtt] enabled = false`): a running bridge announces the chair
again on its next connect.
"""

from __future__ import annotations

import asyncio
import secrets

import aiomqtt

from massagectl.mqtt_bridge.bridge import BridgeSettings
from massagectl.mqtt_bridge.connection import BrokerConnection, Will

FORGET_TIMEOUT_S = 30.0


async def forget_chair(settings: BridgeSettings, chair_id: str) -> list[str]:
    """Clear every retained topic of chair `chair_id`; the topics cleared, sorted."""
    prefix, root = settings.discovery_prefix, f"{settings.base_topic}/{chair_id}"
    filters = (f"{prefix}/+/{chair_id}/+/config", f"{prefix}/device/{chair_id}/config",
               f"{root}/#")
    probe_topic, probe = f"{root}/removal_probe", secrets.token_hex(8)
    found: set[str] = set()

    async def session(client: aiomqtt.Client) -> None:
        for topic_filter in filters:
            await client.subscribe(topic_filter, qos=1)
        await client.publish(probe_topic, probe, qos=1)
        async for message in client.messages:
            if str(message.topic) == probe_topic and message.payload == probe.encode():
                break
            if message.retain and message.payload:
                found.add(str(message.topic))
        for topic in sorted(found):
            await client.publish(topic, b"", qos=1, retain=True)
        raise _Done

    # The will is the availability topic's own "offline": it is cleared right after, and a
    # tool that leaves cleanly never sends it.
    connection = BrokerConnection(settings.broker, Will(f"{root}/availability", "offline"))
    try:
        async with asyncio.timeout(FORGET_TIMEOUT_S):
            await connection.run(session)
    except _Done:
        pass
    return sorted(found)


class _Done(Exception):
    """The removal finished: leave the connection loop."""
