"""The seat check keeps the heads' shallowest and deepest depth over its stillness window as
the window slides; it must decide exactly as a scan of the whole window does, reading by
reading, repeated readings (two reports per reading) and restarted board clocks included."""

from __future__ import annotations

from collections import deque

from hypothesis import given
from hypothesis import strategies as st

from massagectl.routines.device import load_device
from massagectl.safety.plausibility import STILL_DEPTH_MM, STILL_WINDOW_S, SeatCheck

CHAIR = load_device("chair")


def still_by_scan(depths: deque, depth_mm: float, board_s: float) -> bool:
    """The stillness test as first written: the window scanned per reading."""
    if depths and board_s < depths[-1][0]:
        depths.clear()
    depths.append((board_s, depth_mm))
    while board_s - depths[0][0] > STILL_WINDOW_S:
        depths.popleft()
    if board_s - depths[0][0] < STILL_WINDOW_S - 0.1:
        return False
    values = [mm for _, mm in depths]
    return max(values) - min(values) < STILL_DEPTH_MM


# A stretch of readings: how far the heads move at its start (in the 0.1 mm steps of the
# reference sensor), how many readings they then stand for, and how the board clock moves per
# reading (0.05 s; with 0 between the two reports of a reading; a negative jump now and then:
# the board restarted).
stretches = st.lists(st.tuples(st.sampled_from([0, 1, -1, 2, -2, 3, 5, -5, 30, -30]),
                               st.integers(1, 20),
                               st.sampled_from(["readings", "two reports", "restart", "gap"])),
                     min_size=1, max_size=40)
@given(stretches)
def test_the_sliding_extremes_decide_as_a_scan_of_the_window(plan):
    check = SeatCheck(CHAIR)
    scanned: deque[tuple[float, float]] = deque()
    board_s, depth_steps = 100.0, 50
    for move, count, how in plan:
        depth_steps = min(max(0, depth_steps + move), 120)
        if how == "restart":
            board_s = max(0.0, board_s - 3.0)
        elif how == "gap":
            board_s += 0.7
        for _ in range(count):
            board_s += 0.05
            for _ in range(2 if how == "two reports" else 1):
                depth_mm = depth_steps / 10
                assert check._still(depth_mm, board_s) == still_by_scan(scanned, depth_mm,
                                                                         board_s)
