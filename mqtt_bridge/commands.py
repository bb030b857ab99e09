"""Commands as they arrive over MQTT, checked before anything acts on them.

A command is absolute and idempotent (intensity 3, heat ON, routine relax), never a step or a
toggle, so repeating it or missing a state update cannot leave the chair somewhere unexpected.
Two forms carry the same commands:

    massagectl/<chair>/intensity/set     3
    massagectl/<chair>/set               {"command": "intensity", "value": 3, "request_id": "a1"}

The commands, their arguments and ranges are the service's (controller.service.vocabulary);
this module only says which of them MQTT offers (`MQTT_COMMANDS`) and how each argument sits on
the wire: a `zone` in the topic (`zone/<zone>/set`) or the JSON field `zone`, the other
argument as the plain payload or the JSON field `value`.

Parsing either form gives a vocabulary command or raises `CommandError`, whose message names
the topic and what is wrong in the words of someone writing an automation. Nothing here acts on
the chair.
"""

from __future__ import annotations

import functools
import json
import operator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    create_model,
)

from massagectl.controller.service.vocabulary import (
    OPERATIONS,
    Argument,
    Command,
    Kind,
    Names,
    build,
    operation_of,
)
from massagectl.routines.device import close_matches
from massagectl.routines.errors import InputError
from massagectl.routines.loading import plain_message

# A command is a word and a short value; anything longer is a mistake or an attack, and is
# refused before it is decoded or parsed.
MAX_PAYLOAD_BYTES = 1024
MAX_REQUEST_ID_CHARACTERS = 128
MAX_NAME_CHARACTERS = 64  # routine and zone names are short words
ON, OFF = "ON", "OFF"
# What home automation may ask, in the order error messages list them.
MQTT_COMMANDS = ("start", "stop", "pause", "resume", "intensity", "heat", "timer", "routine",
                 "zone")
TOPIC_ARGUMENT = "zone"  # the argument that sits in the topic, not the payload


def command_word(command: Command) -> str:
    """The word that names a command on its topic and in responses."""
    return operation_of(command).word


class CommandError(InputError):
    """A command that was not understood or not allowed here; nothing was done."""

    def __init__(self, topic: str, problem: str, command: str | None = None,
                 request_id: str | None = None) -> None:
        self.topic = topic
        self.problem = problem
        self.command = command
        self.request_id = request_id
        super().__init__(f"{topic}: {problem}")


@dataclass(frozen=True)
class ChairVocabulary:
    """The names a command may use on this chair: its routines and its zones."""

    routines: tuple[str, ...]
    zones: tuple[str, ...]

    def names(self, kind: Names) -> tuple[str, ...] | None:
        """The names of `kind` this chair has; None for names MQTT does not check."""
        return {Names.ROUTINE: self.routines, Names.ZONE: self.zones}.get(kind)


@dataclass(frozen=True)
class ParsedCommand:
    command: Command
    request_id: str | None = None


def _unknown_word(word: object) -> str:
    return f"unknown command {word!r}; known: {', '.join(MQTT_COMMANDS)}"


# --- the JSON form -----------------------------------------------------------------------------

Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_CHARACTERS,
                                        strip_whitespace=True)]
RequestId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_REQUEST_ID_CHARACTERS)]


class _Json(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    request_id: RequestId | None = None


def _json_field(argument: Argument) -> tuple[str, tuple[Any, Any]]:
    """An argument as a field of the JSON form: (field name, (type, default))."""
    field = TOPIC_ARGUMENT if argument.name == TOPIC_ARGUMENT else "value"
    kind: Any
    if argument.kind is Kind.WHOLE:
        kind = Annotated[int, Field(ge=argument.low, le=argument.high, strict=True)]
    elif argument.kind is Kind.SWITCH:
        kind = Literal["ON", "OFF"]
    else:
        kind = Name
    if argument.optional:
        return field, (kind | None, None)
    return field, (kind, ...)


def _json_model(word: str) -> type[_Json]:
    arguments = dict(_json_field(a) for a in OPERATIONS[word].arguments)
    return create_model(  # type: ignore[call-overload]
        f"_{word.capitalize()}Json", __base__=_Json, command=(Literal[word], ...), **arguments)


_JSON_MODELS = {word: _json_model(word) for word in MQTT_COMMANDS}
_JsonCommand: TypeAdapter[_Json] = TypeAdapter(
    Annotated[functools.reduce(operator.or_, _JSON_MODELS.values()),  # type: ignore[arg-type]
              Field(discriminator="command")])


def parse_json_command(topic: str, payload: bytes, vocabulary: ChairVocabulary) -> ParsedCommand:
    """The command in a JSON payload on `<base>/<chair>/set`."""
    text = _decoded(topic, payload)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise CommandError(topic, f"payload is not JSON ({error.msg} at character "
                           f"{error.pos}); send e.g. {{\"command\": \"stop\"}}") from None
    if not isinstance(document, dict):
        raise CommandError(topic, "payload must be a JSON object, e.g. {\"command\": \"stop\"}")
    request_id = request_id_of(document)
    word = document.get("command")
    try:
        model = _JsonCommand.validate_python(document)
    except ValidationError as error:
        raise CommandError(topic, _describe(error), word if isinstance(word, str) else None,
                           request_id) from None
    command = _from_json(model)
    try:
        checked = _checked(topic, command, vocabulary)
    except CommandError as error:
        raise CommandError(topic, error.problem, error.command, model.request_id) from None
    return ParsedCommand(checked, model.request_id)


def peek_json(payload: bytes) -> dict[str, object] | None:
    """A JSON command's document, not checked: to sort it, or to answer one that is not
    carried out. None when the payload is not a JSON object within MAX_PAYLOAD_BYTES."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        return None
    try:
        document = json.loads(payload)
    except ValueError:  # not UTF-8 (UnicodeDecodeError is one) or not JSON
        return None
    return document if isinstance(document, dict) else None


def request_id_of(document: dict[str, object]) -> str | None:
    """The request id to answer with, even when the rest of the payload is wrong."""
    request_id = document.get("request_id")
    if isinstance(request_id, str) and 0 < len(request_id) <= MAX_REQUEST_ID_CHARACTERS:
        return request_id
    return None


def _from_json(model: _Json) -> Command:
    word: str = getattr(model, "command")  # noqa: B009 (a field of the generated model)
    values: dict[str, object] = {}
    for argument in OPERATIONS[word].arguments:
        field = TOPIC_ARGUMENT if argument.name == TOPIC_ARGUMENT else "value"
        value = getattr(model, field)
        values[argument.name] = value == ON if argument.kind is Kind.SWITCH else value
    return build(word, values)


def _describe(error: ValidationError) -> str:
    """Pydantic's findings as one sentence per field, in the automation writer's terms."""
    parts = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"] if not str(part).startswith("_"))
        where = where.split(".", 1)[-1] if "." in where else where
        if item["type"] == "union_tag_invalid":
            parts.append(_unknown_word(item["input"].get("command")))
        elif item["type"] == "union_tag_not_found":
            parts.append("the field 'command' is missing; send e.g. {\"command\": \"stop\"}")
        elif item["type"] == "extra_forbidden":
            parts.append(f"unknown field {where!r}")
        elif item["type"] == "missing":
            parts.append(f"the field {where!r} is missing")
        else:
            # A command's fields are scalars, so the routine files' wording fits JSON as well
            # (a bound with its unit, text where a number belongs, ON/OFF as the choices).
            words = plain_message(item, item["loc"])
            parts.append(f"{where}: {words}" if words is not None
                         else f"{where}: {item['msg'].lower()} (got {item['input']!r})")
    return "; ".join(parts)


# --- the plain form ----------------------------------------------------------------------------

def parse_plain_command(topic: str, word: str, zone: str | None, payload: bytes,
                        vocabulary: ChairVocabulary) -> ParsedCommand:
    """The command on `<base>/<chair>/<word>/set` (or `.../zone/<zone>/set`), value in the
    payload as plain text."""
    text = _decoded(topic, payload).strip()
    command = _plain(topic, word, zone, text)
    return ParsedCommand(_checked(topic, command, vocabulary))


def _plain(topic: str, word: str, zone: str | None, text: str) -> Command:
    if word not in MQTT_COMMANDS:
        raise CommandError(topic, _unknown_word(word))
    values: dict[str, object] = {}
    for argument in OPERATIONS[word].arguments:
        if argument.name == TOPIC_ARGUMENT:
            if zone is None:
                raise CommandError(topic, _unknown_word(word))
            values[argument.name] = zone
        else:
            # Commands without an argument ignore the payload: Home Assistant's buttons send
            # PRESS, people send "".
            values[argument.name] = _plain_value(topic, word, argument, text)
    return build(word, values)


def _plain_value(topic: str, word: str, argument: Argument, text: str) -> object:
    if argument.kind is Kind.WHOLE:
        return _whole_number(topic, word, text, argument)
    if argument.kind is Kind.SWITCH:
        return _switch(topic, word, text)
    if text:
        return text
    if argument.optional:
        return None
    names = argument.names or argument.name
    raise CommandError(topic, f"no {names} named; send a {names}'s name", word)


def _whole_number(topic: str, word: str, text: str, argument: Argument) -> int:
    low, high, unit = argument.low, argument.high, argument.unit
    try:
        value = float(text)
    except ValueError:
        raise CommandError(topic, f"{text!r} is not a number; send a whole number from "
                           f"{low} to {high}{unit}", word) from None
    if not value.is_integer():
        raise CommandError(topic, f"{text} is not a whole number; send one from {low} to "
                           f"{high}{unit}", word)
    if not low <= value <= high:
        raise CommandError(topic, f"{value:g}{unit} is outside {low}..{high}{unit}", word)
    return int(value)


def _switch(topic: str, word: str, text: str) -> bool:
    if text.upper() not in (ON, OFF):
        raise CommandError(topic, f"{text!r} is not ON or OFF", word)
    return text.upper() == ON


# --- both forms ----------------------------------------------------------------------------------

def _decoded(topic: str, payload: bytes) -> str:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise CommandError(topic, f"payload of {len(payload)} bytes is above the "
                           f"{MAX_PAYLOAD_BYTES}-byte limit for a command")
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        raise CommandError(topic, "payload is not UTF-8 text") from None


def _checked(topic: str, command: Command, vocabulary: ChairVocabulary) -> Command:
    """Names checked against this chair: a routine or zone it does not have is refused."""
    operation = operation_of(command)
    for argument in operation.arguments:
        known = vocabulary.names(argument.names) if argument.names is not None else None
        value = getattr(command, argument.name)
        if known is not None and value is not None and value not in known:
            raise CommandError(topic, _unknown(str(argument.names), value, known),
                               operation.word)
    return command


def _unknown(kind: str, name: str, known: tuple[str, ...]) -> str:
    candidates = close_matches(name, list(known))
    if candidates:
        return f"unknown {kind} {name!r}; did you mean {' or '.join(map(repr, candidates))}?"
    return f"unknown {kind} {name!r}; known: {', '.join(known)}"
