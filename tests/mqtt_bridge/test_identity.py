"""The bridge follows the board: online before any board identified itself, and moved to the
new chair's topics and unique ids when another board is plugged into the same service."""

from __future__ import annotations

import json

from massagectl.mqtt_bridge.discovery import DiscoveryForm, entity_payloads
from massagectl.sim.board import serial_number_for

from .fake_ops import FakeOperations
from .harness import observing, running_bridge
from .service_chairs import service_with_bridge

SERVICE = "massagectl/service_test"
OLD, NEW = "massagectl/chair_sn-0042", "massagectl/chair_sn-0099"
INTENSITY_CONFIG = "homeassistant/number/{}/intensity/config"


async def retained(broker, *topic_filters: str) -> dict[str, bytes]:
    """What the broker keeps now on `topic_filters` (a probe round trip ends the list)."""
    async with observing(broker, *topic_filters, "probe/retained") as seen:
        await seen.client.publish("probe/retained", "x", qos=1)
        await seen.wait_for("probe/retained")
        return {str(m.topic): bytes(m.payload) for m in seen.messages  # type: ignore[arg-type]
                if m.retain}


def test_the_service_is_online_before_any_board_and_moves_when_one_identifies(
        broker, run_real_time):
    async def scenario():
        ops = FakeOperations(board=False)
        async with running_bridge(broker, ops, service_id="service_test",
                                  identify_grace_s=0.0) as bridge, observing(
                broker, f"{SERVICE}/#", f"{OLD}/#", "homeassistant/#") as seen:
            await bridge.wait_connected()
            assert (await seen.wait_for(f"{SERVICE}/availability")).payload == b"online"
            assert (await seen.wait_for(f"{SERVICE}/board")).payload == b"offline"
            state = await seen.wait_json(f"{SERVICE}/state")
            await seen.client.publish(f"{SERVICE}/start/set", "relax", qos=1)
            refused = await seen.wait_json(f"{SERVICE}/response")
            early_configs = [str(m.topic) for m in seen.messages
                             if str(m.topic).startswith("homeassistant/")]
            ops.plug_in("SN-0042")
            await bridge.wait_connected()
            assert (await seen.wait_for(f"{OLD}/availability")).payload == b"online"
            await seen.wait_for(INTENSITY_CONFIG.format("chair_sn-0042"))
        after = await retained(broker, f"{SERVICE}/#", f"{OLD}/availability")
        return state, refused, early_configs, after

    state, refused, early_configs, after = run_real_time(scenario())
    assert state["status"] == "disconnected"
    assert refused["result"] == "refused"  # the service refuses a start with no board
    assert early_configs == []  # unique ids wait for the serial number
    assert after == {f"{OLD}/availability": b"offline"}  # provisional topics cleared


def test_another_board_marks_the_old_chair_unavailable_and_announces_the_new(
        broker, run_real_time):
    async def scenario():
        ops = FakeOperations("SN-0042")
        async with running_bridge(broker, ops) as bridge, observing(
                broker, f"{NEW}/#", "homeassistant/#") as seen:
            await bridge.wait_connected()
            await seen.wait_for(INTENSITY_CONFIG.format("chair_sn-0042"))
            ops.unplug()
            ops.plug_in("SN-0099")
            await bridge.wait_connected()
            assert (await seen.wait_for(f"{NEW}/availability")).payload == b"online"
            config = await seen.wait_json(INTENSITY_CONFIG.format("chair_sn-0099"))
            await seen.client.publish(f"{NEW}/intensity/set", "4", qos=1)
            answer = await seen.wait_json(f"{NEW}/response")
            await seen.client.publish(f"{OLD}/intensity/set", "2", qos=1)  # nobody listens
            old = await retained(broker, f"{OLD}/availability", f"{OLD}/board",
                                 INTENSITY_CONFIG.format("chair_sn-0042"))
        return config, answer, old, ops.calls

    config, answer, old, calls = run_real_time(scenario())
    assert config["unique_id"] == "massagectl_sn_0099_intensity"
    assert config["device"]["serial_number"] == "SN-0099"
    assert answer["detail"] == "intensity 4"
    assert old[f"{OLD}/availability"] == b"offline" and old[f"{OLD}/board"] == b"offline"
    assert json.loads(old[INTENSITY_CONFIG.format("chair_sn-0042")])["unique_id"] == (
        "massagectl_sn_0042_intensity")  # still in Home Assistant, unavailable
    assert calls == [("intensity", 4)]


def test_under_a_node_id_another_board_replaces_the_entities_on_the_same_topics(
        broker, run_real_time):
    lounge = "massagectl/lounge"
    config_topic = INTENSITY_CONFIG.format("lounge")

    async def scenario():
        ops = FakeOperations("SN-0042")
        async with running_bridge(broker, ops, node_id="lounge") as bridge, observing(
                broker, config_topic, f"{lounge}/availability") as seen:
            await bridge.wait_connected()
            await seen.wait_json(config_topic)
            mark = len(seen.messages)
            ops.unplug()
            ops.plug_in("SN-0099")
            await bridge.wait_connected()
            await seen.wait_json(config_topic, lambda c: "sn_0099" in c["unique_id"],
                                 after=mark)
            order = [bytes(m.payload)[:40] for m in seen.on(config_topic)[1:]]
            availability = seen.on(f"{lounge}/availability")[-1].payload
        return order, availability, bridge

    order, availability, bridge = run_real_time(scenario())
    assert order[0] == b""  # the old board's entity removed first
    assert b"sn_0099" not in order[0] and len(order) == 2
    assert availability == b"online"
    assert set(entity_payloads(bridge.context.chair)) >= {config_topic}
    assert bridge.settings.discovery is DiscoveryForm.ENTITY


def test_a_different_board_on_the_real_service_moves_the_topics(tmp_path, broker,
                                                                run_real_time):
    first, second = "massagectl/chair_sim-chair-1", "massagectl/chair_sim-chair-2"

    async def scenario():
        async with service_with_bridge(tmp_path, broker) as (service, bridge), observing(
                broker, f"{first}/#", f"{second}/#") as seen:
            await seen.wait_for(f"{first}/availability", lambda m: m.payload == b"online")
            # Another board on the same cable: it identifies with its own serial number.
            service.simulator.board.serial_number = serial_number_for("chair", 2)
            await service.simulator.close_line()
            await seen.wait_for(f"{second}/availability", lambda m: m.payload == b"online")
            await seen.wait_json(f"{second}/state", lambda s: s["status"] == "idle")
            await seen.wait_for(f"{first}/availability", lambda m: m.payload == b"offline")
            return bridge.identity

    identity = run_real_time(scenario())
    assert identity.serial_number == "SIM-chair-2"
