"""The handheld remote's menu: keys in, actions and display rows out (no I/O here).

Every transition of the menu is in one table, `TRANSITIONS`, keyed by (screen, key). The
chair's state picks the base screen (home when idle, the running screen during a session, the
fault screen while a fault is latched, ...); the owner opens option screens on top of it:

    HOME --BACK--> OPTIONS --OK--> USERS | TIMER | ZONES | SETTINGS --OK/BACK--> OPTIONS
    HOME --OK/START--> start the highlighted routine
    RUNNING --START--> pause; PAUSED --START/OK--> resume; RUNNING --OK--> OPTIONS (timer,
    zones); INTENSITY +/- and HEAT act at once; DISCOMFORT ("too much here"), MARK ("right there")
    FAULT --OK--> CONFIRM_CLEAR --OK--> clear the fault; --BACK--> FAULT
    any option screen --IDLE_TIMEOUT_S without a key--> the base screen

STOP is not in the table: it means stop on every screen, before anything else is looked at,
and takes the menu back to its base screen. A key a screen does not list does nothing.

Rows are laid out for the display's own size (rows x columns from the board's identity). Text
that does not fit is shortened at the end of its words, never inside a number, and numbers on
the right of a row (a clock, a level) are kept whole.
"""

from __future__ import annotations

import re
from enum import StrEnum

from massagectl.controller.service.operations import (
    ChairSnapshot,
    ChairState,
    RoutineChoice,
)
from massagectl.controller.service.vocabulary import (
    AllowRemoteStart,
    ChangeIntensity,
    ChooseUser,
    ClearFaults,
    Discomfort,
    MarkSpot,
    Pause,
    Resume,
    SetTimer,
    SetZone,
    Start,
    Stop,
    ToggleHeat,
    argument,
)
from massagectl.firmware_bridge.messages import RemoteKey

IDLE_TIMEOUT_S = 30.0  # an option screen left alone this long goes back to the base screen
MIN_ROWS, MAX_ROWS = 1, 8  # a display reporting a size outside these is taken at the bound
MIN_COLUMNS, MAX_COLUMNS = 8, 40


class Screen(StrEnum):
    HOME = "home"
    SCANNING = "scanning"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPING = "stopping"
    FAULT = "fault"
    DISCONNECTED = "disconnected"
    OPTIONS = "options"
    USERS = "users"
    TIMER = "timer"
    ZONES = "zones"
    SETTINGS = "settings"
    CONFIRM_CLEAR = "confirm_clear"


BASE_SCREENS = {
    ChairState.IDLE: Screen.HOME, ChairState.SCANNING: Screen.SCANNING,
    ChairState.RUNNING: Screen.RUNNING, ChairState.PAUSED: Screen.PAUSED,
    ChairState.STOPPING: Screen.STOPPING, ChairState.FAULT: Screen.FAULT,
    ChairState.DISCONNECTED: Screen.DISCONNECTED,
}
# Option screens that may open over each base screen (not over a fault, a stop, a scan).
OPTIONS_OVER = {Screen.HOME: ("user", "timer", "zones", "settings"),
                Screen.RUNNING: ("timer", "zones"), Screen.PAUSED: ("timer", "zones")}
OPTION_SCREENS = {"user": Screen.USERS, "timer": Screen.TIMER, "zones": Screen.ZONES,
                  "settings": Screen.SETTINGS}


# --- actions: what the menu asks the chair to do ---------------------------------------------

# The menu speaks the service's vocabulary; these are the commands its keys can give.
Action = (
    Start | Pause | Resume | Stop | ChangeIntensity | ToggleHeat | SetTimer | SetZone
    | ChooseUser | AllowRemoteStart | ClearFaults | Discomfort | MarkSpot
)

# --- the transition table ---------------------------------------------------------------------

K = RemoteKey
# (screen, key) -> (next screen, or None to stay; what to do: a step name, see RemoteMenu._do)
# "base" goes back to the base screen (closes every option screen).
TRANSITIONS: dict[tuple[Screen, RemoteKey], tuple[Screen | str | None, str | None]] = {
    (Screen.HOME, K.UP): (None, "up"),
    (Screen.HOME, K.DOWN): (None, "down"),
    (Screen.HOME, K.OK): (None, "start"),
    (Screen.HOME, K.START_PAUSE): (None, "start"),
    (Screen.HOME, K.BACK): (Screen.OPTIONS, "open_options"),
    (Screen.HOME, K.INTENSITY_UP): (None, "intensity_up"),
    (Screen.HOME, K.INTENSITY_DOWN): (None, "intensity_down"),
    (Screen.RUNNING, K.START_PAUSE): (None, "pause"),
    (Screen.RUNNING, K.OK): (Screen.OPTIONS, "open_options"),
    (Screen.RUNNING, K.INTENSITY_UP): (None, "intensity_up"),
    (Screen.RUNNING, K.INTENSITY_DOWN): (None, "intensity_down"),
    (Screen.RUNNING, K.HEAT): (None, "heat"),
    (Screen.RUNNING, K.DISCOMFORT): (None, "discomfort"),
    (Screen.RUNNING, K.MARK): (None, "mark"),
    (Screen.PAUSED, K.START_PAUSE): (None, "resume"),
    (Screen.PAUSED, K.OK): (None, "resume"),
    (Screen.PAUSED, K.BACK): (Screen.OPTIONS, "open_options"),
    (Screen.SCANNING, K.DISCOMFORT): (None, "discomfort"),
    (Screen.OPTIONS, K.UP): (None, "up"),
    (Screen.OPTIONS, K.DOWN): (None, "down"),
    (Screen.OPTIONS, K.OK): (None, "open_item"),
    (Screen.OPTIONS, K.BACK): ("base", None),
    (Screen.USERS, K.UP): (None, "up"),
    (Screen.USERS, K.DOWN): (None, "down"),
    (Screen.USERS, K.OK): (Screen.OPTIONS, "choose_user"),
    (Screen.USERS, K.BACK): (Screen.OPTIONS, None),
    (Screen.TIMER, K.UP): (None, "up"),
    (Screen.TIMER, K.DOWN): (None, "down"),
    (Screen.TIMER, K.OK): (Screen.OPTIONS, "set_timer"),
    (Screen.TIMER, K.BACK): (Screen.OPTIONS, None),
    (Screen.ZONES, K.UP): (None, "up"),
    (Screen.ZONES, K.DOWN): (None, "down"),
    (Screen.ZONES, K.OK): (None, "toggle_zone"),
    (Screen.ZONES, K.BACK): (Screen.OPTIONS, None),
    (Screen.SETTINGS, K.OK): (None, "toggle_remote_start"),
    (Screen.SETTINGS, K.BACK): (Screen.OPTIONS, None),
    (Screen.FAULT, K.OK): (Screen.CONFIRM_CLEAR, None),
    (Screen.CONFIRM_CLEAR, K.OK): ("base", "clear"),
    (Screen.CONFIRM_CLEAR, K.BACK): (Screen.FAULT, None),
}
for _screen in (Screen.OPTIONS, Screen.USERS, Screen.TIMER, Screen.ZONES, Screen.SETTINGS):
    # Intensity and heat keys act during a session whatever screen is open.
    TRANSITIONS[(_screen, K.INTENSITY_UP)] = (None, "intensity_up")
    TRANSITIONS[(_screen, K.INTENSITY_DOWN)] = (None, "intensity_down")
    TRANSITIONS[(_screen, K.HEAT)] = (None, "heat")


# --- text that fits ---------------------------------------------------------------------------

_NUMBER_END = re.compile(r"[\d.:/%-]+$")


def shorten(text: str, columns: int) -> str:
    """`text` cut to `columns` at a sensible place: never inside a number (the number goes
    whole), preferably at a word's end; padded to exactly `columns`."""
    if len(text) <= columns:
        return text.ljust(columns)
    cut = text[:columns]
    if text[columns].isalnum() or text[columns] in ".:/%":
        number = _NUMBER_END.search(cut)
        if number is not None and any(ch.isdigit() for ch in number.group()):
            cut = cut[:number.start()]  # the number would be cut: drop it whole
        elif " " in cut.strip():
            cut = cut[:cut.rstrip().rfind(" ")] if cut[-1] != " " else cut
    return cut.rstrip(" +,;").ljust(columns)  # no dangling joiner at the end


def two_sided(left: str, right: str, columns: int) -> str:
    """`left` shortened so that `right` (a clock, a level) fits whole at the row's end."""
    if len(right) + 1 >= columns:
        return shorten(right, columns)
    room = columns - len(right) - 1
    return shorten(left, room) + " " + right


def clock_text(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def duration_text(seconds: float) -> str:
    """A routine's length for a menu: whole minutes, or seconds when shorter than one."""
    return f"{round(seconds / 60)}m" if seconds >= 60 else f"{round(seconds)}s"


def display_size(rows: int | None, columns: int | None) -> tuple[int, int, bool]:
    """A display's size kept within what the menu can lay out; the flag says it was odd."""
    sane_rows = min(max(rows or 0, MIN_ROWS), MAX_ROWS)
    sane_columns = min(max(columns or 0, MIN_COLUMNS), MAX_COLUMNS)
    return sane_rows, sane_columns, (sane_rows, sane_columns) != (rows, columns)


# --- the menu ---------------------------------------------------------------------------------


class RemoteMenu:
    """Which screen is open and what is highlighted; everything else comes from the snapshot."""

    def __init__(self, routines: list[RoutineChoice], *, users: list[str] | None = None,
                 zones: list[str] | None = None, rows: int = 4, columns: int = 20) -> None:
        if not routines:
            raise ValueError("the remote needs at least one routine to offer")
        self.routines = routines
        self.users = users or ["default"]
        self.zones = zones or []
        self.rows_count, self.columns, _ = display_size(rows, columns)
        self.overlay: Screen | None = None  # an option screen open over the base screen
        self.cursor = {screen: 0 for screen in Screen}
        self._base = Screen.HOME
        self._last_key_s = 0.0

    def screen(self, view: ChairSnapshot) -> Screen:
        base = BASE_SCREENS[view.state]
        if base is not self._base:  # the chair moved on (a session ended, a fault): close all
            self._base, self.overlay = base, None
        if self.overlay is Screen.CONFIRM_CLEAR and base is not Screen.FAULT:
            self.overlay = None
        return self.overlay or base

    def tick(self, now_s: float) -> bool:
        """Close option screens left alone for IDLE_TIMEOUT_S; True if the screen changed."""
        if self.overlay is not None and now_s - self._last_key_s >= IDLE_TIMEOUT_S:
            self.overlay = None
            return True
        return False

    def press(self, key: RemoteKey, view: ChairSnapshot, now_s: float = 0.0) -> Action | None:
        self._last_key_s = now_s
        if key is RemoteKey.STOP:
            self.overlay = None
            return Stop()
        screen = self.screen(view)
        step = TRANSITIONS.get((screen, key))
        if step is None:
            return None
        next_screen, what = step
        action = self._do(what, screen, view) if what is not None else None
        if next_screen == "base":
            self.overlay = None
        elif isinstance(next_screen, Screen) and what != "open_item":
            self.overlay = next_screen
        return action

    def _items(self, screen: Screen, view: ChairSnapshot) -> list:
        if screen is Screen.HOME:
            return self.routines
        if screen is Screen.OPTIONS:
            return list(OPTIONS_OVER.get(self._base, ()))
        if screen is Screen.USERS:
            return self.users
        if screen is Screen.TIMER:
            return list(argument("timer", "minutes").choices)
        if screen is Screen.ZONES:
            return self.zones
        return []

    def selected(self, screen: Screen, view: ChairSnapshot):
        items = self._items(screen, view)
        if not items:
            return None
        return items[self.cursor[screen] % len(items)]

    def _do(self, what: str, screen: Screen, view: ChairSnapshot) -> Action | None:
        items = self._items(screen, view)
        if what in ("up", "down") and items:
            step = -1 if what == "up" else 1
            self.cursor[screen] = (self.cursor[screen] + step) % len(items)
            return None
        if what == "open_options":
            self.cursor[Screen.OPTIONS] = 0
            return None
        if what == "open_item":
            item = self.selected(screen, view)
            if item is not None:
                self.overlay = OPTION_SCREENS[item]
            return None
        chosen = self.selected(screen, view)
        simple: dict[str, Action]
        simple = {"pause": Pause(), "resume": Resume(), "heat": ToggleHeat(),
                  "intensity_up": ChangeIntensity(+1), "intensity_down": ChangeIntensity(-1),
                  "clear": ClearFaults(), "discomfort": Discomfort(), "mark": MarkSpot(),
                  "toggle_remote_start": AllowRemoteStart(not view.remote_start_allowed)}
        if what in simple:
            return simple[what]
        if chosen is None:
            return None
        if what == "start":
            return Start(chosen.name)
        if what == "choose_user":
            return ChooseUser(chosen)
        if what == "set_timer":
            return SetTimer(chosen)
        if what == "toggle_zone":
            return SetZone(chosen, chosen in view.zones_off)
        return None

    # --- what the display shows ------------------------------------------------------------

    def rows(self, view: ChairSnapshot) -> tuple[str, ...]:
        """The display's rows, each exactly `columns` wide, as many as the display has."""
        screen = self.screen(view)
        lines = getattr(self, f"_rows_{screen.value}")(view)
        lines = [*lines, *[""] * self.rows_count][:self.rows_count]
        return tuple(line if len(line) == self.columns else shorten(line, self.columns)
                     for line in lines)

    def _list_rows(self, title: str, screen: Screen, view: ChairSnapshot, label,
                   right=lambda item: "") -> list[str]:
        items = self._items(screen, view)
        index = self.cursor[screen] % len(items) if items else 0
        lines = [shorten(title, self.columns)]
        shown = max(1, self.rows_count - 1)
        first = min(max(0, index - shown // 2), max(0, len(items) - shown))
        for position in range(first, min(len(items), first + shown)):
            mark = ">" if position == index else " "
            lines.append(two_sided(mark + label(items[position]), right(items[position]),
                                   self.columns))
        return lines

    def _rows_home(self, view: ChairSnapshot) -> list[str]:
        if self.rows_count < 3:
            choice = self.selected(Screen.HOME, view)
            return [two_sided(">" + choice.name, duration_text(choice.duration_s),
                              self.columns), "OK:go BACK:more"]
        return self._list_rows(f"Choose ({view.user})", Screen.HOME, view,
                               lambda c: c.name, lambda c: duration_text(c.duration_s))

    def _rows_scanning(self, view: ChairSnapshot) -> list[str]:
        return [view.routine or "", "Body scan...", "sit back"]

    def _rows_running(self, view: ChairSnapshot) -> list[str]:
        heat = " heat" if view.heat_on else ""
        timer = f" {view.timer_min}m" if view.timer_min else ""
        first = two_sided(view.routine or "", clock_text(view.remaining_s), self.columns)
        settings = f"int {view.intensity}/5{heat}{timer}"
        if self.rows_count < 3:
            return [first, settings]
        return [first, shorten(view.step, self.columns), settings, "OK:options"]

    def _rows_paused(self, view: ChairSnapshot) -> list[str]:
        return [two_sided(view.routine or "", clock_text(view.remaining_s), self.columns),
                "Paused", "OK:resume STOP:end"]

    def _rows_stopping(self, view: ChairSnapshot) -> list[str]:
        return ["Stopping..."]

    def _rows_fault(self, view: ChairSnapshot) -> list[str]:
        if not view.faults:  # cleared here; the board is confirming it is safe again
            return ["Clearing fault...", "please wait"]
        cause, _, detail = view.faults[0].partition(": ")
        cause = cause.replace("_", " ")  # over_temperature -> "over temperature"
        if self.rows_count < 3:
            return [cause, "OK:clear"]
        return ["FAULT", cause, detail, "OK:clear"]

    def _rows_confirm_clear(self, view: ChairSnapshot) -> list[str]:
        return ["Chair checked?", "OK:clear BACK:no"]

    def _rows_disconnected(self, view: ChairSnapshot) -> list[str]:
        return ["Chair not connected", "reconnecting..."]

    def _rows_options(self, view: ChairSnapshot) -> list[str]:
        values = {"user": view.user, "timer": f"{view.timer_min}m" if view.timer_min else "-",
                  "zones": f"{len(view.zones_off)} off" if view.zones_off else "all",
                  "settings": ""}
        return self._list_rows("Options", Screen.OPTIONS, view, str.capitalize,
                               lambda item: values[item])

    def _rows_users(self, view: ChairSnapshot) -> list[str]:
        return self._list_rows("Who is sitting", Screen.USERS, view, str,
                               lambda name: "*" if name == view.user else "")

    def _rows_timer(self, view: ChairSnapshot) -> list[str]:
        return self._list_rows("Timer", Screen.TIMER, view, lambda m: f"{m} min",
                               lambda m: "*" if m == view.timer_min else "")

    def _rows_zones(self, view: ChairSnapshot) -> list[str]:
        return self._list_rows("Zones OK:on/off", Screen.ZONES, view, str,
                               lambda z: "off" if z in view.zones_off else "on")

    def _rows_settings(self, view: ChairSnapshot) -> list[str]:
        allowed = "yes" if view.remote_start_allowed else "no"
        return ["Settings", two_sided("Home start", allowed, self.columns), "OK:change"]
