"""Properties of command handling over any sequence of messages, without a broker: a retained
command never acts, a stop always does, and nothing outside the limits reaches the chair."""

from __future__ import annotations

import json

import aiomqtt
from hypothesis import given
from hypothesis import strategies as st

from massagectl.mqtt_bridge.context import BridgeContext
from massagectl.mqtt_bridge.discovery import DiscoveryForm
from massagectl.mqtt_bridge.extensions.commands import Commands

from .chairs import described_chair
from .fake_ops import FakeOperations

CHAIR = described_chair()
ROOT = CHAIR.topics.root

WORDS = ["start", "stop", "pause", "resume", "intensity", "heat", "timer", "routine",
         "zone/calves", "zone/neck", "dance"]
VALUES = ["", "relax", "deep_tissue", "spa", "0", "1", "3", "5", "6", "2.5", "ON", "OFF",
          "toggle", "10", "15", "61", "PRESS"]

plain_messages = st.tuples(st.sampled_from(WORDS), st.sampled_from(VALUES)).map(
    lambda pair: (f"{ROOT}/{pair[0]}/set", pair[1].encode()))
json_messages = st.fixed_dictionaries(
    {"command": st.sampled_from([*WORDS[:8], "zone", "dance"])},
    optional={"value": st.sampled_from([*VALUES, 3, 0, 9, 15, True, None]),
              "zone": st.sampled_from(["calves", "neck"]), "request_id": st.text(max_size=4),
              "extra": st.integers()},
).map(lambda document: (f"{ROOT}/set", json.dumps(document).encode()))
# Mostly back to back, so that floods exhaust the rate limit.
gaps_s = st.sampled_from([0.0, 0.0, 0.0, 0.001, 0.1, 1.0])
messages = st.lists(st.tuples(st.one_of(plain_messages, json_messages), st.booleans(), gaps_s),
                    max_size=60)


def is_stop(topic: str, payload: bytes) -> bool:
    """A well-formed stop, in either form (a JSON stop with a wrong field is refused)."""
    if topic.endswith("/stop/set"):
        return True
    if topic != CHAIR.topics.json_command:
        return False
    document = json.loads(payload)
    return document.get("command") == "stop" and set(document) <= {"command", "request_id"} \
        and 0 < len(document.get("request_id", "x")) <= 128


@given(messages)
def test_retained_never_acts_stop_always_does_and_values_stay_in_limits(sequence):
    ops = FakeOperations()
    context = BridgeContext(ops=ops, chair=CHAIR, discovery_form=DiscoveryForm.ENTITY,
                            readings=dict, pressure_sensors={}, temperature_sensors={})
    now_s = [0.0]
    commands = Commands(context, clock=lambda: now_s[0])
    for (topic, payload), retained, gap_s in sequence:
        now_s[0] += gap_s
        calls_before, stops_before = len(ops.calls), len(ops.stop_times_ns)
        commands.handle(aiomqtt.Message(topic, payload, 1, retained, 1, None))
        if retained:
            assert len(ops.calls) == calls_before
        elif is_stop(topic, payload):
            assert len(ops.stop_times_ns) == stops_before + 1
        answers = [json.loads(out.payload) for out in context.outbox
                   if out.topic == CHAIR.topics.response]
        assert answers and answers[-1]["result"] in ("done", "refused")
    for name, value in ops.calls:
        if name == "intensity":
            assert 1 <= value <= 5
        if name == "timer":
            assert 1 <= value <= 60
        if name == "start":
            assert value in CHAIR.routines


@given(st.integers(min_value=0, max_value=200),
       st.lists(st.sampled_from(["intensity", "heat", "timer", "routine"]), min_size=1))
def test_a_stop_behind_any_flood_is_carried_out(flood, words):
    ops = FakeOperations()
    context = BridgeContext(ops=ops, chair=CHAIR, discovery_form=DiscoveryForm.ENTITY,
                            readings=dict, pressure_sensors={}, temperature_sensors={})
    commands = Commands(context, clock=lambda: 0.0)  # all at the same instant
    values = {"intensity": b"2", "heat": b"ON", "timer": b"15", "routine": b"relax"}
    for index in range(flood):
        word = words[index % len(words)]
        commands.handle(aiomqtt.Message(f"{ROOT}/{word}/set", values[word], 0, False, 1, None))
    commands.handle(aiomqtt.Message(f"{ROOT}/stop/set", b"", 0, False, 1, None))
    assert len(ops.stop_times_ns) == 1
    assert len(ops.calls) - 1 <= 10  # the burst; the rest refused, not queued
