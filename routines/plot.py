"""Draw a plan: one lane per channel over time (matplotlib, an optional extra)."""

from __future__ import annotations

from pathlib import Path

from routines.errors import InputError
from routines.plan import Plan
from routines.summary import format_duration

# Enough samples that every sweep and ramp is drawn smoothly, few enough to draw quickly.
MAX_SAMPLES_PER_LANE = 20_000
FINEST_RATE_HZ = 10.0
LANE_HEIGHT_IN = 1.1


def plot_plan(plan: Plan, path: str | Path) -> Path:
    """Write a PNG (or any format matplotlib knows by the suffix) of the plan to `path`."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise InputError(
            "plotting needs matplotlib, which is not installed",
            "pip install 'massagectl[plot]'",
        ) from None
    path = Path(path)
    channels = plan.used_channels()
    if not channels:
        raise InputError(f"plan {plan.routine!r} drives no channel; there is nothing to plot")
    rate_hz = min(FINEST_RATE_HZ, MAX_SAMPLES_PER_LANE / max(plan.duration_s, 1.0))
    times_s, lanes = plan.render(rate_hz, channels)
    # A figure of its own with the Agg canvas: no pyplot, no global backend state.
    figure = Figure(figsize=(11, 0.8 + LANE_HEIGHT_IN * len(channels)))
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(channels), 1, sharex=True, squeeze=False)[:, 0]
    minutes = times_s / 60
    for axis, channel_id in zip(axes, channels):
        channel = plan.device.channel(channel_id)
        axis.plot(minutes, lanes[channel_id], linewidth=0.8)
        axis.set_ylim(channel.min, channel.max)
        axis.set_ylabel(f"{channel_id}\n{channel.unit.value}", rotation=0, ha="right",
                        va="center", fontsize=8)
        axis.tick_params(labelsize=7)
        axis.grid(True, linewidth=0.3)
    axes[-1].set_xlabel("plan time, minutes")
    figure.suptitle(f"{plan.routine} on {plan.device.name}, intensity {plan.intensity}, "
                    f"{format_duration(plan.duration_s)}")
    figure.tight_layout()
    try:
        figure.savefig(path)
    except (OSError, ValueError) as error:
        raise InputError(f"cannot write {path}: {error}") from None
    return path
