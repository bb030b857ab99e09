r"""The session's states and every transition between them, in one table.

    IDLE --start--> SCANNING --scanned--> RUNNING --finished--> STOPPING --safe--> IDLE
                        \--skip_scan--/   |    ^
                                     pause|    |resume
                                          v    |
                                          PAUSED
    any active state --stop--> STOPPING --safe--> IDLE
    any state --fault--> FAULT --clear--> IDLE

STOPPING ends only when the board has confirmed the safe state. FAULT is latched: only an explicit
clear leaves it, and a new session cannot start from it. A transition not in the table is refused
with an error naming the state and the event, so a stray key press or MQTT command cannot move
the session somewhere it should not be.
"""

from __future__ import annotations

from enum import StrEnum

from massagectl.routines.errors import InputError


class SessionState(StrEnum):
    IDLE = "idle"
    SCANNING = "scanning"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPING = "stopping"
    FAULT = "fault"


class SessionEvent(StrEnum):
    START = "start"  # a routine was admitted and the link is up
    SCANNED = "scanned"  # the body scan found the shoulder line
    SKIP_SCAN = "skip_scan"  # no scan wanted (the profile's body map is used)
    PAUSE = "pause"
    RESUME = "resume"
    FINISHED = "finished"  # the plan ran to its end
    STOP = "stop"  # any stop source
    SAFE = "safe"  # the board confirmed the safe state
    FAULT = "fault"  # a supervisor trip or a board fault
    CLEAR = "clear"  # the owner cleared a latched fault


# Events a person (or MQTT) can ask for; the others come from the board and the runtime.
REQUESTS = frozenset(
    {SessionEvent.START, SessionEvent.PAUSE, SessionEvent.RESUME, SessionEvent.STOP,
     SessionEvent.CLEAR}
)

_ACTIVE = (SessionState.SCANNING, SessionState.RUNNING, SessionState.PAUSED)

TRANSITIONS: dict[tuple[SessionState, SessionEvent], SessionState] = {
    (SessionState.IDLE, SessionEvent.START): SessionState.SCANNING,
    (SessionState.SCANNING, SessionEvent.SCANNED): SessionState.RUNNING,
    (SessionState.SCANNING, SessionEvent.SKIP_SCAN): SessionState.RUNNING,
    (SessionState.RUNNING, SessionEvent.PAUSE): SessionState.PAUSED,
    (SessionState.PAUSED, SessionEvent.RESUME): SessionState.RUNNING,
    (SessionState.RUNNING, SessionEvent.FINISHED): SessionState.STOPPING,
    **{(state, SessionEvent.STOP): SessionState.STOPPING for state in _ACTIVE},
    # A second stop while stopping is the same stop (stop sources coalesce).
    (SessionState.STOPPING, SessionEvent.STOP): SessionState.STOPPING,
    # Stopping what is already stopped is not an error: the STOP key must always be safe to press.
    (SessionState.IDLE, SessionEvent.STOP): SessionState.IDLE,
    (SessionState.FAULT, SessionEvent.STOP): SessionState.FAULT,
    (SessionState.STOPPING, SessionEvent.SAFE): SessionState.IDLE,
    **{(state, SessionEvent.FAULT): SessionState.FAULT for state in SessionState},
    (SessionState.FAULT, SessionEvent.CLEAR): SessionState.IDLE,
}


class TransitionError(InputError):
    """An event that the current state does not accept."""


def next_state(state: SessionState, event: SessionEvent) -> SessionState:
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        accepted = sorted(e for (s, e) in TRANSITIONS if s is state and e in REQUESTS)
        raise TransitionError(
            f"cannot {event} while {state}", f"possible now: {', '.join(accepted) or 'nothing'}"
        ) from None
