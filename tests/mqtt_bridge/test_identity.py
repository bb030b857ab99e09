"""The bridge follows the board: online before any board identified itself, and moved to the
new chair's topics and unique ids when another board is plugged into the same service."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

from massagectl.controller.config import MqttSettings
from massagectl.controller.service.core import ChairService
from massagectl.mqtt_bridge.bridge import MqttBridge, bridge_settings
from massagectl.mqtt_bridge.discovery import DiscoveryForm, entity_payloads
from massagectl.mqtt_bridge.identity import default_service_id, service_token
from massagectl.sim.board import serial_number_for
from tests.controller.service_rig import service_options

from .fake_ops import FakeOperations
from .harness import QUICK_REDISCOVERY_S, observing, running_bridge
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


# --- two services of one name on one broker --------------------------------------------------


@asynccontextmanager
async def unplugged_service(folder: Path, broker) -> AsyncIterator[MqttBridge]:
    """A service as `serve` builds it, its board's port missing (no board identifies)."""
    service = ChairService(replace(service_options(folder), port=str(folder / "no-board")))
    settings = replace(
        bridge_settings(MqttSettings(host=broker.host, port=broker.port), "chair",
                        state_folder=service.config.logs.directory),
        identify_grace_s=0.0, rediscovery_delay_s=QUICK_REDISCOVERY_S)
    bridge = MqttBridge(settings, service.device)
    await service.open([bridge])
    try:
        async with asyncio.timeout(30.0):
            await bridge.wait_connected()
        yield bridge
    finally:
        await service.close()


def test_two_services_of_one_name_on_one_broker_get_ids_of_their_own(tmp_path, broker,
                                                                     run_real_time):
    """Same host, same service name, one broker, no board: each service has its own
    provisional topics, keeps them across a restart, and announces no unique id."""

    async def scenario():
        seen: dict[str, object] = {}
        async with unplugged_service(tmp_path / "a", broker) as first:
            async with unplugged_service(tmp_path / "b", broker) as second:
                ids = (first.identity.chair_id, second.identity.chair_id)
                async with observing(broker, *(f"massagectl/{i}/state" for i in ids)) as seen_:
                    seen["states"] = [(await seen_.wait_json(f"massagectl/{i}/state"))["status"]
                                      for i in ids]
            seen["first_alone"] = await retained(broker, "massagectl/+/availability")
        async with unplugged_service(tmp_path / "a", broker) as again:
            seen["again"] = again.identity.chair_id
        seen["configs"] = await retained(broker, "homeassistant/#")
        return ids, seen

    (first_id, second_id), seen = run_real_time(scenario())
    host = default_service_id("chair", "x").removesuffix("_x")
    assert first_id != second_id
    assert first_id.startswith(host + "_") and second_id.startswith(host + "_")
    assert seen["states"] == ["disconnected", "disconnected"]
    # The second service's farewell did not say the first is gone.
    assert seen["first_alone"][f"massagectl/{first_id}/availability"] == b"online"
    assert seen["first_alone"][f"massagectl/{second_id}/availability"] == b"offline"
    assert seen["again"] == first_id  # the same service after a restart: the same topics
    assert seen["configs"] == {}  # no unique id before a serial number


def test_boards_identify_two_services_of_one_name_by_their_serial_numbers(tmp_path, broker,
                                                                          run_real_time):
    """Two services of one name: once their boards say their serial numbers, topics and
    unique ids come from those; a board without one keeps the provisional topics and gets no
    unique id at all."""
    ids = [default_service_id("chair", service_token(tmp_path / name)) for name in "abc"]

    async def scenario():
        boards = [FakeOperations(board=False) for _ in ids]
        async with running_bridge(broker, boards[0], service_id=ids[0], identify_grace_s=0.0
                                  ) as one, running_bridge(
                broker, boards[1], service_id=ids[1], identify_grace_s=0.0) as two, \
                running_bridge(broker, boards[2], service_id=ids[2],
                               identify_grace_s=0.0) as three, \
                observing(broker, "homeassistant/#") as seen:
            for bridge in (one, two, three):
                await bridge.wait_connected()
            for board, serial in zip(boards, ("SN-1", "SN-2", "chair"), strict=True):
                board.plug_in(serial)  # "chair": the profile's name, no serial number
            for bridge in (one, two, three):
                await bridge.wait_connected()
            configs = [await seen.wait_json(INTENSITY_CONFIG.format(chair))
                       for chair in ("chair_sn-1", "chair_sn-2")]
            kept = await retained(broker, "massagectl/+/availability", "homeassistant/#")
            identities = [bridge.identity for bridge in (one, two, three)]
        return configs, kept, identities

    configs, kept, identities = run_real_time(scenario())
    assert [config["unique_id"] for config in configs] == [
        "massagectl_sn_1_intensity", "massagectl_sn_2_intensity"]
    assert [identity.chair_id for identity in identities] == ["chair_sn-1", "chair_sn-2",
                                                             ids[2]]
    assert identities[2].serial_number is None
    availability = {topic: payload for topic, payload in kept.items()
                    if topic.endswith("/availability")}
    assert availability == {"massagectl/chair_sn-1/availability": b"online",
                            "massagectl/chair_sn-2/availability": b"online",
                            f"massagectl/{ids[2]}/availability": b"online"}
    configs_kept = [topic for topic in kept if topic.startswith("homeassistant/")]
    assert configs_kept and not any(ids[2] in topic or "/chair/" in topic
                                    for topic in configs_kept)


def test_a_service_token_is_kept_and_a_damaged_one_replaced(tmp_path, caplog):
    token = service_token(tmp_path, "spa 2")
    assert service_token(tmp_path, "spa 2") == token
    assert service_token(tmp_path, "chair") != token
    path = tmp_path / "mqtt" / "service-spa_2.id"
    assert path.read_text() == token + "\n"
    path.write_text("not a token\n")
    replaced = service_token(tmp_path, "spa 2")
    assert replaced != "not a token" and path.read_text() == replaced + "\n"
    blocked = tmp_path / "file"
    blocked.write_text("")  # a file where the folder should be: nothing can be written
    first, second = service_token(blocked, "chair"), service_token(blocked, "chair")
    assert first != second  # unique still, but new at every start
    assert "will change at the next start" in caplog.text
    assert default_service_id("chair", token).endswith("_chair_" + token)
