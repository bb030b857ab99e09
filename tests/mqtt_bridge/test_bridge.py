"""The bridge against a real Mosquitto, with a recording stand-in for the chair service."""

from __future__ import annotations

import asyncio
import json

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from massagectl.controller.service.operations import KeyPressed, Refused
from massagectl.mqtt_bridge.discovery import MIGRATE, DiscoveryForm, entity_payloads
from massagectl.mqtt_bridge.removal import forget_chair

from .fake_ops import FakeOperations
from .harness import observing, running_bridge

ROOT = "massagectl/chair_sn-0042"


def test_connect_announces_availability_discovery_state_and_routines(broker, run_real_time):
    async def scenario():
        ops = FakeOperations()
        async with running_bridge(broker, ops) as bridge, observing(
                broker, f"{ROOT}/#", "homeassistant/#") as seen:
            await bridge.wait_connected()
            assert (await seen.wait_for(f"{ROOT}/availability")).payload == b"online"
            assert (await seen.wait_for(f"{ROOT}/board")).payload == b"online"
            state = await seen.wait_json(f"{ROOT}/state")
            assert (state["status"], state["intensity"], state["heat"]) == ("idle", 3, "OFF")
            assert json.loads((await seen.wait_for(f"{ROOT}/routines")).payload) == [
                "relax", "deep_tissue"]
            expected = entity_payloads(bridge.context.chair)
            for topic, payload in expected.items():
                message = await seen.wait_for(topic)
                assert json.loads(message.payload) == payload
        return bridge

    run_real_time(scenario())


def test_commands_act_and_the_state_reads_back(broker, run_real_time):
    async def scenario():
        ops = FakeOperations()
        async with running_bridge(broker, ops) as bridge, observing(
                broker, f"{ROOT}/#") as seen:
            client = await bridge.wait_connected()
            del client
            for word, value in (("intensity", "4"), ("heat", "ON"), ("timer", "15"),
                                ("start", "relax")):
                await seen.client.publish(f"{ROOT}/{word}/set", value, qos=1)
                answer = await seen.wait_json(f"{ROOT}/response",
                                              lambda a, w=word: a["command"] == w)
                assert answer["result"] == "done", answer
            state = await seen.wait_json(
                f"{ROOT}/state", lambda s: s["status"] == "running" and s["intensity"] == 4)
            assert (state["heat"], state["timer_min"], state["routine"]) == ("ON", 15, "relax")
            assert state["ends_at"] is not None
            await seen.client.publish(f"{ROOT}/stop/set", "", qos=1)
            await seen.wait_json(f"{ROOT}/state", lambda s: s["status"] == "idle")
            last = await seen.wait_json(f"{ROOT}/last_command", lambda a: a["command"] == "stop")
            assert last["outcome"] == "stopped"
        assert [name for name, _ in ops.calls] == ["intensity", "heat", "timer", "start", "stop"]

    run_real_time(scenario())


def test_a_start_is_answered_when_admission_has_judged_it_and_a_stop_meanwhile_at_once(
        broker, run_real_time):
    async def scenario():
        ops = FakeOperations()
        ops.admission = asyncio.get_running_loop().create_future()
        async with running_bridge(broker, ops) as bridge, observing(
                broker, f"{ROOT}/response") as seen:
            await bridge.wait_connected()
            await seen.client.publish(f"{ROOT}/set", json.dumps(
                {"command": "start", "value": "relax", "request_id": "s1"}), qos=1)
            await seen.client.publish(f"{ROOT}/stop/set", "", qos=1)
            first = await seen.wait_json(f"{ROOT}/response")
            assert (first["command"], first["result"]) == ("stop", "done"), first
            ops.admission.set_exception(Refused("start", "the plan asks more than admitted"))
            answer = await seen.wait_json(f"{ROOT}/response", lambda a: a["command"] == "start")
        assert (answer["result"], answer["request_id"]) == ("refused", "s1"), answer
        assert "the plan asks more than admitted" in answer["reason"]

    run_real_time(scenario())


def test_a_retained_command_is_never_carried_out(broker, run_real_time):
    async def scenario():
        ops = FakeOperations()
        async with observing(broker, f"{ROOT}/response") as seen:
            await seen.client.publish(f"{ROOT}/start/set", "relax", qos=1, retain=True)
            async with running_bridge(broker, ops):
                answer = await seen.wait_json(f"{ROOT}/response")
            await seen.client.publish(f"{ROOT}/start/set", b"", qos=1, retain=True)
        assert answer["result"] == "refused"
        assert "retained command is never carried out" in answer["reason"]
        assert ops.calls == []

    run_real_time(scenario())


def test_bad_payloads_are_answered_and_nothing_happens(broker, run_real_time):
    cases = [
        (f"{ROOT}/intensity/set", b"7", "7 is outside 1..5"),
        (f"{ROOT}/heat/set", b"toggle", "'toggle' is not ON or OFF"),
        (f"{ROOT}/start/set", b"spa", "unknown routine 'spa'"),
        (f"{ROOT}/zone/neck/set", b"OFF", "unknown zone 'neck'"),
        (f"{ROOT}/set", b"{oops", "payload is not JSON"),
        (f"{ROOT}/set", b'{"command": "heat", "value": "ON", "colour": 1}',
         "unknown field 'colour'"),
        (f"{ROOT}/set", b"x" * 2_000_000, "above the 1024-byte limit"),
        (f"{ROOT}/pause/set", b"", "nothing to pause while idle"),
    ]

    async def scenario():
        ops = FakeOperations()
        answers = []
        async with running_bridge(broker, ops) as bridge, observing(
                broker, f"{ROOT}/response") as seen:
            await bridge.wait_connected()
            for index, (topic, payload, _) in enumerate(cases):
                await seen.client.publish(topic, payload, qos=1)
                answers.append(await seen.wait_json(f"{ROOT}/response", after=index))
        for answer, (topic, _, problem) in zip(answers, cases, strict=True):
            assert answer["result"] == "refused" and answer["topic"] == topic
            assert problem in answer["reason"], answer
        assert ops.calls == [("pause", None)]  # the one well-formed command, refused by the chair

    run_real_time(scenario())


def test_json_commands_answer_with_request_id_and_correlation_data(broker, run_real_time):
    async def scenario():
        ops = FakeOperations()
        async with running_bridge(broker, ops) as bridge, observing(
                broker, f"{ROOT}/response", "reply/here") as seen:
            await bridge.wait_connected()
            await seen.client.publish(f"{ROOT}/set", json.dumps(
                {"command": "intensity", "value": 2, "request_id": "r-9"}), qos=1)
            answer = await seen.wait_json(f"{ROOT}/response")
            assert (answer["result"], answer["request_id"], answer["detail"]) == (
                "done", "r-9", "intensity 2")
            properties = Properties(PacketTypes.PUBLISH)
            properties.ResponseTopic = "reply/here"
            properties.CorrelationData = b"\x01\x02"
            await seen.client.publish(f"{ROOT}/heat/set", "ON", qos=1, properties=properties)
            reply = await seen.wait_for("reply/here")
            assert reply.properties.CorrelationData == b"\x01\x02"
            assert json.loads(reply.payload)["detail"] == "heat ON"

    run_real_time(scenario())


def test_remote_start_refusals_carry_the_services_reason(broker, run_real_time):
    async def scenario():
        ops = FakeOperations(remote_start=False)
        async with running_bridge(broker, ops) as bridge, observing(
                broker, f"{ROOT}/response") as seen:
            await bridge.wait_connected()
            await seen.client.publish(f"{ROOT}/start/set", "relax", qos=1)
            answer = await seen.wait_json(f"{ROOT}/response")
        assert answer["reason"] == ("starting from home automation is not allowed (allow it "
                                    "on the remote's settings page)")

    run_real_time(scenario())


def test_home_assistant_coming_online_gets_discovery_again(broker, run_real_time):
    async def scenario():
        ops = FakeOperations()
        config = "homeassistant/number/chair_sn-0042/intensity/config"
        async with running_bridge(broker, ops) as bridge, observing(broker, config) as seen:
            await bridge.wait_connected()
            await seen.wait_for(config)
            before = len(seen.on(config))
            await seen.client.publish("homeassistant/status", "online", qos=1)
            await seen.wait_for(config, after=len(seen.messages))
            assert len(seen.on(config)) == before + 1

    run_real_time(scenario())


def test_remote_keys_become_home_assistant_events(broker, run_real_time):
    async def scenario():
        ops = FakeOperations()
        async with running_bridge(broker, ops) as bridge, observing(
                broker, f"{ROOT}/event/#") as seen:
            await bridge.wait_connected()
            await seen.client.publish("nothing/here", "", qos=1)  # a round trip: subscribed
            ops.emit(KeyPressed("INTENSITY_UP"))
            event = await seen.wait_json(f"{ROOT}/event/remote_key")
        assert event == {"event_type": "intensity_up"}

    run_real_time(scenario())


def test_stop_works_during_a_flood(broker, run_real_time):
    async def scenario():
        ops = FakeOperations()
        ops.start("relax", origin=None)  # a session the flood must not protect
        async with running_bridge(broker, ops) as bridge, observing(
                broker, f"{ROOT}/response") as seen:
            await bridge.wait_connected()
            for _ in range(300):
                await seen.client.publish(f"{ROOT}/intensity/set", "2", qos=0)
            await seen.client.publish(f"{ROOT}/stop/set", "", qos=1)
            await seen.wait_json(f"{ROOT}/response", lambda a: a["command"] == "stop")
            refused = [json.loads(m.payload) for m in seen.messages]
        assert ("stop", "stop command over MQTT") in ops.calls
        assert any("too many commands" in answer.get("reason", "") for answer in refused)
        assert sum(name == "intensity" for name, _ in ops.calls) <= 30

    run_real_time(scenario())


def test_the_bridge_leaves_with_offline(broker, run_real_time):
    async def scenario():
        async with observing(broker, f"{ROOT}/availability") as seen:
            async with running_bridge(broker, FakeOperations()) as bridge:
                await bridge.wait_connected()
                await seen.wait_for(f"{ROOT}/availability", lambda m: m.payload == b"online")
            await seen.wait_for(f"{ROOT}/availability", lambda m: m.payload == b"offline")

    run_real_time(scenario())


def test_a_chair_is_removed_cleanly(broker, run_real_time):
    async def scenario():
        async with running_bridge(broker, FakeOperations()) as bridge, observing(
                broker, "homeassistant/number/chair_sn-0042/intensity/config") as seen:
            await bridge.wait_connected()
            await seen.wait_for("homeassistant/number/chair_sn-0042/intensity/config")
        cleared = await forget_chair(bridge.settings, "chair_sn-0042")
        async with observing(broker, "homeassistant/#", f"{ROOT}/#") as after:
            await after.client.subscribe("probe/done", qos=1)
            await after.client.publish("probe/done", "x", qos=1)
            await after.wait_for("probe/done")
            left = [str(m.topic) for m in after.messages if m.retain]
        return bridge, cleared, left

    bridge, cleared, left = run_real_time(scenario())
    assert set(entity_payloads(bridge.context.chair)) <= set(cleared)
    assert {f"{ROOT}/state", f"{ROOT}/availability", f"{ROOT}/routines"} <= set(cleared)
    assert left == []


def test_switching_to_device_discovery_migrates_the_entities(broker, run_real_time):
    old = "homeassistant/number/chair_sn-0042/intensity/config"
    new = "homeassistant/device/chair_sn-0042/config"

    async def scenario():
        async with running_bridge(broker, FakeOperations()) as bridge, observing(
                broker, old) as seen:
            await bridge.wait_connected()
            await seen.wait_for(old)
        async with observing(broker, old, new) as seen, running_bridge(
                broker, FakeOperations(), discovery=DiscoveryForm.DEVICE) as bridge:
            await bridge.wait_connected()
            mark = len(seen.messages)
            await seen.wait_for(old, lambda m: m.payload == MIGRATE.encode(), after=mark)
            device = await seen.wait_json(new, after=mark)
            await seen.wait_for(old, lambda m: m.payload == b"", after=mark)
            order = [(str(m.topic), bytes(m.payload)[:20]) for m in seen.messages[mark:]]
        return device, order

    device, order = run_real_time(scenario())
    assert "intensity" in device["cmps"]
    topics = [topic for topic, _ in order]
    assert topics.index(old) < topics.index(new) < len(topics) - 1 - topics[::-1].index(old)
