"""`python -m benchmarks [--quick] [--json FILE] [--only SECTIONS]`: every measurement, one table.

Run from the repository root with the project installed (`pip install -e '.[test]'`). The
full run takes hundreds of stops and minutes of real-time sessions; `--quick` takes a few
samples of each, to check that every measurement still works (its figures are not evidence:
no p99 is shown from fewer than 100 samples). Every number comes from the run; the machine,
its load average before and after, and the date are printed with the table and written to the
JSON file.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks import (
    bench_codec,
    bench_damaged_line,
    bench_safety,
    bench_sim,
    footprint,
    host_gone,
    stop_latency,
    streaming,
    virtual_time,
    wire,
)
from benchmarks import (
    compile as compile_bench,
)
from benchmarks.figures import Figure, machine, print_table, write_json

SECTIONS = ("stop", "streaming", "host_gone", "wire", "damaged_line", "compile", "virtual",
            "footprint", "codec", "safety", "simulator")


@dataclass(frozen=True)
class Sizes:
    stops: int  # per stop source and load
    stop_chairs: int  # chairs taking turns at the stops (see benchmarks.stop_latency)
    loads: tuple[bool, ...]
    stream_s: float  # real-time streaming before the stalls
    host_gone: int  # kills and freezes, each, per load
    wire_routines: list[str] | None  # None: every built-in routine
    virtual_repeats: int
    profile: bool
    footprint_s: float


FULL = Sizes(stops=200, stop_chairs=4, loads=(False, True), stream_s=60.0, host_gone=20,
             wire_routines=None, virtual_repeats=3, profile=True, footprint_s=120.0)
QUICK = Sizes(stops=3, stop_chairs=1, loads=(False,), stream_s=3.0, host_gone=2,
              wire_routines=["trigger_point_release"], virtual_repeats=1, profile=False,
              footprint_s=6.0)


def run(sections: list[str], sizes: Sizes, workdir: Path, quick: bool,
        load_by_section: dict[str, float] | None = None) -> tuple[list[Figure], list[str]]:
    """The figures of `sections`, and lines to print below the table. `load_by_section` gets
    the 1-minute load average as each section starts: the machine is shared, and what else ran
    beside a figure is part of it. A section that fails is said below the table; the others
    still run."""
    loads = load_by_section if load_by_section is not None else {}

    def virtual() -> tuple[list[Figure], list[str]]:
        return virtual_time.figures(sizes.virtual_repeats, sizes.profile)

    measure: dict[str, Callable[[], list[Figure] | tuple[list[Figure], list[str]]]] = {
        "stop": lambda: stop_latency.figures(sizes.stops, workdir, sizes.loads,
                                             sizes.stop_chairs),
        "streaming": lambda: streaming.figures(sizes.stream_s, workdir, sizes.loads),
        "host_gone": lambda: host_gone.figures(sizes.host_gone, workdir, sizes.loads),
        "wire": lambda: wire.figures(sizes.wire_routines),
        "damaged_line": lambda: bench_damaged_line.figures(quick),
        "compile": lambda: compile_bench.figures(quick),
        "virtual": virtual,
        "footprint": lambda: footprint.figures(sizes.footprint_s, workdir),
        "codec": lambda: bench_codec.figures(quick),
        "safety": lambda: bench_safety.figures(quick),
        "simulator": lambda: bench_sim.figures(quick),
    }
    figures: list[Figure] = []
    lines: list[str] = []
    for name in SECTIONS:
        if name not in sections:
            continue
        loads[name] = round(os.getloadavg()[0], 1)
        print(f"[{time.strftime('%H:%M:%S')}] {name} (load {loads[name]}) ...",
              file=sys.stderr, flush=True)
        try:
            found = measure[name]()
        except Exception as error:
            traceback.print_exc()
            lines.append(f"section {name} FAILED, no figures from it: "
                         f"{type(error).__name__}: {error}")
            continue
        if isinstance(found, tuple):
            found, said = found
            lines += said
        figures += found
    # The naive stop: no stop path at all, the chair left to the board's watchdog.
    gone = {f.name: f for f in figures if f.section == "3 host gone"}
    for figure in figures:
        if figure.section == "1 stop" and figure.name.endswith(("safe, idle", "safe, loaded")):
            load = figure.name.rsplit(", ", 1)[1]
            figure.baseline = gone.get(f"controller SIGKILL -> board safe, {load}")
    return figures, lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split(
        "\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a few samples of everything (a smoke check, about a minute)")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE",
                        help="also write every figure, its samples and the machine here")
    parser.add_argument("--only", default=",".join(SECTIONS), metavar="SECTIONS",
                        help=f"comma-separated, from: {', '.join(SECTIONS)}")
    parser.add_argument("--stops", type=int, default=None,
                        help="stops per source and load (full run: 200)")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    sizes = QUICK if args.quick else FULL
    if args.stops is not None:
        sizes = Sizes(**{**sizes.__dict__, "stops": args.stops})
    about = machine()
    began = time.perf_counter()
    about["load_by_section"] = {}
    with tempfile.TemporaryDirectory(prefix="bench-") as directory:
        figures, lines = run(chosen, sizes, Path(directory), args.quick,
                             about["load_by_section"])
    about["load_average_after"] = list(os.getloadavg())
    about["run_s"] = round(time.perf_counter() - began, 1)
    about["quick"] = args.quick
    print(f"\n{about['date']}: {about['cpu']}, {about['cores']} cores, Python {about['python']}, "
          f"{about['system']}; load average (1/5/15 min) before "
          f"{'/'.join(f'{v:.1f}' for v in about['load_average_1_5_15'])}, after "
          f"{'/'.join(f'{v:.1f}' for v in about['load_average_after'])}; "
          f"{'quick' if args.quick else 'full'} run, {about['run_s']:.0f} s; 1-minute load "
          f"average as each section started: "
          f"{', '.join(f'{k} {v:g}' for k, v in about['load_by_section'].items())} "
          f"({about['cores']} cores)\n")
    print_table(figures)
    for line in lines:
        print(line)
    missed = [f"{f.section} {f.name}" for f in figures if f.met is False]
    print(f"\ntargets not met: {', '.join(missed) if missed else 'none'}")
    if args.json is not None:
        write_json(args.json, about, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
