"""Sessions back to back with random routines, inputs and faults (benchmarks.soak): each ends
safe, nothing leaks, every latched fault is in the fault log with its cause. A short run here;
the full 200 sessions with --soak."""

from __future__ import annotations

import pytest

from benchmarks.soak import soak


def test_a_short_soak_ends_every_session_safe_and_leaks_nothing():
    report = soak(sessions=12, seed=1)
    assert len(report.sessions) == 12
    assert report.problems == []


@pytest.mark.soak
def test_two_hundred_sessions_end_safe_and_leak_nothing():
    report = soak(sessions=200, seed=2)
    assert report.problems == []
