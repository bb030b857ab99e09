"""Bounds of the segment formula (routines.plan) over a whole span: values, rates, threshold times.

Each function takes numpy arrays (admission, over a plan table) or plain floats (the supervisor,
one outgoing segment); the formulas are the same. All bounds are conservative: an oscillation is
taken to reach centre +- amplitude and its full peak slope, even over a span shorter than a
period, so a bound is never below the true extreme.
"""

from __future__ import annotations

import math

import numpy as np


def upper_bound(start, end, amplitude):
    return np.maximum(start, end) + np.abs(amplitude)


def lower_bound(start, end, amplitude):
    return np.minimum(start, end) - np.abs(amplitude)


def swing_rate(amplitude, period_s):
    """Peak slope of the oscillation, unit/s (0 without one)."""
    safe_period = np.where(period_s > 0, period_s, 1.0)
    return np.where(period_s > 0, 2 * math.pi * np.abs(amplitude) / safe_period, 0.0)


def rate_bound(start, end, amplitude, duration_s, period_s):
    """Fastest change in either direction, unit/s."""
    return np.abs(end - start) / duration_s + swing_rate(amplitude, period_s)


def rise_bound(start, end, amplitude, duration_s, period_s):
    """Fastest rise, unit/s (0 where the value only falls)."""
    return np.maximum((end - start) / duration_s + swing_rate(amplitude, period_s), 0.0)


def end_value(start, end, amplitude, duration_s, period_s):
    """Value at the end of the span (the board holds it if nothing follows)."""
    safe_period = np.where(period_s > 0, period_s, 1.0)
    return end + np.where(period_s > 0, amplitude * np.sin(2 * math.pi * duration_s / safe_period),
                          0.0)


def above_span(start_s, duration_s, start, end, amplitude, threshold):
    """Part of each span where the value may be above `threshold`: `(from_s, to_s)`.

    Exact for holds and ramps; an oscillation whose peak passes the threshold counts whole.
    Where the value never passes it, `from_s == to_s == nan`.
    """
    start_s, duration_s, start, end, amplitude = np.broadcast_arrays(
        *(np.asarray(x, dtype=np.float64) for x in (start_s, duration_s, start, end, amplitude)))
    end_s = start_s + duration_s
    above = upper_bound(start, end, amplitude) > threshold
    crossing = (amplitude == 0) & (start != end) & ((start <= threshold) | (end <= threshold))
    safe_span = np.where(start != end, end - start, 1.0)
    with np.errstate(over="ignore", invalid="ignore"):  # only rows that cross are used
        at_s = start_s + (threshold - start) / safe_span * duration_s
    rising = end > start
    from_s = np.where(crossing & rising, at_s, start_s)
    to_s = np.where(crossing & ~rising, at_s, end_s)
    return np.where(above, from_s, np.nan), np.where(above, to_s, np.nan)


def value_range_between(start_s, duration_s, start, end, amplitude, t0_s, t1_s):
    """Lowest and highest value of each segment between `t0_s` and `t1_s` (inside its span)."""
    fraction0 = (t0_s - start_s) / duration_s
    fraction1 = (t1_s - start_s) / duration_s
    centre0 = start + (end - start) * fraction0
    centre1 = start + (end - start) * fraction1
    swing = np.abs(amplitude)
    return np.minimum(centre0, centre1) - swing, np.maximum(centre0, centre1) + swing
