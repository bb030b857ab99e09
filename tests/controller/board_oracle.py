"""What the simulated board did, measured from its trace alone: an oracle that shares no code
with the session or the supervisor it judges.

Every figure comes from the board's 20 Hz samples of its commanded outputs (after intensity,
mask and clamp), so each is exact to one sample period per stretch measured.
"""

from __future__ import annotations

import numpy as np

from massagectl.routines.device import DeviceProfile
from massagectl.sim.trace import Trace


def sample_period_s(trace: Trace) -> float:
    """The board's telemetry period, from its own clock."""
    ticks = trace.ticks
    if len(ticks) < 2:
        return 0.0
    return float(np.median(np.diff(ticks))) / trace.clock_hz


def active_mask(trace: Trace, device: DeviceProfile) -> np.ndarray:
    """Per sample: does the board drive anything away from its safe state? (A position-like
    drive with no target is stopped, stored as NaN; any target counts as driving.)"""
    outputs = trace.outputs
    active = np.zeros(len(outputs), dtype=bool)
    for index, channel in enumerate(device.channels):
        column = outputs[:, index]
        if channel.safe_default is None:
            active |= ~np.isnan(column)
        else:
            active |= column != channel.safe_default
    return active


def active_s(trace: Trace, device: DeviceProfile) -> float:
    """Time on the chair: how long the board drove anything, pauses excluded."""
    return float(np.count_nonzero(active_mask(trace, device))) * sample_period_s(trace)


def stretches(mask: np.ndarray) -> int:
    """How many separate runs of True `mask` holds."""
    return int(np.count_nonzero(np.diff(np.concatenate(([0], mask.astype(np.int8)))) == 1))


def heat_on_s(trace: Trace, device: DeviceProfile, channel_id: str) -> float:
    """How long a heat zone's set point was above its safe default (off)."""
    channel = device.channel(channel_id)
    on = trace.output(channel_id) > channel.safe_default
    return float(np.count_nonzero(on)) * sample_period_s(trace)


def fastest_rise_per_s(trace: Trace, channel_id: str) -> float:
    """The fastest the commanded output of a channel rose from one sample to the next."""
    values = trace.output(channel_id)
    if len(values) < 2:
        return 0.0
    dt_s = np.diff(trace.ticks) / trace.clock_hz
    rises = np.diff(values)
    ok = np.isfinite(rises) & (dt_s > 0)
    if not np.any(ok):
        return 0.0
    return float(np.max(rises[ok] / dt_s[ok], initial=0.0))
