"""SlidingWindow against its definition: the extremes of every value of the last span_s."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from massagectl.safety.sliding_window import SlidingWindow

steps = st.lists(st.tuples(st.floats(-0.2, 0.5), st.floats(-50, 50)), min_size=1, max_size=80)


@given(steps)
def test_extremes_are_those_of_the_window(readings):
    window, held, now_s = SlidingWindow(span_s=1.0), [], 0.0
    for step_s, value in readings:
        now_s += step_s
        if held and now_s < held[-1][0]:
            held = []  # a board clock that went back starts afresh
        held = [(t, v) for t, v in held + [(now_s, value)] if now_s - t <= 1.0]
        window.add(now_s, value)
        assert window.low == min(v for _, v in held)
        assert window.high == max(v for _, v in held)
        assert window.covered_s == now_s - held[0][0]


def test_a_value_exactly_one_span_old_still_counts():
    window = SlidingWindow(span_s=0.5)
    window.add(0.0, 9.0)
    window.add(0.5, 1.0)
    assert (window.high, window.covered_s) == (9.0, 0.5)
    window.add(0.5 + 1e-9, 1.0)
    assert window.high == 1.0
