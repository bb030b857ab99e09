"""The terminal's keys during a session: each one acts, or is refused with the reason.

    answer = press_key(session, "p")   # "paused", or why not ("the body scan cannot pause ...")

A key that does nothing silently leaves a person guessing (and pressing again); so every key
gets an answer for the status panel, and an unknown key gets the list of keys.
"""

from __future__ import annotations

from massagectl.controller.frontends.remote_menu import clock_text
from massagectl.controller.frontends.status import KEYS_HELP
from massagectl.controller.session.session import Session
from massagectl.controller.session.state import SessionState, TransitionError
from massagectl.routines.device import ChannelKind
from massagectl.routines.errors import MassageError
from massagectl.routines.intensity import LEVELS
from massagectl.safety.stop_path import StopSource

STOP_KEYS = "qQ"
PAUSE_KEYS = "pP "
UP_KEYS = "+="
DOWN_KEYS = "-_"
HEAT_KEYS = "hH"
ENDING = (SessionState.STOPPING, SessionState.IDLE, SessionState.FAULT)


def press_key(session: Session, key: str) -> str:
    """Act on one key; the answer to show (empty for q: the panel shows the stop itself)."""
    if key in STOP_KEYS:
        session.stop(StopSource.TERMINAL, "q pressed")
        return ""
    if session.state in ENDING:
        return "the session is ending; nothing to change"
    try:
        if key in PAUSE_KEYS:
            return _pause_or_resume(session)
        if key in UP_KEYS or key in DOWN_KEYS:
            return _intensity(session, +1 if key in UP_KEYS else -1)
        if key in HEAT_KEYS:
            return _heat(session)
    except (TransitionError, MassageError) as error:
        return f"{key}: {error.message}"
    shown = repr(key) if not key.isprintable() or key.isspace() else key
    return f"{shown} does nothing here: {KEYS_HELP}"


def _pause_or_resume(session: Session) -> str:
    if session.state is SessionState.SCANNING:
        left_s = session.snapshot().scan_duration_s - session.snapshot().scan_elapsed_s
        return (f"the body scan cannot pause ({clock_text(left_s)} left); "
                "q stops it, p pauses the routine once it runs")
    if session.state is SessionState.PAUSED:
        session.resume()
        return "resuming: a gentle ramp back in"
    session.pause()
    return "pausing: everything goes to rest; p resumes"


def _intensity(session: Session, delta: int) -> str:
    before = session.level
    level = session.change_intensity(delta)
    if level == before:
        edge = "the strongest" if level == max(LEVELS) else "the gentlest"
        return f"intensity is {level}/5 already, {edge}"
    if session.state is SessionState.SCANNING:
        return f"intensity {level}/5 from the start of the routine (the scan runs at its own)"
    return f"intensity {level}/5"


def _heat(session: Session) -> str:
    heaters = session.device.channels_of(ChannelKind.HEAT)
    if not heaters:
        return f"the {session.device.name} has no heater"
    if session.plan is not None and not any(session.plan.channel_table(c.id).size
                                            for c in heaters):
        return f"{session.routine.name} uses no heat"
    wanted = session.toggle_heat()
    later = session.state is not SessionState.RUNNING
    if wanted:
        return "heat back on" + (" when the routine runs" if later else "")
    return "heat off" + (" for this session" if later else "") + "; h switches it back on"
