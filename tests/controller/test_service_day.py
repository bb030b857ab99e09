"""A day of the resident service in virtual time (benchmarks.service_day): a session every hour,
the board unplugged every three hours, and nothing grows: memory, tasks, file descriptors.
About ten minutes of CPU: only with --soak."""

from __future__ import annotations

import pytest

from benchmarks.service_day import run_day


@pytest.mark.soak
def test_a_day_of_sessions_and_unplugs_grows_nothing():
    day = run_day(24)
    assert day.problems() == []
