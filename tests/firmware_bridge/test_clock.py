"""Clock synchronisation: regression of the board's clock on host time, wrap-around, error."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from massagectl.firmware_bridge.clock import ClockSync
from massagectl.firmware_bridge.wire import CLOCK_MODULUS


def _feed(sync: ClockSync, *, offset_ticks: int, rate_error: float, seconds: float,
          jitter_s: float, seed: int = 1, start_s: float = 100.0, every_s: float = 0.1) -> None:
    rng = random.Random(seed)
    hz = sync.clock_hz * (1 + rate_error)
    host_s = start_s
    while host_s < start_s + seconds:
        out_s = rng.uniform(0.0002, jitter_s)
        back_s = rng.uniform(0.0002, jitter_s)
        true_clock = offset_ticks + round((host_s + out_s) * hz)
        sync.add_sample(host_s, host_s + out_s + back_s, true_clock % CLOCK_MODULUS)
        host_s += every_s


@given(offset=st.integers(0, CLOCK_MODULUS - 1), rate_error=st.floats(-2e-4, 2e-4),
       seed=st.integers(0, 1000))
def test_estimate_is_within_its_stated_error(offset, rate_error, seed):
    sync = ClockSync(1_000_000)
    _feed(sync, offset_ticks=offset, rate_error=rate_error, seconds=8, jitter_s=0.002, seed=seed)
    host_s = 108.5  # half a second past the last sample: the streaming window
    true_clock = offset + round(host_s * 1_000_000 * (1 + rate_error))
    error_ticks = abs(sync.clock_at(host_s) - sync.unwrap(true_clock % CLOCK_MODULUS))
    assert error_ticks <= sync.error_s * 1_000_000 + 300  # plus 0.5 s of residual rate error
    assert sync.error_s < 0.003


def test_wrap_around_is_seamless_over_hours():
    sync = ClockSync(1_000_000)
    _feed(sync, offset_ticks=CLOCK_MODULUS - 2_000_000, rate_error=5e-5, seconds=3 * 3600,
          jitter_s=0.001, start_s=0.0, every_s=2.0)
    later_s = 3 * 3600 + 0.5
    unwrapped = sync.clock_at(later_s)
    assert unwrapped > 2 * CLOCK_MODULUS  # the 32-bit clock wrapped twice on the way
    assert sync.host_time_at(unwrapped) == pytest.approx(later_s, abs=1e-6)
    assert sync.unwrap(unwrapped % CLOCK_MODULUS) == unwrapped


def test_a_restarted_board_shows_as_a_jump():
    sync = ClockSync(1_000_000)
    _feed(sync, offset_ticks=0, rate_error=0.0, seconds=3, jitter_s=0.001)
    deviation_s = sync.add_sample(103.2, 103.201, 5_000)  # the clock began again near 0
    assert abs(deviation_s) > 100


def test_before_a_long_span_the_nominal_rate_is_used():
    sync = ClockSync(1_000_000)
    sync.add_sample(10.0, 10.002, 1_000)
    assert sync.rate_hz == 1_000_000
    assert sync.clock_at(11.001) == 1_000 + 1_000_000
    assert sync.error_s == pytest.approx(0.001)
