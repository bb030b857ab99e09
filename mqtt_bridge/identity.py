"""Which chair the bridge speaks for: the board's identity, and what changes when it changes.

The chair's topics and Home Assistant's unique ids follow the board, not the service: a board
that identifies itself with a serial number gives the chair id (`chair_<serial>`, or the
owner's `node_id`) and the unique ids (always the serial). Before any board has identified
itself (the service started with the chair unplugged) the bridge still connects, under a
provisional id, so an integrator sees the service online and its board away:

    node_id set:      <base>/<node_id>/...        the chair's own topics, from the start
    node_id not set:  <base>/<service_id>/...     `service_<host>_<service name>` by default

Discovery waits for the serial number (a unique id from anything else would change later).

When another board appears (a different serial number), the bridge moves to it: the old
chair's topics say `offline` (it stays in Home Assistant, unavailable, as a chair that is
away does), or, for provisional topics, are cleared; under a `node_id` the topics stay and only
the unique ids change, so the old board's entities are removed before the new ones are
announced. `retire` lists those publications.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass

from massagectl.mqtt_bridge.discovery import (
    REMOVE,
    ChairDescription,
    DiscoveryForm,
    Publication,
    config_topics,
)
from massagectl.mqtt_bridge.topics import OFFLINE, chair_id_from_serial

_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]+")


@dataclass(frozen=True)
class Identity:
    chair_id: str  # in topics
    serial_number: str | None = None  # None: no board has identified itself yet
    firmware_version: str = ""

    @property
    def known(self) -> bool:
        return self.serial_number is not None


def default_service_id(service_name: str = "chair") -> str:
    """The provisional id of a service on this computer: its host and the service's name
    (`serve --chair NAME`), so services on one broker do not share one."""
    text = f"{socket.gethostname()}_{service_name}"
    return "service_" + (_UNSAFE.sub("_", text).strip("_").lower() or "chair")


def provisional(node_id: str | None, service_id: str) -> Identity:
    return Identity(node_id or service_id)


def identified(serial_number: str, firmware_version: str, node_id: str | None) -> Identity:
    return Identity(node_id or chair_id_from_serial(serial_number), serial_number,
                    firmware_version)


def retire(old: ChairDescription, old_identity: Identity, new_identity: Identity,
           form: DiscoveryForm) -> list[Publication]:
    """What the broker must hear about the old chair when the bridge moves to a new one."""
    topics = old.topics
    if old_identity.chair_id == new_identity.chair_id:
        if old_identity.known and old_identity.serial_number != new_identity.serial_number:
            # The same topics, another board: the old board's entities go, the new come.
            return [Publication(topic, REMOVE) for topic in config_topics(old, form)]
        return []
    if not old_identity.known:  # provisional topics: nothing lasting was said under them
        return [Publication(topic, REMOVE) for topic in (
            topics.availability, topics.board, topics.state, topics.routines,
            topics.last_command)]
    return [Publication(topics.availability, OFFLINE), Publication(topics.board, OFFLINE)]
