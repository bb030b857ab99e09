"""Simulator tests: fail any test that leaves a simulated board with an output on or running."""

from __future__ import annotations

import pytest

from sim import registry


@pytest.fixture(autouse=True)
def no_board_left_unsafe():
    """Every board a test created must end with outputs safe and no driver running it."""
    mark = registry.mark()
    yield
    problems = [problem for health in registry.healths_since(mark) for problem in health.problems()]
    registry.forget_since(mark)
    if problems:
        pytest.fail("; ".join(problems))
