"""After a shutdown each output's hardware must reach its safe state within its bound
(hardware.md section 5): edges of each bound, and a channel that runs again is not judged."""

from __future__ import annotations

import pytest

from massagectl.routines.device import load_device
from massagectl.safety.reached_safe import (
    AIRBAG_VENT_S,
    AIRBAG_VENTED_KPA,
    DEPTH_TOLERANCE_MM,
    MARGIN_S,
    ReachedSafe,
)

CHAIR = load_device("chair")
DEPTH_SENSOR = next(i for i, s in enumerate(CHAIR.sensors)
                    if s.channel == "roller_depth" and s.kind == "position")
CALF_SENSOR = next(i for i, s in enumerate(CHAIR.sensors) if s.id == "pressure_calves")
DEPTH_WITHIN_S = 40 / 15 + MARGIN_S  # chair.toml: 0..40 mm at 15 mm/s


class Safe:
    """Every channel commanded to its safe state (or, with `running`, these are not)."""

    def __init__(self, running: tuple[int, ...] = ()) -> None:
        self.running = running

    def commanded(self, channel_index: int, board_s: float) -> float | None:
        return 1.0 if channel_index in self.running else None


@pytest.mark.parametrize("depth_mm, problem", [
    (DEPTH_TOLERANCE_MM - 0.01, False), (DEPTH_TOLERANCE_MM + 0.01, True)])
def test_roller_depth_must_be_back_by_its_retract_time(depth_mm, problem):
    reached = ReachedSafe(CHAIR)
    reached.shut_down(10.0)
    assert reached.judge(DEPTH_SENSOR, 30.0, 10.0 + DEPTH_WITHIN_S - 0.01, Safe()) is None
    found = reached.judge(DEPTH_SENSOR, depth_mm, 10.0 + DEPTH_WITHIN_S, Safe())
    assert (found is not None) is problem
    if problem:
        assert "roller_depth" in found and "mm" in found
    assert reached.judge(DEPTH_SENSOR, depth_mm, 20.0, Safe()) is None  # said once


@pytest.mark.parametrize("kpa, problem", [
    (AIRBAG_VENTED_KPA - 0.01, False), (AIRBAG_VENTED_KPA, True)])
def test_an_airbag_must_be_vented_within_three_seconds(kpa, problem):
    reached = ReachedSafe(CHAIR)
    reached.shut_down(0.0)
    found = reached.judge(CALF_SENSOR, kpa, AIRBAG_VENT_S, Safe())
    assert (found is not None) is problem


def test_a_channel_running_again_is_not_judged():
    reached = ReachedSafe(CHAIR)
    reached.shut_down(0.0)
    calves = CHAIR.channel_index("airbag_calves")
    assert reached.judge(CALF_SENSOR, 9.0, 1.0, Safe(running=(calves,))) is None
    assert reached.judge(CALF_SENSOR, 9.0, AIRBAG_VENT_S, Safe()) is None
