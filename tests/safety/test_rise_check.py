"""The measured rise check at its edges: a fill at the admitted rate plus the margin passes, a
hair more trips (two readings in a row), and a slow rise over a long time never adds up."""

from __future__ import annotations

import pytest

from massagectl.routines.user import DEFAULT_USER
from massagectl.safety.channel_limits import plan_limits
from massagectl.safety.faults import FaultCause
from massagectl.safety.rise_check import RISE_MARGIN, RISE_WINDOW_S, RiseWatch
from tests.safety.plans import CHAIR

LIMITS = plan_limits(CHAIR, DEFAULT_USER)
CALVES = CHAIR.channel_index("airbag_calves")
SENSOR = next(s for s in CHAIR.sensors if s.id == "pressure_calves")
RATE = LIMITS.channels[CALVES].max_rise_per_s
MARGIN = RISE_MARGIN[SENSOR.kind]
PERIOD_S = 0.05


class Limits:
    session_active = True

    def limits_for(self, index):
        return LIMITS.channels[index]

    def commanded(self, index, board_s):
        return None


def feed(readings: list[float]):
    watch = RiseWatch(SENSOR, CALVES, MARGIN)
    for i, value in enumerate(readings):
        fault = watch.update(value, i * PERIOD_S, Limits())
        if fault is not None:
            return i, fault
    return None, None


def at_rate(seconds: float, rate: float = RATE) -> list[float]:
    return [rate * i * PERIOD_S for i in range(round(seconds / PERIOD_S) + 1)]


@pytest.mark.parametrize("step, trips", [(MARGIN - 0.01, False), (MARGIN + 0.01, True)])
def test_a_step_on_top_of_a_fill_at_the_admitted_rate_trips_only_beyond_the_margin(step, trips):
    ramp = at_rate(2.0)
    after = [value + step for value in at_rate(1.0)]
    readings = ramp + [ramp[-1] + RATE * PERIOD_S + value for value in after]
    at, fault = feed(readings)
    assert (fault is not None) is trips
    if trips:
        assert at == len(ramp) + 1  # the second reading beyond the margin: not one spike
        assert fault.cause is FaultCause.RISE_TOO_FAST and "4 kPa/s" in fault.detail


def test_a_fill_at_the_admitted_rate_for_as_long_as_you_like_passes():
    assert feed(at_rate(60.0))[1] is None


def test_a_fill_a_little_too_fast_trips_once_its_excess_passes_the_margin():
    rate = RATE * 1.5
    at, fault = feed(at_rate(3.0, rate))
    assert fault is not None
    # The excess (rate - RATE) * t reaches the margin at 0.5 s: the next reading is beyond it,
    # the one after confirms it.
    assert at * PERIOD_S == pytest.approx(MARGIN / (rate - RATE) + 2 * PERIOD_S, abs=PERIOD_S)
    assert at * PERIOD_S <= RISE_WINDOW_S
