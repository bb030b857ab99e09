"""Where everything lives on the broker, and which command a topic names.

    <base>/<chair>/state              retained JSON: status, routine, time left, readings, fault
    <base>/<chair>/availability       retained online/offline (offline is the connection's will)
    <base>/<chair>/board              retained online/offline: the link to the chair's board
    <base>/<chair>/routines           retained JSON list of the routines a start may name
    <base>/<chair>/last_command       retained JSON: the outcome of the latest command
    <base>/<chair>/event/<kind>       JSON {"event_type": ...}: remote keys, trips, session ends
    <base>/<chair>/<command>/set      a plain value: start relax, intensity 3, heat ON, ...
    <base>/<chair>/zone/<zone>/set    ON or OFF
    <base>/<chair>/set                the same commands as JSON, with an optional request_id
    <base>/<chair>/response           the answer to each command: done, or refused and why

Every chair's topics sit one level below the base, so `massagectl/+/state` lists all chairs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Command words that take their value as a plain payload on `<base>/<chair>/<word>/set`.
PLAIN_COMMANDS = ("start", "stop", "pause", "resume", "intensity", "heat", "timer", "routine")
EVENT_KINDS = ("remote_key", "safety_trip", "session_end")
ONLINE = "online"
OFFLINE = "offline"

_UNSAFE_ID_CHARACTERS = re.compile(r"[^a-zA-Z0-9_-]+")


def chair_id_from_serial(serial_number: str) -> str:
    """A topic- and id-safe chair id from the board's serial number (never from a name)."""
    cleaned = _UNSAFE_ID_CHARACTERS.sub("_", serial_number.strip()).strip("_")
    if not cleaned:
        raise ValueError(f"serial number {serial_number!r} has no letters or digits")
    return f"chair_{cleaned.lower()}"


@dataclass(frozen=True)
class CommandTopic:
    """A topic a command arrived on: the command word, and the zone for zone switches."""

    command: str | None  # None: the JSON topic, where the payload names the command
    zone: str | None = None


@dataclass(frozen=True)
class ChairTopics:
    """Every topic of one chair."""

    base_topic: str
    chair_id: str

    @property
    def root(self) -> str:
        return f"{self.base_topic}/{self.chair_id}"

    @property
    def state(self) -> str:
        return f"{self.root}/state"

    @property
    def availability(self) -> str:
        return f"{self.root}/availability"

    @property
    def board(self) -> str:
        return f"{self.root}/board"

    @property
    def routines(self) -> str:
        return f"{self.root}/routines"

    @property
    def last_command(self) -> str:
        return f"{self.root}/last_command"

    @property
    def response(self) -> str:
        return f"{self.root}/response"

    @property
    def json_command(self) -> str:
        return f"{self.root}/set"

    def command(self, word: str) -> str:
        return f"{self.root}/{word}/set"

    def zone_command(self, zone: str) -> str:
        return f"{self.root}/zone/{zone}/set"

    def event(self, kind: str) -> str:
        return f"{self.root}/event/{kind}"

    @property
    def command_filters(self) -> tuple[str, ...]:
        """Subscriptions that cover every command topic and nothing this bridge publishes."""
        return (self.json_command, f"{self.root}/+/set", f"{self.root}/zone/+/set")

    def parse_command_topic(self, topic: str) -> CommandTopic | None:
        """Which command a topic names; None for a topic that is not one of this chair's."""
        if topic == self.json_command:
            return CommandTopic(None)
        prefix = self.root + "/"
        if not topic.startswith(prefix) or not topic.endswith("/set"):
            return None
        parts = topic[len(prefix):-len("/set")].split("/")
        if len(parts) == 1:
            return CommandTopic(parts[0])
        if len(parts) == 2 and parts[0] == "zone":
            return CommandTopic("zone", parts[1])
        return None
