"""docs/mqtt.md, the topic contract, names every command and every field of the state."""

from __future__ import annotations

from pathlib import Path

from massagectl.controller.service.operations import ChairSnapshot, ChairState
from massagectl.mqtt_bridge.commands import MQTT_COMMANDS
from massagectl.mqtt_bridge.state_payload import state_payload
from massagectl.mqtt_bridge.topics import EVENT_KINDS

CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "mqtt.md"


def test_the_contract_names_every_command_state_field_and_event():
    text = CONTRACT.read_text(encoding="utf-8")
    fields = state_payload(ChairSnapshot(ChairState.IDLE, chair_id="SN-1"),
                           selected_routine=None, readings={}, pressure_sensors={},
                           temperature_sensors={})
    missing = [name for name in (*MQTT_COMMANDS, *fields, *EVENT_KINDS)
               if f"`{name}`" not in text and f"event/{name}`" not in text]
    assert missing == []
