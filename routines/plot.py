"""Draw a plan: one lane per channel over time (matplotlib, an optional extra).

`draw_lanes` is the drawing itself, shared with `massagectl trace`, which draws what was sent
against what the board measured in the same lanes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from massagectl.routines.errors import InputError
from massagectl.routines.plan import Plan
from massagectl.routines.summary import format_duration

# Enough samples that every sweep and ramp is drawn smoothly, few enough to draw quickly.
MAX_SAMPLES_PER_LANE = 20_000
FINEST_RATE_HZ = 10.0
LANE_HEIGHT_IN = 1.1
DEFAULT_SUFFIX = ".png"


@dataclass
class Lane:
    """One channel's lane: its label, value range, and the lines drawn in it."""

    label: str
    unit: str
    low: float
    high: float
    lines: list[tuple[np.ndarray, np.ndarray, str]] = field(default_factory=list)  # x s, y, name
    labels: list[tuple[float, str]] = field(default_factory=list)  # (start s, step) in the lane


@dataclass(frozen=True)
class Mark:
    """Something that happened across every lane: a moment (`end_s` None) or a stretch."""

    start_s: float
    label: str
    end_s: float | None = None
    color: str = "0.4"


def step_name(label: str) -> str:
    """`steps[2] (knead)` -> `knead`: the technique, which is what a reader looks for."""
    return label[label.rfind("(") + 1:-1] if label.endswith(")") else label


def plot_plan(plan: Plan, path: str | Path) -> Path:
    """Write a PNG (or any format matplotlib knows by the suffix) of the plan to `path`."""
    channels = plan.used_channels()
    if not channels:
        raise InputError(f"plan {plan.routine!r} drives no channel; there is nothing to plot")
    title = (f"{plan.routine} on {plan.device.name}, intensity {plan.intensity}, "
             f"{format_duration(plan.duration_s)}")
    return draw_lanes(plan_lanes(plan), title, "plan time, minutes", path)


def plan_lanes(plan: Plan) -> list[Lane]:
    """A lane per channel the plan drives, its steps named where they begin on it."""
    channels = plan.used_channels()
    rate_hz = min(FINEST_RATE_HZ, MAX_SAMPLES_PER_LANE / max(plan.duration_s, 1.0))
    times_s, values = plan.render(rate_hz, channels)
    lanes = []
    table = plan.table
    for channel_id in channels:
        channel = plan.device.channel(channel_id)
        rows = table[(table["channel"] == plan.device.channel_index(channel_id))
                     & (table["step"] >= 0)]
        labels, last = [], None
        for row in rows[np.argsort(rows["start_s"], kind="stable")]:
            name = step_name(plan.step_label(int(row["step"])))
            if int(row["step"]) != last:
                labels.append((float(row["start_s"]), name))
                last = int(row["step"])
        lanes.append(Lane(channel_id, channel.unit.value, channel.min, channel.max,
                          [(times_s, values[channel_id], "plan")], labels))
    return lanes


def draw_lanes(lanes: list[Lane], title: str, x_label: str, path: str | Path,
               marks: tuple[Mark, ...] = ()) -> Path:
    """One lane per entry, stacked on a shared time axis (seconds in, minutes drawn); marks
    run across every lane and are named above the first. Legends sit right of the lanes,
    never over the data."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise InputError(
            "plotting needs matplotlib, which is not installed",
            "pip install 'massagectl[plot]'",
        ) from None
    path = Path(path)
    # A figure of its own with the Agg canvas: no pyplot, no global backend state.
    figure = Figure(figsize=(11, 0.8 + LANE_HEIGHT_IN * len(lanes)))
    canvas = FigureCanvasAgg(figure)
    # matplotlib would add ".png" to a name without a suffix on its own, and the caller
    # would then report a file that does not exist: name the file it writes here.
    if not path.suffix:
        path = path.with_name(path.name + DEFAULT_SUFFIX)
    formats = canvas.get_supported_filetypes()
    if path.suffix[1:].lower() not in formats:
        raise InputError(f"cannot draw into {path}: {path.suffix!r} is not an image format "
                         "matplotlib writes", f"use one of {', '.join(sorted(formats))}")
    axes = figure.subplots(len(lanes), 1, sharex=True, squeeze=False)[:, 0]
    for axis, lane in zip(axes, lanes, strict=True):
        for x_s, y, name in lane.lines:
            axis.plot(x_s / 60, y, linewidth=0.8, label=name)
        for mark in marks:
            if mark.end_s is None:
                axis.axvline(mark.start_s / 60, color=mark.color, linewidth=0.8, linestyle="--")
            else:
                axis.axvspan(mark.start_s / 60, mark.end_s / 60, color=mark.color, alpha=0.12,
                             linewidth=0)
        for number, (start_s, name) in enumerate(lane.labels):
            axis.axvline(start_s / 60, color="0.8", linewidth=0.5)
            # Every other label one line lower, so a short step's name does not run into the
            # next one's.
            axis.annotate(name, (start_s / 60, 1.0), xycoords=("data", "axes fraction"),
                          xytext=(2, -2 - 6 * (number % 2)), textcoords="offset points",
                          va="top", fontsize=5, color="0.35")
        axis.set_ylim(lane.low, lane.high)
        axis.set_ylabel(f"{lane.label}\n{lane.unit}", rotation=0, ha="right",
                        va="center", fontsize=8)
        axis.tick_params(labelsize=7)
        axis.grid(True, linewidth=0.3)
        if len(lane.lines) > 1:
            axis.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.005, 1.0),
                        frameon=False)
    for number, mark in enumerate(marks):
        axes[0].annotate(mark.label, (mark.start_s / 60, 1.0), xycoords=("data", "axes fraction"),
                         xytext=(0, 3 + 8 * (number % 3)), textcoords="offset points",
                         fontsize=6, color=mark.color)
    axes[-1].set_xlabel(x_label)
    figure.suptitle(title)
    figure.tight_layout()
    try:
        figure.savefig(path)
    except (OSError, ValueError) as error:
        raise InputError(f"cannot write {path}: {error}") from None
    return path
