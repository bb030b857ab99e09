"""Commands as they arrive over MQTT, checked before anything acts on them.

A command is absolute and idempotent (intensity 3, heat ON, routine relax), never a step or a
toggle, so repeating it or missing a state update cannot leave the chair somewhere unexpected.
Two forms carry the same commands:

    massagectl/<chair>/intensity/set     3
    massagectl/<chair>/set               {"command": "intensity", "value": 3, "request_id": "a1"}

Parsing either one gives a `Command` or raises `CommandError`, whose message names the topic and
what is wrong in the words of someone writing an automation. Nothing here acts on the chair.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

from massagectl.routines.device import close_matches
from massagectl.routines.errors import InputError
from massagectl.routines.intensity import LEVELS
from massagectl.safety.limits import SESSION_HARD_MAX_MIN

# A command is a word and a short value; anything longer is a mistake or an attack, and is
# refused before it is decoded or parsed.
MAX_PAYLOAD_BYTES = 1024
MAX_REQUEST_ID_CHARACTERS = 128
ON, OFF = "ON", "OFF"


@dataclass(frozen=True)
class Start:
    routine: str | None  # None: the routine chosen before (the `routine` command)


@dataclass(frozen=True)
class Stop:
    pass


@dataclass(frozen=True)
class Pause:
    pass


@dataclass(frozen=True)
class Resume:
    pass


@dataclass(frozen=True)
class SetIntensity:
    level: int


@dataclass(frozen=True)
class SetHeat:
    on: bool


@dataclass(frozen=True)
class SetTimer:
    minutes: int


@dataclass(frozen=True)
class ChooseRoutine:
    routine: str


@dataclass(frozen=True)
class SetZone:
    zone: str
    on: bool


Command = (
    Start | Stop | Pause | Resume | SetIntensity | SetHeat | SetTimer | ChooseRoutine | SetZone
)


def command_word(command: Command) -> str:
    """The word that names a command on its topic and in responses."""
    return _WORDS[type(command)]


_WORDS: dict[type, str] = {
    Start: "start", Stop: "stop", Pause: "pause", Resume: "resume", SetIntensity: "intensity",
    SetHeat: "heat", SetTimer: "timer", ChooseRoutine: "routine", SetZone: "zone",
}


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


@dataclass(frozen=True)
class ParsedCommand:
    command: Command
    request_id: str | None = None


# --- the JSON form -----------------------------------------------------------------------------

Level = Annotated[int, Field(ge=min(LEVELS), le=max(LEVELS), strict=True)]
Minutes = Annotated[int, Field(ge=1, le=SESSION_HARD_MAX_MIN, strict=True)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
Switch = Literal["ON", "OFF"]
RequestId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_REQUEST_ID_CHARACTERS)]


class _Json(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    request_id: RequestId | None = None


class _StartJson(_Json):
    command: Literal["start"]
    value: Name | None = None


class _NoValueJson(_Json):
    command: Literal["stop", "pause", "resume"]


class _IntensityJson(_Json):
    command: Literal["intensity"]
    value: Level


class _HeatJson(_Json):
    command: Literal["heat"]
    value: Switch


class _TimerJson(_Json):
    command: Literal["timer"]
    value: Minutes


class _RoutineJson(_Json):
    command: Literal["routine"]
    value: Name


class _ZoneJson(_Json):
    command: Literal["zone"]
    zone: Name
    value: Switch


_JsonCommand = TypeAdapter(
    Annotated[
        _StartJson | _NoValueJson | _IntensityJson | _HeatJson | _TimerJson | _RoutineJson
        | _ZoneJson,
        Field(discriminator="command"),
    ]
)


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
    request_id = _request_id_of(document)
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


def _request_id_of(document: dict[str, object]) -> str | None:
    """The request id to answer with, even when the rest of the payload is wrong."""
    request_id = document.get("request_id")
    if isinstance(request_id, str) and 0 < len(request_id) <= MAX_REQUEST_ID_CHARACTERS:
        return request_id
    return None


def _from_json(model: BaseModel) -> Command:
    match model:
        case _StartJson(value=routine):
            return Start(routine)
        case _NoValueJson(command="stop"):
            return Stop()
        case _NoValueJson(command="pause"):
            return Pause()
        case _NoValueJson():
            return Resume()
        case _IntensityJson(value=level):
            return SetIntensity(level)
        case _HeatJson(value=switch):
            return SetHeat(switch == ON)
        case _TimerJson(value=minutes):
            return SetTimer(minutes)
        case _RoutineJson(value=routine):
            return ChooseRoutine(routine)
        case _ZoneJson(zone=zone, value=switch):
            return SetZone(zone, switch == ON)
    raise AssertionError(f"unhandled command model {model!r}")


def _describe(error: ValidationError) -> str:
    """Pydantic's findings as one sentence per field, in the automation writer's terms."""
    parts = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"] if not str(part).startswith("_"))
        where = where.split(".", 1)[-1] if "." in where else where
        if item["type"] == "union_tag_invalid":
            parts.append(f"unknown command {item['input'].get('command')!r}; known: "
                         f"{', '.join(_WORDS.values())}")
        elif item["type"] == "union_tag_not_found":
            parts.append("the field 'command' is missing; send e.g. {\"command\": \"stop\"}")
        elif item["type"] == "extra_forbidden":
            parts.append(f"unknown field {where!r}")
        elif item["type"] == "missing":
            parts.append(f"the field {where!r} is missing")
        else:
            parts.append(f"{where}: {item['msg'].lower()} (got {item['input']!r})")
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
    if word in ("stop", "pause", "resume"):
        # The payload does not matter: Home Assistant's buttons send PRESS, people send "".
        plain: dict[str, type[Stop | Pause | Resume]] = {"stop": Stop, "pause": Pause,
                                                          "resume": Resume}
        return plain[word]()
    if word == "start":
        return Start(text or None)
    if word == "routine":
        if not text:
            raise CommandError(topic, "no routine named; send a routine's name", word)
        return ChooseRoutine(text)
    if word == "intensity":
        return SetIntensity(_whole_number(topic, word, text, min(LEVELS), max(LEVELS), ""))
    if word == "timer":
        return SetTimer(_whole_number(topic, word, text, 1, SESSION_HARD_MAX_MIN, " min"))
    if word == "heat":
        return SetHeat(_switch(topic, word, text))
    if word == "zone" and zone is not None:
        return SetZone(zone, _switch(topic, word, text))
    raise CommandError(topic, f"unknown command {word!r}; known: {', '.join(_WORDS.values())}")


def _whole_number(topic: str, word: str, text: str, low: int, high: int, unit: str) -> int:
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
    word = command_word(command)
    routine = getattr(command, "routine", None)
    if routine is not None and routine not in vocabulary.routines:
        raise CommandError(topic, _unknown("routine", routine, vocabulary.routines), word)
    if isinstance(command, SetZone) and command.zone not in vocabulary.zones:
        raise CommandError(topic, _unknown("zone", command.zone, vocabulary.zones), word)
    return command


def _unknown(kind: str, name: str, known: tuple[str, ...]) -> str:
    candidates = close_matches(name, list(known))
    if candidates:
        return f"unknown {kind} {name!r}; did you mean {' or '.join(map(repr, candidates))}?"
    return f"unknown {kind} {name!r}; known: {', '.join(known)}"
