"""Home Assistant discovery: whole payloads, validity, both forms, migration and removal."""

from __future__ import annotations

import json

from massagectl.mqtt_bridge.discovery import (
    MIGRATE,
    REMOVE,
    DiscoveryForm,
    announcement,
    device_config_topic,
    device_payload,
    entity_payloads,
    migration,
    removal,
)

from .chairs import described_chair
from .home_assistant import (
    DEVICE_KEYS,
    DEVICE_PAYLOAD_ABBREVIATIONS,
    ORIGIN_KEYS,
    problems_with,
)

CHAIR = described_chair()
AVAILABILITY_BOTH = [
    {"topic": "massagectl/chair_sn-0042/availability", "payload_available": "online",
     "payload_not_available": "offline"},
    {"topic": "massagectl/chair_sn-0042/board", "payload_available": "online",
     "payload_not_available": "offline"},
]
DEVICE = {
    "identifiers": ["massagectl_sn_0042"], "name": "Massage chair SN-0042",
    "manufacturer": "massagectl", "model": "chair", "serial_number": "SN-0042",
    "sw_version": "1.2.0",
}


def component_of(topic: str) -> str:
    return topic.split("/")[1]


def test_the_intensity_slider_payload_whole():
    payload = entity_payloads(CHAIR)["homeassistant/number/chair_sn-0042/intensity/config"]
    assert payload == {
        "name": "Intensity",
        "unique_id": "massagectl_sn_0042_intensity",
        "command_topic": "massagectl/chair_sn-0042/intensity/set",
        "state_topic": "massagectl/chair_sn-0042/state",
        "value_template": "{{ value_json.intensity }}",
        "min": 1, "max": 5, "step": 1, "mode": "slider", "icon": "mdi:gauge",
        "availability": AVAILABILITY_BOTH,
        "availability_mode": "all",
        "qos": 1,
        "device": DEVICE,
        "origin": {"name": "massagectl", "sw_version": CHAIR.software_version},
    }


def test_the_board_connected_sensor_stays_available_without_the_board():
    payload = entity_payloads(CHAIR)[
        "homeassistant/binary_sensor/chair_sn-0042/board_connected/config"]
    assert payload["availability"] == AVAILABILITY_BOTH[:1]
    assert payload["state_topic"] == "massagectl/chair_sn-0042/board"
    assert (payload["payload_on"], payload["payload_off"]) == ("online", "offline")
    assert payload["entity_category"] == "diagnostic"


def test_a_pressure_sensor_payload_whole():
    payload = entity_payloads(CHAIR)["homeassistant/sensor/chair_sn-0042/pressure_calves/config"]
    del payload["device"], payload["origin"]
    assert payload == {
        "name": "Calves pressure",
        "unique_id": "massagectl_sn_0042_pressure_calves",
        "state_topic": "massagectl/chair_sn-0042/state",
        "value_template": "{{ value_json.pressure_kpa.calves }}",
        "device_class": "pressure", "unit_of_measurement": "kPa",
        "state_class": "measurement", "suggested_display_precision": 1,
        "availability": AVAILABILITY_BOTH, "availability_mode": "all",
    }


def test_every_entity_payload_is_one_home_assistant_accepts():
    payloads = entity_payloads(CHAIR)
    problems = [f"{topic}: {problem}" for topic, payload in payloads.items()
                for problem in problems_with(component_of(topic), payload)]
    assert problems == []
    unique_ids = [payload["unique_id"] for payload in payloads.values()]
    assert len(unique_ids) == len(set(unique_ids))
    assert all(payload["device"] == DEVICE for payload in payloads.values())
    assert set(DEVICE) <= DEVICE_KEYS
    assert set(next(iter(payloads.values()))["origin"]) <= ORIGIN_KEYS


def test_the_entities_the_issue_lists_are_all_there():
    by_id = {topic.split("/")[3]: component_of(topic) for topic in entity_payloads(CHAIR)}
    expected = {
        "routine": "select", "timer": "select", "start": "button", "pause": "button",
        "resume": "button", "stop": "button", "intensity": "number", "heat": "switch",
        "zone_calves": "switch", "zone_neck": "switch", "time_left": "sensor",
        "session_end": "sensor", "pressure_seat": "sensor", "temperature_lower_back": "sensor",
        "state": "sensor", "running": "binary_sensor", "seat_occupied": "binary_sensor",
        "fault": "binary_sensor", "board_connected": "binary_sensor", "remote_key": "event",
        "safety_trip": "event", "session_ended": "event", "last_command": "sensor",
    }
    assert {key: by_id.get(key) for key in expected} == expected


def test_names_never_repeat_the_device_name_and_ids_never_come_from_names():
    renamed = described_chair(name="Spa room 3")
    for payload in entity_payloads(renamed).values():
        assert not payload["name"].lower().startswith(("massage", "spa room"))
    assert ({p["unique_id"] for p in entity_payloads(renamed).values()}
            == {p["unique_id"] for p in entity_payloads(CHAIR).values()})


def test_a_node_id_moves_the_topics_but_keeps_the_unique_ids():
    moved = described_chair(node_id="lounge")
    assert all("/lounge/" in topic for topic in entity_payloads(moved))
    assert ({p["unique_id"] for p in entity_payloads(moved).values()}
            == {p["unique_id"] for p in entity_payloads(CHAIR).values()})


def test_the_device_payload_carries_the_same_entities_under_cmps():
    payload = device_payload(CHAIR)
    assert set(payload) == {"dev", "o", "cmps"}
    assert set(payload) <= set(DEVICE_PAYLOAD_ABBREVIATIONS)
    assert payload["dev"] == DEVICE
    per_entity = entity_payloads(CHAIR)
    assert len(payload["cmps"]) == len(per_entity)
    for topic, entity in per_entity.items():
        component = payload["cmps"][topic.split("/")[3]]
        assert component["p"] == component_of(topic)
        assert {k: v for k, v in component.items() if k != "p"} == {
            k: v for k, v in entity.items() if k not in ("device", "origin")}
        assert problems_with(component["p"], {k: v for k, v in component.items() if k != "p"}) == []


def test_migration_to_device_discovery_follows_home_assistants_documented_order():
    steps = migration(CHAIR, DiscoveryForm.DEVICE)
    old = list(entity_payloads(CHAIR))
    assert [(s.topic, s.payload) for s in steps[:len(old)]] == [(t, MIGRATE) for t in old]
    assert steps[len(old)].topic == device_config_topic(CHAIR)
    assert json.loads(steps[len(old)].payload) == device_payload(CHAIR)
    assert [(s.topic, s.payload) for s in steps[len(old) + 1:]] == [(t, REMOVE) for t in old]
    assert json.loads(MIGRATE) == {"migrate_discovery": True}
    assert all(step.retain for step in steps)


def test_migration_back_to_per_entity_discovery():
    steps = migration(CHAIR, DiscoveryForm.ENTITY)
    assert (steps[0].topic, steps[0].payload) == (device_config_topic(CHAIR), MIGRATE)
    assert [s.topic for s in steps[1:-1]] == list(entity_payloads(CHAIR))
    assert (steps[-1].topic, steps[-1].payload) == (device_config_topic(CHAIR), REMOVE)


def test_removal_clears_both_forms_and_the_chairs_retained_topics():
    cleared = {step.topic for step in removal(CHAIR) if step.payload == REMOVE and step.retain}
    assert set(entity_payloads(CHAIR)) | {device_config_topic(CHAIR)} <= cleared
    assert {"massagectl/chair_sn-0042/state", "massagectl/chair_sn-0042/availability",
            "massagectl/chair_sn-0042/routines"} <= cleared


def test_announcements_are_compact_json_in_either_form():
    for form in DiscoveryForm:
        for publication in announcement(CHAIR, form):
            assert publication.retain
            assert json.loads(publication.payload)
            assert ": " not in publication.payload[:40]
