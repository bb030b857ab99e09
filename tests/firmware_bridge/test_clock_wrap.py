"""The board's 32-bit clock unwrapped: one arithmetic for the link, the supervisor and the sim."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from massagectl.firmware_bridge.clock import ClockSync
from massagectl.firmware_bridge.clock_wrap import (
    HALF_WRAP_TICKS,
    ClockUnwrapper,
    unwrap_clock,
    wrap_clock,
)
from massagectl.firmware_bridge.wire import CLOCK_MODULUS
from massagectl.safety.committed import BoardClock

LAST_TICK = CLOCK_MODULUS - 1  # the counter's highest value before it wraps to 0


def _unwrapped(ticks: list[int]) -> list[int]:
    unwrapper = ClockUnwrapper()
    return [unwrapper.ticks(wrap_clock(t)) for t in ticks]


@given(start=st.integers(0, 2**40), gaps=st.lists(st.integers(0, HALF_WRAP_TICKS - 1),
                                                   max_size=40))
def test_ticks_less_than_half_a_wrap_apart_unwrap_monotonically_and_exactly(start, gaps):
    ticks = [start]
    for gap in gaps:
        ticks.append(ticks[-1] + gap)
    unwrapped = _unwrapped(ticks)
    assert unwrapped[0] == wrap_clock(start)  # the first clock is taken as it stands
    assert [u - unwrapped[0] for u in unwrapped] == [t - start for t in ticks]
    assert unwrapped == sorted(unwrapped)


@given(start=st.integers(0, 2**40),
       steps=st.lists(st.integers(-HALF_WRAP_TICKS, HALF_WRAP_TICKS - 1), max_size=40))
def test_a_late_clock_within_half_a_wrap_unwraps_behind_without_moving_the_reference(
        start, steps):
    # Each clock lies within half a wrap of the latest one before it: a message that waited in
    # a queue, then newer ones again.
    ticks, latest = [start], start
    for step in steps:
        ticks.append(latest + step)
        latest = max(latest, ticks[-1])
    unwrapped = _unwrapped(ticks)
    assert [u - unwrapped[0] for u in unwrapped] == [t - start for t in ticks]


@given(near=st.integers(-(2**40), 2**40), offset=st.integers(-HALF_WRAP_TICKS, HALF_WRAP_TICKS - 1))
def test_the_link_and_the_sim_unwrap_to_the_nearest_count(near, offset):
    clock = wrap_clock(near + offset)
    assert 0 <= clock < CLOCK_MODULUS
    assert unwrap_clock(clock, near) == near + offset
    assert ClockSync(1_000_000).unwrap(clock, near=near) == near + offset


def test_edges_at_the_wrap():
    assert wrap_clock(LAST_TICK) == LAST_TICK and wrap_clock(CLOCK_MODULUS) == 0
    assert _unwrapped([LAST_TICK, CLOCK_MODULUS, CLOCK_MODULUS + 1]) == [
        LAST_TICK, CLOCK_MODULUS, CLOCK_MODULUS + 1]
    # From 0 back over the wrap: the count before 0 is -1, not 2**32 - 1.
    assert unwrap_clock(LAST_TICK, 0) == -1
    # Half a wrap is the limit: just under it reads ahead, exactly half a wrap reads behind.
    assert unwrap_clock(HALF_WRAP_TICKS - 1, 0) == HALF_WRAP_TICKS - 1
    assert unwrap_clock(HALF_WRAP_TICKS, 0) == -HALF_WRAP_TICKS
    assert _unwrapped([0, HALF_WRAP_TICKS - 1]) == [0, HALF_WRAP_TICKS - 1]
    assert _unwrapped([0, HALF_WRAP_TICKS]) == [0, -HALF_WRAP_TICKS]


def test_board_seconds_run_on_across_the_wrap():
    clock = BoardClock(1_000_000)
    before = clock.seconds(LAST_TICK - 999_999)  # one second before the wrap
    after = clock.seconds(500_000)  # half a second after it
    assert after - before == pytest.approx(1.5, abs=1e-9)
    assert clock.seconds(LAST_TICK) < after  # a late report from before the wrap
    assert clock.seconds(600_000) - after == pytest.approx(0.1, abs=1e-9)
