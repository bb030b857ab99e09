"""Figures from a run: samples summarised, checked against a target, printed as one table, as JSON.

    figure = Figure("1 stop", "signal -> STOP on the wire, idle", "ms", samples,
                    Target("p99", "<=", 2.0))
    print_table([figure, ...]); write_json(path, machine(), figures)

A p99 means something only when samples lie above it: with fewer than MIN_SAMPLES_FOR_P99 it
is not shown (a quick run's "p99" would be its maximum under another name).
"""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import numpy as np

MIN_SAMPLES_FOR_P99 = 100
STATS = ("min", "p1", "median", "p99", "max")


@dataclass(frozen=True)
class Target:
    stat: str  # one of STATS
    op: str  # "<=", "<" or ">="
    value: float

    def met_by(self, figure: Figure) -> bool | None:
        got = figure.stat(self.stat)
        if got is None:
            return None
        if self.op == "<":
            return got < self.value
        return got <= self.value if self.op == "<=" else got >= self.value

    def __str__(self) -> str:
        return f"{self.stat} {self.op} {self.value:g}"


@dataclass
class Figure:
    section: str
    name: str
    unit: str
    samples: list[float]
    target: Target | None = None
    baseline: Figure | None = None  # the naive approach, measured in the same run
    note: str = ""
    extra: dict[str, float] = field(default_factory=dict)  # figures beside the samples

    def stat(self, name: str) -> float | None:
        if not self.samples:
            return None
        values = np.asarray(self.samples, dtype=float)
        if name in ("p1", "p99") and values.size < MIN_SAMPLES_FOR_P99:
            return None
        if name == "min":
            return float(values.min())
        if name == "max":
            return float(values.max())
        if name == "median":
            return float(np.median(values))
        # "lower" keeps it a value that was measured, not an interpolation between two.
        return float(np.percentile(values, 1 if name == "p1" else 99, method="lower"))

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.target.met_by(self)

    def as_json(self) -> dict:
        return {
            "section": self.section, "name": self.name, "unit": self.unit,
            "n": len(self.samples), **{s: self.stat(s) for s in STATS},
            "target": str(self.target) if self.target else None, "met": self.met,
            "baseline": self.baseline.as_json() if self.baseline else None,
            "note": self.note, "extra": self.extra, "samples": list(map(float, self.samples)),
        }


def machine() -> dict:
    """The machine the figures come from."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as file:
            model = next(line.split(":", 1)[1].strip() for line in file
                         if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "cpu": model, "cores": os.cpu_count(), "python": sys.version.split()[0],
        "system": f"{platform.system()} {platform.release()}",
        "load_average_1_5_15": list(os.getloadavg()),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0 or abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


HEADER = ["section", "measurement", "unit", "n", "min", "p1", "median", "p99", "max", "target",
          "met", "naive (median)"]


def rows(figures: list[Figure]) -> list[list[str]]:
    table = []
    for f in figures:
        met = {None: "-", True: "yes", False: "NO"}[f.met]
        naive = "-"
        if f.baseline is not None:
            naive = f"{_number(f.baseline.stat('median'))} ({f.baseline.name})"
        stats = [_number(f.stat(name)) for name in STATS]
        table.append([f.section, f.name, f.unit, str(len(f.samples)), *stats,
                      str(f.target) if f.target else "-", met, naive])
    return table


def markdown_table(header: list[str], body: list[list[str]],
                   out: TextIO = sys.stdout) -> None:
    """Columns padded to their widest cell, so the table reads as text and as Markdown."""
    widths = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(header)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |",
          file=out)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|", file=out)
    for row in body:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |",
              file=out)


def print_table(figures: list[Figure], out: TextIO = sys.stdout) -> None:
    """One Markdown table, so README can carry it as printed."""
    markdown_table(HEADER, rows(figures), out)
    notes = [f"{f.section} {f.name}: {f.note}" for f in figures if f.note]
    for note in notes:
        print(f"- {note}", file=out)
    out.flush()


def write_json(path: Path, about: dict, figures: list[Figure]) -> None:
    path.write_text(json.dumps({"machine": about, "figures": [f.as_json() for f in figures]},
                               indent=1))
