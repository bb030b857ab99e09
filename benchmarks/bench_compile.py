"""Benchmark: compiling routines of 30 min, 2 h and 8 h, against a per-segment Python loop.

Run from the repository root:

    python benchmarks/bench_compile.py            # full run, about half a minute
    python benchmarks/bench_compile.py --quick    # fewer repetitions

The routine is a mixed 30-minute block (heat, kneading, strokes, tapping, trigger points and
airbag cycles in parallel tracks) repeated 1, 4 and 16 times, compiled for the chair. Each row
prints the median and p99 of `compile_routine` (validation, placement, patterns, numpy
assembly, the plan's own invariant check) and of the naive approach measured in the same run:
the same front end, but each segment built as a Python `Segment`, cut with `split_segment` and
packed with `segment_table` one row at a time, then scaled to the intensity level row by row.
Both produce the same plan (checked). `per plan-h` is the median per hour of plan: constant
for a linear cost, falling where fixed costs (validation, set-up) dominate.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from massagectl.routines.compiler import _write, compile_routine, resolve_intensity
from massagectl.routines.device import load_device
from massagectl.routines.intensity import intensity_factor
from massagectl.routines.loading import validate_data
from massagectl.routines.plan import Plan, Segment, segment_table, split_segment
from massagectl.routines.routine import Routine
from massagectl.routines.routine_check import raise_if_unfit
from massagectl.routines.techniques import Techniques
from massagectl.routines.timeline import place
from massagectl.routines.user import DEFAULT_USER

TARGET_30_MIN_MS = 20.0


def knead(band, seconds):
    return {"kind": "knead", "duration_s": seconds, "speed_cpm": 24, "band": band, "depth_mm": 8}


def block_steps() -> list[dict]:
    """Thirty minutes of mixed work, in three parallel tracks."""
    roller = [
        knead("shoulders", 180), knead("upper_back", 180),
        {"kind": "stroke", "duration_s": 240, "band": [0, 100], "speed_mm_s": 12, "depth_mm": 10},
        {"kind": "trigger_point", "point": "rhomboid", "depth_mm": 10, "hold_s": 60},
        knead("mid_back", 180),
        {"kind": "tap", "duration_s": 150, "frequency_hz": 5, "band": [0, 100]},
        {"kind": "trigger_point", "point": "quadratus_lumborum", "depth_mm": 10, "hold_s": 80},
        knead("lower_back", 300),
        {"kind": "stroke", "duration_s": 300, "band": [100, 0], "speed_mm_s": 15},
        {"kind": "pause", "duration_s": 90},
    ]
    cycle = [
        {"kind": "press", "zones": ["calves", "feet"], "pressure_kpa": 5, "ramp_in_s": 15,
         "hold_s": 60, "release_s": 15},
        {"kind": "press", "zones": ["seat"], "pressure_kpa": 10, "ramp_in_s": 20,
         "hold_s": 60, "release_s": 20},
        {"kind": "pause", "duration_s": 110},
    ]
    heat = [{"kind": "heat", "zone": "lower_back", "temperature_c": 40, "duration_s": 1800}]
    return [{"kind": "parallel", "tracks": [
        {"steps": heat}, {"steps": roller}, {"steps": [{"kind": "repeat", "count": 6,
                                                        "steps": cycle}]},
    ]}]


def routine_of(blocks: int) -> Routine:
    data = {"name": f"bench_{blocks}", "description": "benchmark", "warm_up_s": 0,
            "cool_down_s": 10, "steps": [{"kind": "repeat", "count": blocks,
                                          "steps": block_steps()}]}
    return validate_data("bench", data, Routine)


def naive_compile(routine: Routine, device, user=DEFAULT_USER) -> Plan:
    """The same compiler with a per-segment Python loop for cutting, packing and scaling."""
    level = resolve_intensity(routine, user, None)
    raise_if_unfit(routine, device, user)
    timeline = place(routine)
    writers = _write(timeline, Techniques(device, user), device)  # shared front end
    factor = intensity_factor(level)
    segments = []
    for writer in writers:
        channel = writer.channel
        for start_ms, duration_ms, start, end, amplitude, period_ms, step in writer.rows:
            if channel.kind.scaled_by_intensity:
                safe = channel.safe_default
                start, end = safe + (start - safe) * factor, safe + (end - safe) * factor
                amplitude *= factor
            whole = Segment(channel.id, start_ms / 1000, duration_ms / 1000, start, end,
                            amplitude, period_ms / 1000, step)
            segments += split_segment(whole, channel.max_duration_s)
    plan = Plan(routine.name, device, timeline.duration_ms / 1000,
                segment_table(segments, device), timeline.labels, intensity=level)
    assert plan.problems() == []
    return plan


def timings_ms(function, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    chair = load_device("chair")
    cases = [("30 min", 1, 200), ("2 h", 4, 50), ("8 h", 16, 15)]
    print(f"{'routine':<8} {'segments':>8} {'median ms':>10} {'p99 ms':>8} {'per plan-h':>11} "
          f"{'naive median':>13} {'naive p99':>10} {'ratio':>6}")
    for label, blocks, repeats in cases:
        repeats = max(3, repeats // 10) if args.quick else repeats
        routine = routine_of(blocks)
        fast_plan = compile_routine(routine, chair)
        naive_plan = naive_compile(routine, chair)
        assert np.allclose(fast_plan.table.tolist(), naive_plan.table.tolist(), atol=1e-6)
        fast = timings_ms(partial(compile_routine, routine, chair), repeats)
        naive = timings_ms(partial(naive_compile, routine, chair), max(3, repeats // 4))
        hours = fast_plan.duration_s / 3600
        median, naive_median = statistics.median(fast), statistics.median(naive)
        print(f"{label:<8} {len(fast_plan):>8} {median:>10.2f} {np.percentile(fast, 99):>8.2f} "
              f"{median / hours:>11.2f} {naive_median:>13.2f} {np.percentile(naive, 99):>10.2f} "
              f"{naive_median / median:>5.1f}x")
    print(f"target: 30 min <= {TARGET_30_MIN_MS:g} ms median, cost at most linear in length "
          "(per plan-hour constant or falling as fixed costs spread)")


if __name__ == "__main__":
    main()
