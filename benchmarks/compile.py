"""Compile: built-in routines and synthetic 30 min, 2 h and 8 h routines; growth per doubling.

    python -m benchmarks --only compile

The synthetic routine is a mixed 30-minute block (heat, kneading, strokes, tapping, trigger
points and airbag cycles in parallel tracks) repeated 1, 4 and 16 times, compiled for the chair
by `compile_routine` (validation, placement, patterns, numpy assembly, the plan's own invariant
check). The naive approach, measured in the same run: the same front end, but each segment
built as a Python `Segment`, cut with `split_segment` and packed with `segment_table` one row at
a time, then scaled to the intensity level row by row. Both produce the same plan (checked).
Growth per doubling of length: (time of 8 h / time of 30 min) ** (1/4); 2.0 is linear.
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks.figures import Figure, Target
from massagectl.routines.compiler import _write, compile_routine, resolve_intensity
from massagectl.routines.device import load_device
from massagectl.routines.intensity import intensity_factor
from massagectl.routines.library import library_entries, load_builtin
from massagectl.routines.loading import validate_data
from massagectl.routines.plan import Plan, Segment, segment_table, split_segment
from massagectl.routines.routine import Routine
from massagectl.routines.routine_check import raise_if_unfit
from massagectl.routines.techniques import Techniques
from massagectl.routines.timeline import place
from massagectl.routines.user import DEFAULT_USER

TARGET_30_MIN_MS = Target("median", "<=", 20.0)
LINEAR = Target("median", "<=", 2.2)  # growth per doubling: 2.0 is linear; 10 % for noise


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


def chair_routine_names() -> list[str]:
    """The built-in routines that run on the chair (some are for the pad alone)."""
    return [entry.name for entry in library_entries() if "chair" in entry.devices]


def figures(quick: bool) -> list[Figure]:
    chair = load_device("chair")
    result = []
    medians = {}
    for label, blocks, repeats in (("30 min", 1, 200), ("2 h", 4, 50), ("8 h", 16, 15)):
        repeats = max(3, repeats // 10) if quick else repeats
        routine = routine_of(blocks)
        fast_plan = compile_routine(routine, chair)
        naive_plan = naive_compile(routine, chair)
        assert np.allclose(fast_plan.table.tolist(), naive_plan.table.tolist(), atol=1e-6)
        fast = timings_ms(lambda: compile_routine(routine, chair), repeats)  # noqa: B023
        naive = timings_ms(lambda: naive_compile(routine, chair), max(3, repeats // 4))  # noqa: B023
        medians[blocks] = float(np.median(fast))
        result.append(Figure(
            "6 compile", f"synthetic {label} ({len(fast_plan)} segments)", "ms", fast,
            TARGET_30_MIN_MS if blocks == 1 else None,
            Figure("6 compile", "per-segment loop", "ms", naive)))
    growth = (medians[16] / medians[1]) ** 0.25
    result.append(Figure("6 compile", "growth per doubling of length, 30 min -> 8 h", "x",
                         [growth], LINEAR, note="2.0 is linear in length"))
    builtin = []
    for name in chair_routine_names():
        routine = load_builtin(name)
        builtin += timings_ms(lambda: compile_routine(routine, chair), 3 if quick else 20)  # noqa: B023
    result.append(Figure("6 compile", "built-in routines, every one for the chair", "ms",
                         builtin))
    return result
