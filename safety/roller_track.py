"""Where the roller is during a plan: position ranges over time spans, and times on a band.

Works on the position channel's rows of a plan table (sorted, contiguous from 0, as
`Plan.problems` guarantees). Without a position channel in the plan the carriage stays wherever
it is, so every range is unknown (NaN), which the body map reads as "any zone".
"""

from __future__ import annotations

import numpy as np

from massagectl.safety.segment_math import value_range_between


def position_ranges(
    position_rows: np.ndarray, from_s: np.ndarray, to_s: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest carriage position during each span `[from_s, to_s)`."""
    from_s = np.asarray(from_s, dtype=np.float64)
    to_s = np.asarray(to_s, dtype=np.float64)
    low = np.full(from_s.shape, np.nan)
    high = np.full(from_s.shape, np.nan)
    if len(position_rows) == 0 or len(from_s) == 0:
        return low, high
    row_start = position_rows["start_s"]
    row_end = row_start + position_rows["duration_s"]
    first = np.searchsorted(row_end, from_s, side="right")  # first row ending after from_s
    last = np.searchsorted(row_start, to_s, side="left") - 1  # last row starting before to_s
    first = np.minimum(first, len(position_rows) - 1)
    last = np.maximum(last, first)
    counts = last - first + 1
    span_of_pair = np.repeat(np.arange(len(from_s)), counts)
    offsets = np.concatenate(([0], np.cumsum(counts)[:-1]))
    row_of_pair = first[span_of_pair] + np.arange(counts.sum()) - offsets[span_of_pair]
    rows = position_rows[row_of_pair]
    t0 = np.clip(from_s[span_of_pair], rows["start_s"], rows["start_s"] + rows["duration_s"])
    t1 = np.clip(to_s[span_of_pair], rows["start_s"], rows["start_s"] + rows["duration_s"])
    pair_low, pair_high = value_range_between(
        rows["start_s"], rows["duration_s"], rows["start_value"], rows["end_value"],
        rows["amplitude"], t0, t1,
    )
    low = np.minimum.reduceat(pair_low, offsets)
    high = np.maximum.reduceat(pair_high, offsets)
    return low, high


def spans_on_band(
    position_rows: np.ndarray, duration_s: float, band_low: float, band_high: float
) -> list[tuple[float, float]]:
    """Merged time spans in which the carriage may be within `[band_low, band_high]` mm.

    Exact for ramps and holds; an oscillating row counts from where its centre comes within one
    amplitude of the band.
    """
    if len(position_rows) == 0:
        return [(0.0, duration_s)]  # position unknown: it may be anywhere
    start_s = position_rows["start_s"]
    end_s = start_s + position_rows["duration_s"]
    a = position_rows["start_value"]
    b = position_rows["end_value"]
    swing = np.abs(position_rows["amplitude"])
    low_edge = band_low - swing
    high_edge = band_high + swing
    slope = np.where(b != a, (b - a), 1.0)
    # Fractions of each row at which the centre crosses the widened band's two edges.
    with np.errstate(over="ignore", invalid="ignore"):  # only moving rows use them
        f_low = (low_edge - a) / slope
        f_high = (high_edge - a) / slope
    moving = b != a
    enter = np.where(moving, np.clip(np.minimum(f_low, f_high), 0.0, 1.0), 0.0)
    leave = np.where(moving, np.clip(np.maximum(f_low, f_high), 0.0, 1.0), 1.0)
    inside_hold = (a >= low_edge) & (a <= high_edge)
    touches = np.where(moving, (np.maximum(a, b) >= low_edge) & (np.minimum(a, b) <= high_edge),
                       inside_hold)
    duration = end_s - start_s
    spans: list[tuple[float, float]] = []
    for index in np.flatnonzero(touches):
        span = (start_s[index] + enter[index] * duration[index],
                start_s[index] + leave[index] * duration[index])
        if spans and span[0] <= spans[-1][1] + 1e-9:
            spans[-1] = (spans[-1][0], max(spans[-1][1], span[1]))
        else:
            spans.append(span)
    return spans
