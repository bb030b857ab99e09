"""Plan value invariants: a well-formed plan passes, and each kind of breakage is caught."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from massagectl.routines.device import load_device
from massagectl.routines.plan import Plan, Segment, segment_table

CHAIR = load_device("chair")
SEAT = CHAIR.channel("airbag_seat")  # 0..30 kPa, 6 kPa/s, segments up to 120 s, rests at 0


@st.composite
def seat_plans(draw) -> list[Segment]:
    """A chain of ramps and oscillating holds on the seat airbag, within every limit."""
    levels = draw(st.lists(st.floats(0, 30), min_size=1, max_size=6)) + [SEAT.safe_default]
    segments: list[Segment] = []
    value, time_s = SEAT.safe_default, 0.0
    for target in levels:
        slowest = max(abs(target - value) / SEAT.max_rate_per_s, 1.0)
        duration_s = min(slowest * draw(st.floats(1, 2)), SEAT.max_duration_s)
        segments.append(Segment("airbag_seat", time_s, duration_s, value, target))
        value, time_s = target, time_s + duration_s
        room = min(value - SEAT.min, SEAT.max - value)
        if room > 0.5 and draw(st.booleans()):
            period_s = draw(st.floats(4, 30))
            amplitude = min(room, SEAT.max_rate_per_s * period_s / (2 * math.pi)) * 0.9
            periods = draw(st.integers(1, int(SEAT.max_duration_s // period_s)))
            segments.append(Segment("airbag_seat", time_s, periods * period_s, value, value,
                                    amplitude, period_s))
            time_s += periods * period_s
    return segments


def plan_of(segments: list[Segment]) -> Plan:
    end_s = segments[-1].start_s + segments[-1].duration_s
    return Plan("drawn", CHAIR, end_s, segment_table(segments, CHAIR), ("steps[0] (press)",))


def replace(segments: list[Segment], index: int, **changes) -> list[Segment]:
    fields = {name: getattr(segments[index], name) for name in Segment.__dataclass_fields__}
    return segments[:index] + [Segment(**{**fields, **changes})] + segments[index + 1:]


@given(seat_plans())
def test_a_chain_within_every_limit_has_no_problems(segments):
    assert plan_of(segments).problems() == []


@given(seat_plans(), st.data(), st.floats(0.01, 5))
def test_a_jump_between_segments_is_caught(segments, data, jump):
    index = data.draw(st.integers(1, len(segments) - 1))
    before = segments[index]
    upward = before.start_value + jump <= SEAT.max
    start = before.start_value + jump if upward else before.start_value - jump
    problems = plan_of(replace(segments, index, start_value=start)).problems()
    assert any("a jump" in p or "starts at" in p for p in problems), problems


@given(seat_plans(), st.data(), st.floats(0.01, 10))
def test_a_value_beyond_the_hard_range_is_caught(segments, data, excess):
    index = data.draw(st.integers(0, len(segments) - 1))
    broken = replace(segments, index, end_value=SEAT.max + excess, amplitude=0.0, period_s=0.0)
    assert any("above the hard limit 30" in p for p in plan_of(broken).problems())


@given(seat_plans(), st.floats(1.01, 10))
def test_a_change_faster_than_the_channel_follows_is_caught(segments, factor):
    ramp_s = 10 / (SEAT.max_rate_per_s * factor)  # 10 kPa in less time than the pump needs
    fast = [Segment("airbag_seat", 0.0, ramp_s, 0.0, 10.0),
            Segment("airbag_seat", ramp_s, 5.0, 10.0, 0.0)]
    problems = plan_of(fast).problems()
    assert any("faster than max_rate_per_s 6" in p for p in problems), problems


@given(seat_plans())
def test_a_plan_that_leaves_an_airbag_inflated_is_caught(segments):
    last = segments[-1]
    broken = segments + [Segment("airbag_seat", last.start_s + last.duration_s, 10.0, 0.0, 5.0)]
    problems = plan_of(broken).problems()
    assert any("not at its safe default" in p for p in problems), problems


def test_problems_name_the_step_and_the_time():
    plan = plan_of([Segment("airbag_seat", 0.0, 10.0, 0.0, 31.0, step=0),
                    Segment("airbag_seat", 10.0, 10.0, 31.0, 0.0, step=0)])
    assert "airbag_seat: steps[0] (press) at 0.000 s reaches 31 kPa, above the hard limit 30" in (
        plan.problems())
    assert np.all(plan.table["step"] == 0)
