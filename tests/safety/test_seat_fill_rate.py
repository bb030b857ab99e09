"""The seat check's fill rule at the rate the board slews (hardware.md 4.7, 5): a body-filled
bag fills no faster than the board's rise rate, the lowered one included, and while the board
catches up a late segment its set point is not the plan's, so a slow fill then is no evidence."""

from __future__ import annotations

import math

from massagectl.safety.faults import FaultCause
from massagectl.safety.plausibility import (
    FILL_BELOW_KPA,
    PUMP_LAG_S,
    SEAT_EVIDENCE_S,
    SeatCheck,
)
from tests.safety.plans import CHAIR

PERIOD_S = 0.0625  # about the telemetry period, and exact in binary: no window falls short
CALVES = CHAIR.channel_index("airbag_calves")
PRESSURE = [s.id for s in CHAIR.sensors].index("pressure_calves")
SEAT = [s.id for s in CHAIR.sensors].index("seat")
OWN_RISE = CHAIR.channels[CALVES].rise_per_s  # 4 kPa/s, half the calf pump's 8


class Filling:
    """A session whose calf bag is asked for 9 kPa, far above the reading: the pump runs."""

    session_active = True
    outputs_safe = False

    def commanded(self, channel_index: int, board_s: float) -> float | None:
        return 9.0 if channel_index == CALVES else None


def fill(check: SeatCheck, kpa_per_s: float, from_s: float = 0.0,
         seconds: float = 2.5) -> float | None:
    """The calf bag's reading rising at `kpa_per_s` from 0 with the seat switch at occupied;
    when the check finds the seat empty, or None."""
    readings = [math.nan] * len(CHAIR.sensors)
    readings[SEAT] = 1.0
    for step in range(round(seconds / PERIOD_S) + 1):
        t = from_s + step * PERIOD_S
        readings[PRESSURE] = round(kpa_per_s * step * PERIOD_S, 2)
        fault = check.update(readings, t, Filling(), None)
        if fault is not None:
            assert fault.cause == FaultCause.SEAT_IMPLAUSIBLE
            return t
    return None


def test_at_the_boards_own_rate_a_fill_at_three_quarters_of_it_looks_like_an_empty_seat():
    assert fill(SeatCheck(CHAIR), 0.75 * OWN_RISE) is not None


def test_told_a_lower_rate_a_fill_at_that_rate_is_a_body_and_half_of_it_is_not():
    check = SeatCheck(CHAIR)
    check.slewed_at({CALVES: 3.0})
    assert fill(check, 3.1) is None
    check = SeatCheck(CHAIR)
    check.slewed_at({CALVES: 3.0})
    # An empty bag unfolds first and fills at a quarter of its pump's rate (2 kPa/s here).
    assert fill(check, 2.0) is not None


def test_a_rate_told_above_the_boards_own_changes_nothing():
    check = SeatCheck(CHAIR)
    check.slewed_at({CALVES: 2 * OWN_RISE})
    assert fill(check, 0.75 * OWN_RISE) is not None


def test_while_the_board_catches_up_a_late_segment_a_slow_fill_is_no_evidence():
    check = SeatCheck(CHAIR)
    check.catching_up(CALVES, 0.0)
    quiet_s = FILL_BELOW_KPA / OWN_RISE + PUMP_LAG_S
    assert fill(check, 1.0, seconds=quiet_s - PERIOD_S) is None
    # Once a catch-up from the safe state would have passed 10 kPa, fills count again.
    found = fill(check, 1.0, from_s=quiet_s, seconds=3.0)
    assert found is not None and found >= quiet_s + SEAT_EVIDENCE_S
