"""Home Assistant MQTT discovery payloads for one chair: pure functions, no broker here.

Two forms, the same entities and unique ids in both:

- per entity (the default): `<prefix>/<component>/<chair>/<object>/config`, one retained payload
  per entity, each with the shared `device` block and `origin`. Every Home Assistant version
  and openHAB's Home Assistant binding read it.
- per device (Home Assistant 2024.11 and later): `<prefix>/device/<chair>/config`, one payload
  with `dev`, `o` and `cmps` (one component per entity, `p` naming its platform).

Moving between them follows Home Assistant's documented migration, so no entity is lost or
renamed: `{"migrate_discovery": true}` on the old topics, then the new payloads, then an empty
retained payload on the old topics (`migration`). An empty retained payload on every config
topic removes the chair from Home Assistant (`removal`).

Unique ids come from the board's serial number, never from a name, so renaming the chair or
changing its topics never makes `_2` duplicates. Entity names do not repeat the device's name
(Home Assistant prefixes it). `object_id` is deprecated and not used.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from massagectl.mqtt_bridge.topics import EVENT_KINDS, OFFLINE, ONLINE, ChairTopics

ORIGIN_NAME = "massagectl"
MIGRATE = json.dumps({"migrate_discovery": True})
REMOVE = ""  # an empty retained payload removes a discovered entity (and clears the topic)
COMMAND_QOS = 1  # a stop pressed in Home Assistant must not be lost to a dropped packet


class DiscoveryForm(StrEnum):
    ENTITY = "entity"  # one config topic per entity
    DEVICE = "device"  # one config topic for the whole chair


@dataclass(frozen=True)
class ChairDescription:
    """What discovery needs to know about one chair."""

    topics: ChairTopics
    serial_number: str
    name: str  # the device's name in Home Assistant; never used in an id
    model: str  # the device profile's name
    firmware_version: str
    software_version: str  # massagectl's version, for `origin`
    routines: tuple[str, ...]
    zones: tuple[str, ...]  # zones that can be switched off
    pressure_zones: tuple[str, ...]  # zones with a pressure sensor, kPa
    temperature_zones: tuple[str, ...]  # zones with a temperature sensor, degrees C
    session_states: tuple[str, ...]
    timer_choices_min: tuple[int, ...]
    intensity_levels: tuple[int, ...]
    remote_keys: tuple[str, ...]
    trip_causes: tuple[str, ...]
    session_ends: tuple[str, ...]
    has_seat_sensor: bool = True
    discovery_prefix: str = "homeassistant"


@dataclass(frozen=True)
class Entity:
    """One Home Assistant entity: its platform, its id within the chair and its options."""

    component: str
    object_id: str
    name: str
    options: dict[str, Any] = field(default_factory=dict)
    board_dependent: bool = True  # unavailable while the board's link is down


@dataclass(frozen=True)
class Publication:
    topic: str
    payload: str
    retain: bool = True


def unique_id_prefix(serial_number: str) -> str:
    return f"massagectl_{_slug(serial_number)}"


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_")


def _title(zone: str) -> str:
    return zone.replace("_", " ").capitalize()


def entities(chair: ChairDescription) -> list[Entity]:
    """Every entity of the chair, in the order Home Assistant lists them."""
    topics = chair.topics
    state = {"state_topic": topics.state}
    listed: list[Entity] = [
        Entity("select", "routine", "Routine", {
            "command_topic": topics.command("routine"), **state,
            "value_template": "{{ value_json.selected_routine }}", "options": list(chair.routines),
            "icon": "mdi:playlist-play"}),
    ]
    for word, icon in (("start", "mdi:play"), ("pause", "mdi:pause"),
                       ("resume", "mdi:play-pause"), ("stop", "mdi:stop")):
        listed.append(Entity("button", word, word.capitalize(), {
            "command_topic": topics.command(word), "payload_press": "PRESS", "icon": icon}))
    listed += [
        Entity("number", "intensity", "Intensity", {
            "command_topic": topics.command("intensity"), **state,
            "value_template": "{{ value_json.intensity }}",
            "min": min(chair.intensity_levels), "max": max(chair.intensity_levels), "step": 1,
            "mode": "slider", "icon": "mdi:gauge"}),
        Entity("switch", "heat", "Heat", {
            "command_topic": topics.command("heat"), **state,
            "value_template": "{{ value_json.heat }}", "payload_on": "ON", "payload_off": "OFF",
            "icon": "mdi:heat-wave"}),
        Entity("select", "timer", "Timer", {
            "command_topic": topics.command("timer"), **state,
            "value_template": "{{ value_json.timer_min }}",
            "options": [str(minutes) for minutes in chair.timer_choices_min],
            "icon": "mdi:timer-outline"}),
    ]
    for zone in chair.zones:
        listed.append(Entity("switch", f"zone_{zone}", f"{_title(zone)} massage", {
            "command_topic": topics.zone_command(zone), **state,
            "value_template": f"{{{{ 'OFF' if '{zone}' in value_json.zones_off else 'ON' }}}}",
            "payload_on": "ON", "payload_off": "OFF", "icon": "mdi:human-handsdown"}))
    listed += [
        Entity("sensor", "time_left", "Time left", {
            **state, "value_template": "{{ value_json.time_left_s }}",
            "device_class": "duration", "unit_of_measurement": "s"}),
        Entity("sensor", "session_end", "Session end", {
            **state, "value_template": "{{ value_json.ends_at }}",
            "device_class": "timestamp"}),
    ]
    for zone in chair.pressure_zones:
        listed.append(Entity("sensor", f"pressure_{zone}", f"{_title(zone)} pressure", {
            **state, "value_template": f"{{{{ value_json.pressure_kpa.{zone} }}}}",
            "device_class": "pressure", "unit_of_measurement": "kPa",
            "state_class": "measurement", "suggested_display_precision": 1}))
    for zone in chair.temperature_zones:
        listed.append(Entity("sensor", f"temperature_{zone}", f"{_title(zone)} temperature", {
            **state, "value_template": f"{{{{ value_json.temperature_c.{zone} }}}}",
            "device_class": "temperature", "unit_of_measurement": "°C",
            "state_class": "measurement", "suggested_display_precision": 1}))
    listed += [
        Entity("sensor", "state", "State", {
            **state, "value_template": "{{ value_json.status }}", "device_class": "enum",
            "options": list(chair.session_states)}),
        Entity("binary_sensor", "running", "Running", {
            **state, "value_template": "{{ 'ON' if value_json.running else 'OFF' }}",
            "device_class": "running"}),
        Entity("binary_sensor", "fault", "Fault", {
            **state, "value_template": "{{ 'ON' if value_json.fault else 'OFF' }}",
            "device_class": "problem"}),
        # Its own availability must not depend on the board, or it could never say "off".
        Entity("binary_sensor", "board_connected", "Board connected", {
            "state_topic": topics.board, "payload_on": ONLINE, "payload_off": OFFLINE,
            "device_class": "connectivity", "entity_category": "diagnostic"},
            board_dependent=False),
    ]
    if chair.has_seat_sensor:
        listed.insert(-2, Entity("binary_sensor", "seat_occupied", "Seat occupied", {
            **state, "value_template": "{{ 'ON' if value_json.seat_occupied else 'OFF' }}",
            "device_class": "occupancy"}))
    event_types = {"remote_key": chair.remote_keys, "safety_trip": chair.trip_causes,
                   "session_end": chair.session_ends}
    # (object id, name): the session's end is also a timestamp sensor, and unique ids must differ.
    event_entities = {"remote_key": ("remote_key", "Remote key"),
                      "safety_trip": ("safety_trip", "Safety trip"),
                      "session_end": ("session_ended", "Session ended")}
    for kind in EVENT_KINDS:
        object_id, name = event_entities[kind]
        listed.append(Entity("event", object_id, name, {
            "state_topic": topics.event(kind), "event_types": list(event_types[kind])}))
    listed.append(Entity("sensor", "last_command", "Last command", {
        "state_topic": topics.last_command, "value_template": "{{ value_json.outcome }}",
        "json_attributes_topic": topics.last_command, "entity_category": "diagnostic",
        "icon": "mdi:message-reply-text"}, board_dependent=False))
    return listed


def device_block(chair: ChairDescription) -> dict[str, Any]:
    return {
        "identifiers": [unique_id_prefix(chair.serial_number)],
        "name": chair.name,
        "manufacturer": "massagectl",
        "model": chair.model,
        "serial_number": chair.serial_number,
        "sw_version": chair.firmware_version,
    }


def origin_block(chair: ChairDescription) -> dict[str, Any]:
    return {"name": ORIGIN_NAME, "sw_version": chair.software_version}


def _availability(chair: ChairDescription, entity: Entity) -> dict[str, Any]:
    topics = [chair.topics.availability] + ([chair.topics.board] if entity.board_dependent else [])
    return {
        "availability": [{"topic": topic, "payload_available": ONLINE,
                          "payload_not_available": OFFLINE} for topic in topics],
        "availability_mode": "all",
    }


def _component_config(chair: ChairDescription, entity: Entity) -> dict[str, Any]:
    config: dict[str, Any] = {
        "name": entity.name,
        "unique_id": f"{unique_id_prefix(chair.serial_number)}_{entity.object_id}",
        **entity.options,
        **_availability(chair, entity),
    }
    if "command_topic" in config:
        config["qos"] = COMMAND_QOS
    return config


def entity_config_topic(chair: ChairDescription, entity: Entity) -> str:
    return (f"{chair.discovery_prefix}/{entity.component}/{chair.topics.chair_id}/"
            f"{entity.object_id}/config")


def device_config_topic(chair: ChairDescription) -> str:
    return f"{chair.discovery_prefix}/device/{chair.topics.chair_id}/config"


def entity_payloads(chair: ChairDescription) -> dict[str, dict[str, Any]]:
    """Per-entity discovery: config topic -> payload."""
    device, origin = device_block(chair), origin_block(chair)
    return {
        entity_config_topic(chair, entity): {
            **_component_config(chair, entity), "device": device, "origin": origin,
        }
        for entity in entities(chair)
    }


def device_payload(chair: ChairDescription) -> dict[str, Any]:
    """Device-based discovery: the one payload for `device_config_topic`."""
    return {
        "dev": device_block(chair),
        "o": origin_block(chair),
        "cmps": {
            entity.object_id: {"p": entity.component, **_component_config(chair, entity)}
            for entity in entities(chair)
        },
    }


def _encoded(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def announcement(chair: ChairDescription, form: DiscoveryForm) -> list[Publication]:
    """What to publish (retained) after every connect and every Home Assistant restart."""
    if form is DiscoveryForm.DEVICE:
        return [Publication(device_config_topic(chair), _encoded(device_payload(chair)))]
    return [Publication(topic, _encoded(payload))
            for topic, payload in entity_payloads(chair).items()]


def config_topics(chair: ChairDescription, form: DiscoveryForm) -> list[str]:
    if form is DiscoveryForm.DEVICE:
        return [device_config_topic(chair)]
    return [entity_config_topic(chair, entity) for entity in entities(chair)]


def migration(chair: ChairDescription, to: DiscoveryForm,
              old_topics: Iterable[str] | None = None) -> list[Publication]:
    """Home Assistant's documented hand-over from the other form to `to`: mark the old configs
    as migrating, publish the new ones, then clear the old topics. The entities keep their ids,
    names and history. `old_topics` defaults to every topic the other form would use."""
    other = DiscoveryForm.ENTITY if to is DiscoveryForm.DEVICE else DiscoveryForm.DEVICE
    old = list(old_topics) if old_topics is not None else config_topics(chair, other)
    return ([Publication(topic, MIGRATE) for topic in old]
            + announcement(chair, to)
            + [Publication(topic, REMOVE) for topic in old])


def removal(chair: ChairDescription) -> list[Publication]:
    """Everything that removes the chair from Home Assistant and the broker: both forms' config
    topics and the chair's own retained topics, each cleared with an empty retained payload."""
    topics = chair.topics
    retained = [topics.state, topics.board, topics.routines, topics.last_command,
                topics.availability]
    return [Publication(topic, REMOVE)
            for topic in config_topics(chair, DiscoveryForm.ENTITY)
            + config_topics(chair, DiscoveryForm.DEVICE) + retained]
