"""The session's transition table."""

from __future__ import annotations

import pytest

from massagectl.controller.session.state import (
    SessionEvent,
    SessionState,
    TransitionError,
    next_state,
)


def test_a_normal_session_goes_through_scan_run_stop_to_idle():
    state = SessionState.IDLE
    for event in ("start", "scanned", "pause", "resume", "finished", "safe"):
        state = next_state(state, SessionEvent(event))
    assert state is SessionState.IDLE


@pytest.mark.parametrize("state", list(SessionState))
def test_stop_is_accepted_in_every_state(state):
    assert next_state(state, SessionEvent.STOP) in (
        SessionState.STOPPING, SessionState.IDLE, SessionState.FAULT
    )


def test_a_latched_fault_is_left_only_by_clear():
    for event in SessionEvent:
        if event is SessionEvent.CLEAR:
            assert next_state(SessionState.FAULT, event) is SessionState.IDLE
        elif event in (SessionEvent.FAULT, SessionEvent.STOP):
            assert next_state(SessionState.FAULT, event) is SessionState.FAULT
        else:
            with pytest.raises(TransitionError, match="while fault"):
                next_state(SessionState.FAULT, event)


def test_pause_is_refused_while_idle_with_what_is_possible():
    with pytest.raises(TransitionError) as caught:
        next_state(SessionState.IDLE, SessionEvent.PAUSE)
    assert "possible now: start, stop" in str(caught.value)
