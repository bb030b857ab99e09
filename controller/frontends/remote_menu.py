"""The handheld remote's menu: keys in, actions and display rows out (no I/O here).

The remote is a small character display and a few keys wired to the chair's board; the board
forwards key presses and shows the rows the host sends. This module decides what a key means in
the current session state and what the display shows, so the session only carries out actions.
STOP always means stop, in every screen, before anything else is looked at.
"""

from __future__ import annotations

from dataclasses import dataclass

from massagectl.controller.session.state import SessionState
from massagectl.firmware_bridge.messages import RemoteKey

DISPLAY_COLUMNS = 16  # a 16x2 character LCD, the usual remote display
DISPLAY_ROWS = 2


@dataclass(frozen=True)
class StartRoutine:
    name: str


@dataclass(frozen=True)
class PauseSession:
    pass


@dataclass(frozen=True)
class ResumeSession:
    pass


@dataclass(frozen=True)
class StopSession:
    pass


@dataclass(frozen=True)
class ChangeIntensity:
    delta: int  # +1 or -1 level


@dataclass(frozen=True)
class ToggleHeat:
    pass


@dataclass(frozen=True)
class ClearFault:
    pass


Action = (
    StartRoutine | PauseSession | ResumeSession | StopSession | ChangeIntensity | ToggleHeat
    | ClearFault
)


@dataclass(frozen=True)
class SessionView:
    """What the menu needs to know about the session to draw itself."""

    state: SessionState
    routine: str | None = None
    remaining_s: float = 0.0
    intensity: int = 3
    heat_on: bool = False
    fault: str | None = None


def fit(text: str, columns: int = DISPLAY_COLUMNS) -> str:
    """Cut or pad to the display width; the display has no wrapping."""
    return text[:columns].ljust(columns)


def clock_text(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


class RemoteMenu:
    """Menu state: which routine is highlighted. Everything else comes from the SessionView."""

    def __init__(self, routines: list[tuple[str, float]]) -> None:
        if not routines:
            raise ValueError("the remote needs at least one routine to offer")
        self.routines = routines  # (name, duration_s), in menu order
        self.selected = 0

    def press(self, key: RemoteKey, view: SessionView) -> Action | None:
        if key is RemoteKey.STOP:
            return StopSession()
        state = view.state
        if state is SessionState.IDLE:
            return self._idle_key(key)
        if state is SessionState.FAULT:
            return ClearFault() if key is RemoteKey.OK else None
        if state in (SessionState.RUNNING, SessionState.SCANNING, SessionState.PAUSED):
            return self._session_key(key, view)
        return None  # STOPPING: only STOP means anything, and it was handled above

    def _idle_key(self, key: RemoteKey) -> Action | None:
        if key is RemoteKey.UP:
            self.selected = (self.selected - 1) % len(self.routines)
        elif key is RemoteKey.DOWN:
            self.selected = (self.selected + 1) % len(self.routines)
        elif key in (RemoteKey.OK, RemoteKey.START_PAUSE):
            return StartRoutine(self.routines[self.selected][0])
        return None

    def _session_key(self, key: RemoteKey, view: SessionView) -> Action | None:
        paused = view.state is SessionState.PAUSED
        if key is RemoteKey.START_PAUSE or (paused and key is RemoteKey.OK):
            return ResumeSession() if paused else PauseSession()
        if key is RemoteKey.INTENSITY_UP:
            return ChangeIntensity(+1)
        if key is RemoteKey.INTENSITY_DOWN:
            return ChangeIntensity(-1)
        if key is RemoteKey.HEAT:
            return ToggleHeat()
        return None

    def rows(self, view: SessionView) -> tuple[str, ...]:
        state = view.state
        if state is SessionState.IDLE:
            name, duration_s = self.routines[self.selected]
            minutes = f"{round(duration_s / 60)}m"
            first = f">{name[: DISPLAY_COLUMNS - len(minutes) - 2]}".ljust(
                DISPLAY_COLUMNS - len(minutes)
            ) + minutes
            return fit(first), fit("OK:start")
        if state is SessionState.FAULT:
            return fit(f"FAULT {view.fault or ''}"), fit("OK:clear STOP")
        if state is SessionState.STOPPING:
            return fit("Stopping..."), fit("")
        if state is SessionState.SCANNING:
            return fit("Body scan..."), fit("sit back")
        name = view.routine or ""
        timer = clock_text(view.remaining_s)
        first = name[: DISPLAY_COLUMNS - len(timer) - 1].ljust(DISPLAY_COLUMNS - len(timer)) + timer
        if state is SessionState.PAUSED:
            return fit(first), fit("Paused OK:resume")
        heat = "heat" if view.heat_on else ""
        return fit(first), fit(f"int {view.intensity}/5 {heat}".rstrip())
