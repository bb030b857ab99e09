"""Which chair the bridge speaks for: the board's identity, and what changes when it changes.

The chair's topics and Home Assistant's unique ids follow the board, not the service: a board
that identifies itself with a serial number gives the chair id (`chair_<serial>`, or the
owner's `node_id`) and the unique ids (always the serial). Before any board has identified
itself (the service started with the chair unplugged) the bridge still connects, under a
provisional id, so an integrator sees the service online and its board away:

    node_id set:      <base>/<node_id>/...        the chair's own topics, from the start
    node_id not set:  <base>/<service_id>/...     `service_<host>_<service name>_<token>`

Host names and service names repeat (every Raspberry Pi is `raspberrypi`, every service is
`chair` unless told otherwise), so a provisional id ends with a token of this installation:
made at random once and kept in the service's state folder (`service_token`), so it stays the
same across restarts and differs between two services however they are named. Discovery, and
so every unique id, waits for the serial number: a unique id from anything else would change
later, or collide. A board that reports no serial number is never identified that way: without
`node_id` the bridge stays under the provisional id, with no discovery.

When another board appears (a different serial number), the bridge moves to it: the old
chair's topics say `offline` (it stays in Home Assistant, unavailable, as a chair that is
away does), or, for provisional topics, are cleared; under a `node_id` the topics stay and only
the unique ids change, so the old board's entities are removed before the new ones are
announced. `retire` lists those publications.
"""

from __future__ import annotations

import logging
import re
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

from massagectl.controller.service.atomic import write_atomically
from massagectl.mqtt_bridge.discovery import (
    REMOVE,
    ChairDescription,
    DiscoveryForm,
    Publication,
    config_topics,
)
from massagectl.mqtt_bridge.topics import OFFLINE, chair_id_from_serial

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]+")
TOKEN_HEX_DIGITS = 8  # 32 random bits: two installations on one broker never draw the same
_TOKEN = re.compile(rf"^[0-9a-f]{{{TOKEN_HEX_DIGITS}}}$")
TOKEN_FOLDER = "mqtt"  # below the service's state folder: one file per service name


@dataclass(frozen=True)
class Identity:
    chair_id: str  # in topics
    serial_number: str | None = None  # None: no board has identified itself yet
    firmware_version: str = ""

    @property
    def known(self) -> bool:
        return self.serial_number is not None


def default_service_id(service_name: str = "chair", token: str | None = None) -> str:
    """The provisional id of a service: its host, the service's name (`serve --chair NAME`)
    and `token` (`service_token`; None: a fresh one, unique but new at every start)."""
    text = f"{socket.gethostname()}_{service_name}"
    token = token or secrets.token_hex(TOKEN_HEX_DIGITS // 2)
    return "service_" + (_UNSAFE.sub("_", text).strip("_").lower() or "chair") + f"_{token}"


def service_token(state_folder: Path, service_name: str = "chair") -> str:
    """This installation's token for a service name, kept in `<state folder>/mqtt/`: read, or
    made at random and written the first time. A folder that cannot be written gives a fresh
    token (logged): the id is still unique, but changes at the next start."""
    name = _UNSAFE.sub("_", service_name).strip("_") or "chair"
    path = state_folder / TOKEN_FOLDER / f"service-{name}.id"
    try:
        token = path.read_text(encoding="ascii").strip()
        if _TOKEN.match(token):
            return token
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError) as error:
        log.warning("cannot read %s (%s): making a new MQTT service id", path, error)
    token = secrets.token_hex(TOKEN_HEX_DIGITS // 2)
    try:
        write_atomically(path, token + "\n")
    except OSError as error:
        log.warning("cannot keep the MQTT service id in %s (%s): the provisional topics "
                    "will change at the next start", path, error)
    return token


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
