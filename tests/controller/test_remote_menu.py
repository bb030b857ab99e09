"""The remote's menu: what each key does in each session state, and what the display shows."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from massagectl.controller.frontends.remote_menu import (
    DISPLAY_COLUMNS,
    DISPLAY_ROWS,
    ChangeIntensity,
    ClearFault,
    PauseSession,
    RemoteMenu,
    ResumeSession,
    SessionView,
    StartRoutine,
    StopSession,
)
from massagectl.controller.session.state import SessionState
from massagectl.firmware_bridge.messages import RemoteKey

ROUTINES = [("relax", 900.0), ("deep_tissue", 1200.0), ("shoulder_and_neck", 600.0)]


def test_owner_scrolls_the_menu_and_starts_the_highlighted_routine():
    menu = RemoteMenu(ROUTINES)
    idle = SessionView(SessionState.IDLE)
    assert menu.rows(idle)[0].startswith(">relax")
    menu.press(RemoteKey.DOWN, idle)
    menu.press(RemoteKey.DOWN, idle)
    assert menu.rows(idle)[0] == ">shoulder_an 10m"
    menu.press(RemoteKey.DOWN, idle)  # wraps to the top
    assert menu.press(RemoteKey.OK, idle) == StartRoutine("relax")


def test_start_pause_key_pauses_and_resumes_a_running_session():
    menu = RemoteMenu(ROUTINES)
    running = SessionView(SessionState.RUNNING, "relax", 754, intensity=3, heat_on=True)
    assert menu.press(RemoteKey.START_PAUSE, running) == PauseSession()
    assert menu.rows(running) == ("relax      12:34", "int 3/5 heat    ")
    paused = SessionView(SessionState.PAUSED, "relax", 754)
    assert menu.press(RemoteKey.START_PAUSE, paused) == ResumeSession()
    assert menu.press(RemoteKey.OK, paused) == ResumeSession()
    assert menu.press(RemoteKey.INTENSITY_DOWN, running) == ChangeIntensity(-1)


def test_a_fault_needs_an_explicit_ok_to_clear():
    menu = RemoteMenu(ROUTINES)
    fault = SessionView(SessionState.FAULT, fault="over temp")
    assert menu.press(RemoteKey.START_PAUSE, fault) is None
    assert menu.press(RemoteKey.OK, fault) == ClearFault()
    assert menu.rows(fault)[0].startswith("FAULT over temp")


@given(
    state=st.sampled_from(SessionState),
    keys=st.lists(st.sampled_from(RemoteKey), max_size=20),
    remaining=st.floats(0, 7200),
)
def test_stop_always_stops_and_rows_always_fit_the_display(state, keys, remaining):
    menu = RemoteMenu(ROUTINES)
    view = SessionView(state, "a_very_long_routine_name_indeed", remaining, fault="x" * 40)
    for key in keys:
        menu.press(key, view)
        rows = menu.rows(view)
        assert len(rows) == DISPLAY_ROWS
        assert all(len(row) == DISPLAY_COLUMNS for row in rows)
    assert menu.press(RemoteKey.STOP, view) == StopSession()
