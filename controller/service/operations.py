"""The chair service's operations and events: the one API every front-end uses.

    ops.start("relax", origin=Origin.REMOTE)    # Refused (with the reason) or started
    ops.stop(Origin.MQTT, "stop command")        # never refused: the one stop path
    ops.pause(o); ops.resume(o)
    ops.set_intensity(4, o); ops.change_intensity(-1, o)
    ops.set_heat(False, o); ops.set_timer(15, o); ops.set_zone("calves", False, o)
    ops.choose_user("anna", o); ops.clear_faults(o)
    ops.discomfort(o); ops.mark_spot("left_knot", o)
    ops.snapshot()                               # ChairSnapshot: what every display shows
    unsubscribe = ops.subscribe(callback)        # callback(event) for every ChairEvent

The remote's menu, the control socket and the MQTT bridge are front-ends: each is an extension
(`Extension`: start, stop) that calls these operations and listens to the events; none reaches
past them to the session, the link or the board. An operation that cannot be done now raises
`Refused`, whose message says why in the owner's words and what to do instead; it changes
nothing. `stop` is never refused and STOP works in every state, connected or not.

Operations are synchronous (they act, or refuse, before they return) and run on the service's
event loop; anything slow they set off (a session, a pause making the board safe, a start's
admission) is reported through the events. Absolute operations (`set_intensity(3)`,
`set_heat(True)`) are idempotent, for MQTT; relative ones (`change_intensity(+1)`) are for keys.
The commands front-ends give, with their arguments, ranges and help, are defined once beside
these, in `vocabulary.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, TypeVar, runtime_checkable

from massagectl.routines.errors import InputError

TIMER_CHOICES_MIN = (10, 15, 20, 30)  # the timer keys of commercial chairs (DESIGN.md)


class ChairState(StrEnum):
    """The chair as a person sees it (`massagectl status --json` `state`)."""

    IDLE = "idle"  # connected, safe, ready for a routine
    SCANNING = "scanning"  # the body scan before a routine
    RUNNING = "running"
    PAUSED = "paused"  # safe, remembering where the routine was
    STOPPING = "stopping"  # a stop is under way; the board has not confirmed safe yet
    FAULT = "fault"  # a latched fault: nothing starts until a person clears it
    DISCONNECTED = "disconnected"  # the board is away (unplugged, restarting); reconnecting


class Origin(StrEnum):
    """Who asked for an operation: logged with it, and some are allowed from some origins only
    (home automation may start a routine only when the owner allowed it)."""

    REMOTE = "remote"  # the handheld remote (or the virtual remote in a terminal)
    SOCKET = "socket"  # `massagectl start/stop` through the local control socket
    MQTT = "mqtt"  # home automation
    TERMINAL = "terminal"  # a signal or a key in the terminal that runs the service
    SERVICE = "service"  # the service itself (shutting down, a timer)


class Refused(InputError):
    """An operation that cannot be done now; nothing changed. `operation` names it."""

    def __init__(self, operation: str, message: str, hint: str | None = None) -> None:
        self.operation = operation
        super().__init__(message, hint)


@dataclass(frozen=True)
class RoutineChoice:
    """A routine the chair can start: built-in or from the owner's routine folder."""

    name: str
    duration_s: float
    builtin: bool


@dataclass(frozen=True)
class ChairSnapshot:
    """Everything a display shows, at one moment. Serialisable with `as_dict` (JSON-safe)."""

    state: ChairState
    chair_id: str  # the board's serial number (or the profile's name before a handshake)
    routine: str | None = None  # the routine running, paused or stopping, else None
    step: str = ""  # the techniques at work now, e.g. "knead + heat"
    elapsed_s: float = 0.0
    remaining_s: float = 0.0
    intensity: int = 3  # 1-5: the session's level, or the next session's when idle
    heat_on: bool = False
    timer_min: int | None = None  # the owner's timer for this (or the next) session
    zones_off: tuple[str, ...] = ()
    user: str = "default"
    faults: tuple[str, ...] = ()  # latched faults, "cause: detail", oldest first
    remote_start_allowed: bool = False  # may home automation start a routine
    seat_occupied: bool | None = None  # None: the chair has no seat sensor, or no reading yet
    port: str = ""
    model: str = ""  # the device profile's name, e.g. "chair"
    firmware: str = ""  # the board's firmware version, once it has identified itself
    connection_detail: str = ""  # why the board is away, when it is
    last_session: SessionSummary | None = None

    def as_dict(self) -> dict[str, object]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["state"] = str(self.state)
        data["zones_off"] = list(self.zones_off)
        data["faults"] = list(self.faults)
        data["elapsed_s"] = round(self.elapsed_s, 1)
        data["remaining_s"] = round(self.remaining_s, 1)
        data["last_session"] = None if self.last_session is None else self.last_session.as_dict()
        return data


@dataclass(frozen=True)
class SessionSummary:
    """How a session went: the history keeps one per session."""

    routine: str
    user: str
    started: str  # wall clock, ISO 8601 with the time zone
    ended: str
    ended_how: str  # "finished", "stopped", "fault", "error"
    detail: str
    massage_s: float
    origin: str  # who started it (an Origin)
    trace: str | None = None  # the trace file, when one was saved
    profile_changes: tuple[str, ...] = ()  # sensitive spots and trigger points recorded

    def as_dict(self) -> dict[str, object]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["profile_changes"] = list(self.profile_changes)
        data["massage_s"] = round(self.massage_s, 1)
        return data


# --- events -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StateChanged:
    """Something a display shows changed (state, step, intensity, heat, ...)."""

    snapshot: ChairSnapshot


@dataclass(frozen=True)
class SessionStarted:
    routine: str
    user: str
    origin: Origin


@dataclass(frozen=True)
class SessionEnded:
    summary: SessionSummary


@dataclass(frozen=True)
class FaultLatched:
    """A fault latched: the chair stopped and stays stopped until a person clears it."""

    cause: str
    detail: str


@dataclass(frozen=True)
class FaultsCleared:
    causes: tuple[str, ...]
    origin: Origin


@dataclass(frozen=True)
class KeyPressed:
    """A key on the handheld remote (its name, e.g. "STOP"), before the menu acts on it."""

    key: str


@dataclass(frozen=True)
class ConnectionChanged:
    """The board came (connected=True, with its serial number) or went (with the reason)."""

    connected: bool
    port: str
    chair_id: str
    detail: str = ""


@dataclass(frozen=True)
class ProfileChanged:
    """The user profile learnt something: a sensitive spot or a trigger point."""

    user: str
    change: str  # for people, e.g. "sensitive spot at calves: pressure capped at 4.5 kPa"


@dataclass(frozen=True)
class OperationRefused:
    """An operation was refused (it also raised `Refused` to its caller)."""

    operation: str
    reason: str
    origin: Origin


ChairEvent = (
    StateChanged | SessionStarted | SessionEnded | FaultLatched | FaultsCleared | KeyPressed
    | ConnectionChanged | ProfileChanged | OperationRefused
)
Listener = Callable[[ChairEvent], None]


@runtime_checkable
class ChairOperations(Protocol):
    """What a front-end may do with the chair. `ChairService` implements it."""

    def snapshot(self) -> ChairSnapshot: ...

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(event)` for every event from now on; returns the unsubscribe.
        Listeners run on the service's loop and must not block; an exception in one is
        logged and does not reach the others."""
        ...

    def routines(self) -> list[RoutineChoice]:
        """What `start` accepts, in menu order: built-in first, then the owner's folder."""
        ...

    def users(self) -> list[str]:
        """User profiles `choose_user` accepts ("default" first)."""
        ...

    def zones(self) -> list[str]:
        """Body zones `set_zone` can switch on this chair, head to toe."""
        ...

    def start(self, routine: str, origin: Origin, *,
              intensity: int | None = None) -> Awaitable[None]:
        """Start a routine. Refused at once: a session is active, a fault is latched, the
        board is away, the routine is unknown, or (from MQTT) remote start is not allowed or
        the seat is empty. Then it is compiled and admitted off the loop (so a STOP meanwhile
        acts at once); the awaitable ends when the session has begun, or raises Refused
        (also an OperationRefused event) when the plan was not admitted or a stop came first.
        Awaiting it is optional."""
        ...

    def stop(self, origin: Origin, detail: str = "") -> None:
        """Stop through the one stop path: STOP is written before this returns. Never
        refused; with nothing running it still makes sure the board is stopped."""
        ...

    def pause(self, origin: Origin) -> None: ...

    def resume(self, origin: Origin) -> None: ...

    def set_intensity(self, level: int, origin: Origin) -> int:
        """Intensity 1-5, now if a session runs, else for the next one; returns the level."""
        ...

    def change_intensity(self, delta: int, origin: Origin) -> int: ...

    def set_heat(self, on: bool, origin: Origin) -> bool:
        """Heat off at once, or back on within what admission accepted (running only)."""
        ...

    def set_timer(self, minutes: int, origin: Origin) -> int:
        """The session timer, one of TIMER_CHOICES_MIN. During a session it may only be
        shortened (counted from the session's start); a timer never extends a session."""
        ...

    def set_zone(self, zone: str, on: bool, origin: Origin) -> None:
        """A body zone off (at once) or back on; kept for the rest of the session."""
        ...

    def choose_user(self, name: str, origin: Origin) -> None:
        """Who is sitting: the user profile for the next session (refused while one runs)."""
        ...

    def allow_remote_start(self, allowed: bool, origin: Origin) -> None:
        """The owner's setting: may home automation start a routine (only from the chair's
        own remote or the local socket, never from MQTT itself)."""
        ...

    def clear_faults(self, origin: Origin) -> tuple[str, ...]:
        """Clear latched faults (a person checked the chair); returns the causes cleared."""
        ...

    def discomfort(self, origin: Origin) -> str:
        """"Too much here": the worked zone lowered at once, and the spot recorded in the
        user profile with a lower cap for later sessions. Returns what was recorded."""
        ...

    def mark_spot(self, name: str | None, origin: Origin) -> str:
        """"Right there": the roller's position recorded as a personal trigger point
        (relative to the shoulder line) that routines can target by name. Returns its name."""
        ...


OpsT = TypeVar("OpsT", contravariant=True)  # what a front-end needs of the service


class Extension(Protocol[OpsT]):
    """A front-end: started after the service is up, stopped before it goes down. It is given
    the operations (`Extension[ChairOperations]`), or the service itself (the remote, which
    draws on the board's display: `Extension[ChairService]`)."""

    name: str

    async def start(self, ops: OpsT) -> None: ...

    async def stop(self) -> None: ...
