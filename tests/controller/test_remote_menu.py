"""The remote's menu: what each key does on each screen, and what the display shows."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from massagectl.controller.frontends.remote_menu import (
    TRANSITIONS,
    RemoteMenu,
    Screen,
    display_size,
    shorten,
    two_sided,
)
from massagectl.controller.service.operations import ChairSnapshot, ChairState, RoutineChoice
from massagectl.controller.service.vocabulary import (
    AllowRemoteStart,
    ChangeIntensity,
    ClearFaults,
    Discomfort,
    MarkSpot,
    Pause,
    Resume,
    SetTimer,
    Start,
    Stop,
)
from massagectl.firmware_bridge.messages import RemoteKey

ROUTINES = [RoutineChoice("relax", 900.0, True), RoutineChoice("deep_tissue", 1200.0, True),
            RoutineChoice("shoulder_and_neck", 600.0, True)]


def view(state: ChairState = ChairState.IDLE, **fields) -> ChairSnapshot:
    return ChairSnapshot(state, "chair", **fields)


def test_owner_scrolls_the_menu_and_starts_the_highlighted_routine():
    menu = RemoteMenu(ROUTINES, rows=2, columns=16)
    idle = view()
    assert menu.rows(idle) == (">relax       15m", "OK:go BACK:more ")
    menu.press(RemoteKey.DOWN, idle)
    menu.press(RemoteKey.DOWN, idle)
    assert menu.rows(idle)[0] == ">shoulder_an 10m"
    menu.press(RemoteKey.DOWN, idle)  # wraps to the top
    assert menu.press(RemoteKey.OK, idle) == Start("relax")


def test_start_pause_key_pauses_and_resumes_a_running_session():
    menu = RemoteMenu(ROUTINES, rows=2, columns=16)
    running = view(ChairState.RUNNING, routine="relax", remaining_s=754, heat_on=True)
    assert menu.press(RemoteKey.START_PAUSE, running) == Pause()
    assert menu.rows(running) == ("relax      12:34", "int 3/5 heat    ")
    paused = view(ChairState.PAUSED, routine="relax", remaining_s=754)
    assert menu.press(RemoteKey.START_PAUSE, paused) == Resume()
    assert menu.press(RemoteKey.OK, paused) == Resume()
    assert menu.press(RemoteKey.INTENSITY_DOWN, running) == ChangeIntensity(-1)
    assert menu.press(RemoteKey.DISCOMFORT, running) == Discomfort()
    assert menu.press(RemoteKey.MARK, running) == MarkSpot()


def test_a_fault_is_cleared_only_after_a_confirmation():
    menu = RemoteMenu(ROUTINES)
    fault = view(ChairState.FAULT, faults=("over_temperature: calves at 46.2 C",))
    assert menu.press(RemoteKey.START_PAUSE, fault) is None
    assert menu.press(RemoteKey.OK, fault) is None  # asks first
    assert menu.rows(fault)[0] == "Chair checked?      "
    assert menu.press(RemoteKey.BACK, fault) is None
    assert menu.rows(fault) == ("FAULT               ", "over temperature    ",
                                "calves at 46.2 C    ", "OK:clear            ")
    menu.press(RemoteKey.OK, fault)
    assert menu.press(RemoteKey.OK, fault) == ClearFaults()
    clearing = view(ChairState.FAULT)  # cleared here, the board still confirming
    assert menu.rows(clearing)[:2] == ("Clearing fault...   ", "please wait         ")


def test_option_screens_close_after_the_idle_timeout_and_when_the_chair_moves_on():
    menu = RemoteMenu(ROUTINES)
    idle = view()
    menu.press(RemoteKey.BACK, idle, now_s=0.0)
    menu.press(RemoteKey.DOWN, idle, now_s=1.0)
    menu.press(RemoteKey.OK, idle, now_s=2.0)  # the timer screen
    assert menu.screen(idle) is Screen.TIMER
    assert menu.press(RemoteKey.OK, idle, now_s=3.0) == SetTimer(10)
    assert not menu.tick(20.0)
    assert menu.tick(33.0)
    assert menu.screen(idle) is Screen.HOME
    menu.press(RemoteKey.BACK, idle, now_s=40.0)
    assert menu.screen(view(ChairState.RUNNING)) is Screen.RUNNING


def test_settings_toggle_whether_home_automation_may_start():
    menu = RemoteMenu(ROUTINES)
    for key in (RemoteKey.BACK, RemoteKey.UP, RemoteKey.OK):
        menu.press(key, view())
    assert menu.rows(view())[1] == "Home start        no"
    assert menu.press(RemoteKey.OK, view()) == AllowRemoteStart(True)


def test_text_is_shortened_at_words_and_never_inside_a_number():
    assert shorten("pressure capped at 4.5 kPa", 21) == "pressure capped at   "
    assert shorten("heat + knead + press", 14) == "heat + knead  "  # no dangling "+"
    assert two_sided("a_very_long_routine", "12:34", 16) == "a_very_lon 12:34"
    assert two_sided("x", "123456789012345678", 10) == "          "
    assert display_size(0, 200) == (1, 40, True)
    assert display_size(4, 20) == (4, 20, False)


def test_stop_is_not_in_the_table_because_it_wins_everywhere():
    assert not any(key is RemoteKey.STOP for _, key in TRANSITIONS)


@given(
    state=st.sampled_from(ChairState),
    keys=st.lists(st.sampled_from(RemoteKey), max_size=25),
    remaining=st.floats(0, 7200),
    size=st.tuples(st.integers(-3, 12), st.integers(-3, 80)),
)
def test_stop_always_stops_and_rows_always_fit_the_display(state, keys, remaining, size):
    rows, columns, _ = display_size(*size)
    menu = RemoteMenu(ROUTINES, users=["default", "anna"], zones=["calves"], rows=rows,
                      columns=columns)
    snapshot = view(state, routine="a_very_long_routine_name_indeed", remaining_s=remaining,
                    faults=("x" * 40,), step="knead + tap + heat + press")
    for key in keys:
        menu.press(key, snapshot)
        shown = menu.rows(snapshot)
        assert len(shown) == rows
        assert all(len(row) == columns for row in shown)
    assert menu.press(RemoteKey.STOP, snapshot) == Stop()


@given(words=st.lists(st.one_of(st.from_regex(r"[a-z_]{1,9}", fullmatch=True),
                                st.from_regex(r"[0-9]{1,5}(\.[0-9])?( ?(kPa|mm|%))?",
                                              fullmatch=True),
                                st.sampled_from(["+", ":", "12:34", "3/5"])),
                      min_size=1, max_size=8),
       columns=st.integers(8, 40))
def test_shortened_text_never_ends_inside_a_number(words, columns):
    text = " ".join(words)
    shown = shorten(text, columns)
    assert len(shown) == columns
    kept = shown.rstrip()
    assert text.startswith(kept)
    if kept and kept[-1].isdigit() and len(kept) < len(text):
        assert not (text[len(kept)].isdigit() or text[len(kept)] in ".:/")


def test_only_the_rows_that_changed_are_sent():
    from massagectl.controller.frontends.handheld import HandheldRemote

    sent: list[tuple[int, str]] = []

    class Service:
        def snapshot(self):
            return view(ChairState.RUNNING, routine="relax", remaining_s=self.left_s)

        def show_on_remote(self, row: int, text: str) -> bool:
            sent.append((row, text))
            return True

    service = Service()
    service.left_s = 754
    remote = HandheldRemote()
    remote.service = service
    remote.menu = RemoteMenu(ROUTINES)
    remote.rows = lambda: remote.menu.rows(service.snapshot())
    remote.refresh()
    assert [row for row, _ in sent] == [0, 1, 2, 3]
    sent.clear()
    service.left_s = 753
    remote.refresh()
    assert sent == [(0, "relax          12:33")]  # the clock's row, and nothing else
    sent.clear()
    remote.refresh()
    assert sent == []
