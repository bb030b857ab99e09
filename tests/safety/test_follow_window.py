"""The follow check keeps its window's lowest and highest command as the window slides; it must
decide exactly as a scan of the whole window does, reading by reading, restarts included."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from massagectl.routines.device import load_device
from massagectl.safety.plausibility import (
    FOLLOW_CONFIRM_S,
    FOLLOW_WINDOW_S,
    FollowWatch,
    Lasting,
)

CHAIR = load_device("chair")
KNEAD = CHAIR.channel_index("knead_speed")
SENSOR = next(s for s in CHAIR.sensors if s.channel == "knead_speed")


class ScannedFollowWatch(FollowWatch):
    """The check as first written: the window's extremes found by scanning it per reading."""

    def __init__(self, sensor, channel_index):
        super().__init__(sensor, channel_index)
        self._scanned: deque[tuple[float, float]] = deque()
        self._outside = Lasting()

    def update(self, value, board_s, ctx):
        commanded = ctx.commanded(self.channel_index, board_s)
        if commanded is None or getattr(ctx, "outputs_safe", False):
            commanded = ctx.limits_for(self.channel_index).channel.safe_default or 0.0
        commands = self._scanned
        if commands and board_s < commands[-1][0]:
            commands.clear()
        commands.append((board_s, commanded))
        while board_s - commands[0][0] > FOLLOW_WINDOW_S:
            commands.popleft()
        if board_s - commands[0][0] < FOLLOW_WINDOW_S - 0.1:
            return None
        low = min(c for _, c in commands) - self.tolerance
        high = max(c for _, c in commands) + self.tolerance
        outside_s = self._outside.update(not low <= value <= high, board_s)
        if outside_s < FOLLOW_CONFIRM_S:
            return None
        return (low, high, outside_s)


@dataclass
class Commands:
    """A context whose commanded value is whatever the step says."""

    value: float | None = None
    outputs_safe: bool = False
    session_active: bool = True

    def commanded(self, channel_index, board_s):
        return self.value

    def limits_for(self, channel_index):
        return SimpleNamespace(channel=SimpleNamespace(safe_default=0.0))


READING_S = 0.05  # the board's 20 Hz telemetry

# Phases of a session: how long, the command meanwhile (None: the safe state), what the sensor
# reads (a jumbled value, or the command give or take a little), outputs safe or not, and
# whether the board's clock restarts before it.
phases = st.lists(st.tuples(
    st.floats(0.0, 4.0),
    st.one_of(st.none(), st.sampled_from([0.0, 10.0, 20.0, 30.0, 45.0, 60.0])),
    st.one_of(st.floats(-5.0, 70.0, allow_nan=False), st.sampled_from([-3.0, 0.0, 3.0])),
    st.booleans(),
    st.booleans(),
), min_size=1, max_size=12)


@given(phases)
def test_the_sliding_extremes_decide_as_a_scan_of_the_window(session):
    sliding, scanned = FollowWatch(SENSOR, KNEAD), ScannedFollowWatch(SENSOR, KNEAD)
    context = Commands()
    board_s = 0.0
    for duration_s, command, reads, safe, restart in session:
        if restart:
            board_s = 0.0
        context.value, context.outputs_safe = command, safe
        for step in range(round(duration_s / READING_S) + 1):
            board_s += READING_S if step else 0.0
            # A small `reads` is an offset from the command; a large one a reading of its own.
            value = (command or 0.0) + reads if abs(reads) <= 3.0 else reads
            fault = sliding.update(value, board_s, context)
            expected = scanned.update(value, board_s, context)
            assert (fault is None) == (expected is None)
            if fault is not None:
                low, high, outside_s = expected
                assert f"{outside_s:.1f} s" in fault.detail
                assert (f"{low + sliding.tolerance:.1f}..{high - sliding.tolerance:.1f}"
                        in fault.detail)
