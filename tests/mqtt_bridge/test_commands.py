"""Command payloads: the plain and the JSON form give the same commands; bad input is named."""

from __future__ import annotations

import json
from contextlib import suppress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from massagectl.controller.service.vocabulary import (
    ChooseRoutine,
    Pause,
    Resume,
    SetHeat,
    SetIntensity,
    SetTimer,
    SetZone,
    Start,
    Stop,
)
from massagectl.mqtt_bridge.commands import (
    MAX_PAYLOAD_BYTES,
    ChairVocabulary,
    CommandError,
    parse_json_command,
    parse_plain_command,
)

VOCABULARY = ChairVocabulary(routines=("relax", "deep_tissue"), zones=("calves", "feet"))
TOPIC = "massagectl/c1/set"


def plain(word: str, payload: bytes | str, zone: str | None = None):
    data = payload.encode() if isinstance(payload, str) else payload
    return parse_plain_command(f"massagectl/c1/{word}/set", word, zone, data, VOCABULARY)


def as_json(document: object) -> bytes:
    return json.dumps(document).encode()


@pytest.mark.parametrize(("word", "payload", "zone", "expected"), [
    ("start", "relax", None, Start("relax")),
    ("start", "", None, Start(None)),
    ("stop", "PRESS", None, Stop()),
    ("pause", "", None, Pause()),
    ("resume", "PRESS", None, Resume()),
    ("intensity", "3", None, SetIntensity(3)),
    ("intensity", " 5.0 ", None, SetIntensity(5)),
    ("heat", "on", None, SetHeat(True)),
    ("heat", "OFF", None, SetHeat(False)),
    ("timer", "15", None, SetTimer(15)),
    ("routine", "deep_tissue", None, ChooseRoutine("deep_tissue")),
    ("zone", "OFF", "calves", SetZone("calves", False)),
])
def test_plain_commands(word, payload, zone, expected):
    assert plain(word, payload, zone).command == expected


@pytest.mark.parametrize(("document", "expected"), [
    ({"command": "start", "value": "relax"}, Start("relax")),
    ({"command": "stop"}, Stop()),
    ({"command": "intensity", "value": 1}, SetIntensity(1)),
    ({"command": "heat", "value": "ON"}, SetHeat(True)),
    ({"command": "timer", "value": 60}, SetTimer(60)),
    ({"command": "zone", "zone": "feet", "value": "ON"}, SetZone("feet", True)),
])
def test_json_commands_and_their_request_id(document, expected):
    parsed = parse_json_command(TOPIC, as_json({**document, "request_id": "r-1"}), VOCABULARY)
    assert parsed.command == expected
    assert parsed.request_id == "r-1"


@pytest.mark.parametrize(("word", "payload", "zone", "problem"), [
    ("intensity", "0", None, "0 is outside 1..5"),
    ("intensity", "6", None, "6 is outside 1..5"),
    ("intensity", "2.5", None, "2.5 is not a whole number"),
    ("intensity", "high", None, "'high' is not a number"),
    ("timer", "61", None, "61 min is outside 1..60 min"),
    ("timer", "0", None, "0 min is outside 1..60 min"),
    ("heat", "toggle", None, "'toggle' is not ON or OFF"),
    ("start", "relaks", None, "unknown routine 'relaks'; did you mean 'relax'?"),
    ("routine", "", None, "no routine named"),
    ("zone", "ON", "neck", "unknown zone 'neck'; known: calves, feet"),
    ("dance", "", None, "unknown command 'dance'"),
])
def test_bad_plain_values_are_named(word, payload, zone, problem):
    with pytest.raises(CommandError) as raised:
        plain(word, payload, zone)
    assert problem in raised.value.problem
    assert raised.value.topic == f"massagectl/c1/{word}/set"


def test_limits_edges_of_intensity_and_timer_pass():
    assert plain("intensity", "1").command == SetIntensity(1)
    assert plain("intensity", "5").command == SetIntensity(5)
    assert plain("timer", "1").command == SetTimer(1)
    assert plain("timer", "60").command == SetTimer(60)


@pytest.mark.parametrize(("payload", "problem"), [
    (b"{not json", "payload is not JSON"),
    (b"[1, 2]", "payload must be a JSON object"),
    (as_json({"value": 3}), "the field 'command' is missing"),
    (as_json({"command": "dance"}), "unknown command 'dance'"),
    (as_json({"command": "intensity", "value": "3"}), "value: '3' is text in quotes; write the"),
    (as_json({"command": "intensity", "value": 9}), "value: 9 is above 5, the most allowed"),
    (as_json({"command": "intensity"}), "the field 'value' is missing"),
    (as_json({"command": "stop", "force": True}), "unknown field 'force'"),
    (as_json({"command": "start", "value": "spa_day"}), "unknown routine 'spa_day'"),
    (b"\xff\xfe", "payload is not UTF-8 text"),
    (b"x" * (MAX_PAYLOAD_BYTES + 1), f"above the {MAX_PAYLOAD_BYTES}-byte limit"),
])
def test_bad_json_is_named(payload, problem):
    with pytest.raises(CommandError) as raised:
        parse_json_command(TOPIC, payload, VOCABULARY)
    assert problem in raised.value.problem
    assert str(raised.value).startswith(TOPIC)


def test_a_refused_json_command_still_answers_its_request_id():
    with pytest.raises(CommandError) as raised:
        parse_json_command(TOPIC, as_json({"command": "intensity", "value": 0,
                                           "request_id": "q7"}), VOCABULARY)
    assert raised.value.request_id == "q7"
    assert raised.value.command == "intensity"


@given(st.one_of(st.text(max_size=12), st.floats().map(str), st.integers().map(str)))
def test_a_value_that_parses_is_always_within_its_limits(text):
    """No payload on the intensity or timer topic gives a value outside 1..5 or 1..60 min."""
    for word, low, high in (("intensity", 1, 5), ("timer", 1, 60)):
        with suppress(CommandError):
            command = plain(word, text).command
            value = command.level if word == "intensity" else command.minutes
            assert isinstance(value, int) and low <= value <= high


@given(st.binary(max_size=2 * MAX_PAYLOAD_BYTES))
def test_no_payload_crashes_the_parser(payload):
    for word in ("start", "intensity", "heat", "timer", "routine", "stop"):
        with suppress(CommandError):
            plain(word, payload)
    with suppress(CommandError):
        parse_json_command(TOPIC, payload, VOCABULARY)


@given(st.dictionaries(st.sampled_from(["command", "value", "zone", "request_id", "x"]),
                       st.none() | st.booleans() | st.integers() | st.text(max_size=8)
                       | st.lists(st.integers(), max_size=2)))
def test_no_json_document_crashes_the_parser(document):
    with suppress(CommandError):
        parse_json_command(TOPIC, as_json(document), VOCABULARY)
