"""The chair's command vocabulary, defined once: what a person or a program can ask of it.

Every front-end speaks it: the remote's menu turns keys into these commands, the MQTT bridge
parses topics and JSON into them, the control socket parses its requests into them, and
`carry_out` does each through the service's operations (`ChairOperations`). A front-end offers
a subset (home automation has no "too much here" key; the remote has no routine chooser apart
from its highlighted line), but it never defines a command, a range or a help text of its own.

    OPERATIONS["intensity"]            # Operation: word, command class, help, arguments
    operation_of(SetIntensity(3)).word # "intensity"
    carry_out(ops, SetIntensity(3), Origin.MQTT)   # "intensity 3", or raises Refused

Commands are absolute where they can be (intensity 3, heat ON), for MQTT and the socket, where a
repeated or lost message must not leave the chair somewhere unexpected; the relative ones
(intensity up one, heat the other way) are for keys, where a person sees the result at once.
Ranges here are what a front-end lets through; the service still refuses what does not fit the
chair's state (a timer that is not one of its choices, heat while nothing runs).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum

from massagectl.controller.service.operations import (
    TIMER_CHOICES_MIN,
    ChairOperations,
    Origin,
)
from massagectl.routines.intensity import LEVELS
from massagectl.safety.limits import SESSION_HARD_MAX_MIN

# --- the commands --------------------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    routine: str | None = None  # None: the routine the front-end has chosen (ChooseRoutine)


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
class ChangeIntensity:
    delta: int  # levels up (+) or down (-)


@dataclass(frozen=True)
class SetHeat:
    on: bool


@dataclass(frozen=True)
class ToggleHeat:
    pass


@dataclass(frozen=True)
class SetTimer:
    minutes: int


@dataclass(frozen=True)
class SetZone:
    zone: str
    on: bool


@dataclass(frozen=True)
class ChooseRoutine:
    routine: str


@dataclass(frozen=True)
class ChooseUser:
    name: str


@dataclass(frozen=True)
class AllowRemoteStart:
    allowed: bool


@dataclass(frozen=True)
class ClearFaults:
    pass


@dataclass(frozen=True)
class Discomfort:
    pass


@dataclass(frozen=True)
class MarkSpot:
    name: str | None = None  # None: the service names the spot


Command = (
    Start | Stop | Pause | Resume | SetIntensity | ChangeIntensity | SetHeat | ToggleHeat
    | SetTimer | SetZone | ChooseRoutine | ChooseUser | AllowRemoteStart | ClearFaults
    | Discomfort | MarkSpot
)

# --- what each takes ---------------------------------------------------------------------


class Kind(StrEnum):
    WHOLE = "whole number"  # an int within low..high
    SWITCH = "switch"  # on or off (ON/OFF on the wire)
    NAME = "name"  # one of the chair's names of `names` (routines, zones, users)


class Names(StrEnum):
    """The lists a name is checked against: what this chair offers (`ChairOperations`)."""

    ROUTINE = "routine"
    ZONE = "zone"
    USER = "user"


@dataclass(frozen=True)
class Argument:
    name: str  # the command's field
    kind: Kind
    help: str
    low: int = 0  # WHOLE only
    high: int = 0
    unit: str = ""  # WHOLE only: shown after a value ("15 min")
    choices: tuple[int, ...] = ()  # WHOLE only: the values offered on a menu
    names: Names | None = None  # NAME only
    optional: bool = False  # may be left out (None)


@dataclass(frozen=True)
class Operation:
    word: str  # its name on every wire: MQTT topics and JSON, the control socket
    command: type
    help: str
    arguments: tuple[Argument, ...] = ()


def _whole(name: str, low: int, high: int, help_text: str, unit: str = "",
           choices: tuple[int, ...] = ()) -> Argument:
    return Argument(name, Kind.WHOLE, help_text, low=low, high=high, unit=unit, choices=choices)


_ROUTINE_HELP = "a routine name"
_TIMER_HELP = (f"minutes; the chair offers {', '.join(map(str, TIMER_CHOICES_MIN))}, and "
               "during a session only a shorter one")

OPERATIONS: dict[str, Operation] = {op.word: op for op in (
    Operation("start", Start, "start a routine now (the chosen one when none is named)",
              (Argument("routine", Kind.NAME, _ROUTINE_HELP, names=Names.ROUTINE,
                        optional=True),)),
    Operation("stop", Stop, "stop at once through the one stop path; never refused"),
    Operation("pause", Pause, "pause the session: every output safe, the place kept"),
    Operation("resume", Resume, "resume a paused session where it was"),
    Operation("intensity", SetIntensity, "set the intensity, now or for the next session",
              (_whole("level", min(LEVELS), max(LEVELS),
                      f"{min(LEVELS)} (gentlest) to {max(LEVELS)} (strongest)"),)),
    Operation("change_intensity", ChangeIntensity, "intensity up or down by some levels",
              (_whole("delta", min(LEVELS) - max(LEVELS), max(LEVELS) - min(LEVELS),
                      "levels up (+) or down (-); the level stays within "
                      f"{min(LEVELS)}-{max(LEVELS)}"),)),
    Operation("heat", SetHeat, "heat off at once, or back on as the routine has it",
              (Argument("on", Kind.SWITCH, "ON or OFF"),)),
    Operation("toggle_heat", ToggleHeat, "heat the other way: off if on, else on"),
    Operation("timer", SetTimer, "the session timer; a timer never lengthens a session",
              (_whole("minutes", 1, SESSION_HARD_MAX_MIN, _TIMER_HELP, unit=" min",
                      choices=TIMER_CHOICES_MIN),)),
    Operation("zone", SetZone, "a body zone off at once, or back on",
              (Argument("zone", Kind.NAME, "a body zone of this chair", names=Names.ZONE),
               Argument("on", Kind.SWITCH, "ON or OFF"))),
    Operation("routine", ChooseRoutine, "choose the routine a start without a name runs",
              (Argument("routine", Kind.NAME, _ROUTINE_HELP, names=Names.ROUTINE),)),
    Operation("user", ChooseUser, "who is sitting: the user profile for the next session",
              (Argument("name", Kind.NAME, "a user profile", names=Names.USER),)),
    Operation("allow_remote_start", AllowRemoteStart,
              "may home automation start a routine (the owner's setting)",
              (Argument("allowed", Kind.SWITCH, "ON or OFF"),)),
    Operation("clear_faults", ClearFaults, "clear latched faults after checking the chair"),
    Operation("discomfort", Discomfort,
              "too much here: the worked zone lower at once, and remembered"),
    Operation("mark", MarkSpot, "right there: remember the roller's place as a trigger point",
              (Argument("name", Kind.NAME, "a name for the spot", optional=True),)),
)}
_BY_COMMAND = {op.command: op for op in OPERATIONS.values()}


def operation_of(command: Command) -> Operation:
    return _BY_COMMAND[type(command)]


def argument(word: str, name: str) -> Argument:
    """One argument of one operation, e.g. `argument("timer", "minutes").choices`."""
    return next(a for a in OPERATIONS[word].arguments if a.name == name)


def build(word: str, values: dict[str, object]) -> Command:
    """The command `word` with its arguments' values (already checked by the caller)."""
    operation = OPERATIONS[word]
    names = {f.name for f in fields(operation.command)}
    return operation.command(**{k: v for k, v in values.items() if k in names})


# --- doing one ---------------------------------------------------------------------------

STOP_DETAILS = {  # what the stop path and the fault log record for a stop from each origin
    Origin.REMOTE: "STOP key on the remote",
    Origin.SOCKET: "massagectl stop",
    Origin.MQTT: "stop command over MQTT",
}


def carry_out(ops: ChairOperations, command: Command, origin: Origin) -> str:
    """Do `command` through the operations; what was done, in words ("intensity 3"). Raises
    `Refused` (nothing changed) when the chair cannot do it now. `Start(None)` and
    `ChooseRoutine` are the front-end's to resolve: it keeps the choice."""
    match command:
        case Stop():
            ops.stop(origin, STOP_DETAILS.get(origin, ""))
            return "stopped"
        case Start(routine=str() as routine):
            ops.start(routine, origin)
            return f"started {routine}"
        case Pause():
            ops.pause(origin)
            return "paused"
        case Resume():
            ops.resume(origin)
            return "resumed"
        case SetIntensity(level=level):
            return f"intensity {ops.set_intensity(level, origin)}"
        case ChangeIntensity(delta=delta):
            return f"intensity {ops.change_intensity(delta, origin)}"
        case SetHeat(on=on):
            return f"heat {'ON' if ops.set_heat(on, origin) else 'OFF'}"
        case ToggleHeat():
            on = ops.set_heat(not ops.snapshot().heat_on, origin)
            return f"heat {'ON' if on else 'OFF'}"
        case SetTimer(minutes=minutes):
            return f"timer {ops.set_timer(minutes, origin)} min"
        case SetZone(zone=zone, on=on):
            ops.set_zone(zone, on, origin)
            return f"zone {zone} {'ON' if on else 'OFF'}"
        case ChooseUser(name=name):
            ops.choose_user(name, origin)
            return f"user {name}"
        case AllowRemoteStart(allowed=allowed):
            ops.allow_remote_start(allowed, origin)
            return f"remote start {'allowed' if allowed else 'not allowed'}"
        case ClearFaults():
            cleared = ops.clear_faults(origin)
            return f"cleared {', '.join(cleared)}" if cleared else "no fault to clear"
        case Discomfort():
            return ops.discomfort(origin)
        case MarkSpot(name=name):
            return f"marked: {ops.mark_spot(name, origin)}"
    raise ValueError(f"{command!r} is the front-end's to resolve, not the chair's")
