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


def plot_plan(plan: Plan, path: str | Path) -> Path:
    """Write a PNG (or any format matplotlib knows by the suffix) of the plan to `path`."""
    channels = plan.used_channels()
    if not channels:
        raise InputError(f"plan {plan.routine!r} drives no channel; there is nothing to plot")
    rate_hz = min(FINEST_RATE_HZ, MAX_SAMPLES_PER_LANE / max(plan.duration_s, 1.0))
    times_s, values = plan.render(rate_hz, channels)
    lanes = []
    for channel_id in channels:
        channel = plan.device.channel(channel_id)
        lanes.append(Lane(channel_id, channel.unit.value, channel.min, channel.max,
                          [(times_s, values[channel_id], "plan")]))
    title = (f"{plan.routine} on {plan.device.name}, intensity {plan.intensity}, "
             f"{format_duration(plan.duration_s)}")
    return draw_lanes(lanes, title, "plan time, minutes", path)


def draw_lanes(lanes: list[Lane], title: str, x_label: str, path: str | Path) -> Path:
    """One lane per entry, stacked on a shared time axis (seconds in, minutes drawn)."""
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
    for axis, lane in zip(axes, lanes):
        for x_s, y, name in lane.lines:
            axis.plot(x_s / 60, y, linewidth=0.8, label=name)
        axis.set_ylim(lane.low, lane.high)
        axis.set_ylabel(f"{lane.label}\n{lane.unit}", rotation=0, ha="right",
                        va="center", fontsize=8)
        axis.tick_params(labelsize=7)
        axis.grid(True, linewidth=0.3)
        if len(lane.lines) > 1:
            axis.legend(fontsize=6, loc="upper right")
    axes[-1].set_xlabel(x_label)
    figure.suptitle(title)
    figure.tight_layout()
    try:
        figure.savefig(path)
    except (OSError, ValueError) as error:
        raise InputError(f"cannot write {path}: {error}") from None
    return path
