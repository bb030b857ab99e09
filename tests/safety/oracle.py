"""An independent judge of a plan: render it at a fine rate and check every limit sample by sample.

It shares no code with admission beyond the limits object and the zone table: values come from
`Plan.render`, zones from the rendered carriage position, rates from finite differences.

For the supervisor's properties it also restates, from their sources, the two pieces of
arithmetic the safety layer judges with: the segment formula (hardware.md: a ramp plus a sine;
its value and its true slope, sampled) and the burn dose (Moritz & Henriques 1947; CEM43 below
44 C). They use none of the safety layer's helpers, so a wrong helper cannot judge itself.
"""

from __future__ import annotations

import numpy as np

from massagectl.routines.device import ChannelKind
from massagectl.routines.plan import Plan
from massagectl.safety.body_map import BACK_ZONE_BANDS_PCT
from massagectl.safety.channel_limits import PlanLimits
from massagectl.safety.thermal_dose import dose_rates_per_s

# Samples across one segment when its slope is sampled: a sine's peak slope is missed by at most
# 1 - cos(pi / SLOPE_SAMPLES) of itself, far inside the tolerances below.
SLOPE_SAMPLES = 4001

# Sampled values may differ from exact ones by float rounding only.
TOLERANCE = 1e-6


def breaches(plan: Plan, limits: PlanLimits, rate_hz: float = 20.0) -> list[str]:
    """Every limit the rendered plan exceeds at some sample (empty: none)."""
    dt = 1.0 / rate_hz
    times, lanes = plan.render(rate_hz)
    found = []
    if plan.duration_s > limits.session_cap_s + TOLERANCE:
        found.append(f"lasts {plan.duration_s} s > {limits.session_cap_s} s")
    zones = _zones(plan, limits, lanes)
    for channel_limits in limits.channels:
        values = lanes[channel_limits.id]
        known = ~np.isnan(values)
        name = channel_limits.id
        caps = np.full(values.shape, channel_limits.cap.value)
        if channel_limits.is_roller_work and zones is not None:
            for zone, cap in channel_limits.zone_caps.items():
                caps = np.where(zones == zone, np.minimum(caps, cap.value), caps)
        if np.any(values[known] > caps[known] + TOLERANCE):
            at = times[known][np.argmax(values[known] - caps[known])]
            found.append(f"{name} above its cap at {at:.2f} s")
        if np.any(values[known] < channel_limits.floor.value - TOLERANCE):
            found.append(f"{name} below its floor")
        # Rates between consecutive samples that segments cover: a sample in a sub-microsecond
        # gap between two segments renders as the safe default, which the board never outputs.
        covered = known & _covered(plan, channel_limits.index, times)
        pairs = covered[1:] & covered[:-1]
        steps = (np.diff(values) / dt)[pairs]
        if len(steps) and np.max(np.abs(steps)) > channel_limits.max_rate_per_s * 1.001 + TOLERANCE:
            found.append(f"{name} changes faster than {channel_limits.max_rate_per_s}")
        if channel_limits.max_rise_per_s is not None and len(steps) and \
                np.max(steps) > channel_limits.max_rise_per_s * 1.001 + TOLERANCE:
            found.append(f"{name} rises faster than {channel_limits.max_rise_per_s}")
        if channel_limits.hold is not None:
            found += _held_too_long(name, values, dt, channel_limits.hold)
        if channel_limits.heat is not None:
            found += _too_much_heat(name, values, dt, channel_limits, plan)
    return found


def _covered(plan: Plan, index: int, times: np.ndarray) -> np.ndarray:
    rows = plan.table[plan.table["channel"] == index]
    if len(rows) == 0:
        return np.ones(times.shape, dtype=bool)
    row = np.clip(np.searchsorted(rows["start_s"], times, side="right") - 1, 0, len(rows) - 1)
    start_s = rows["start_s"][row]
    return (times >= start_s) & (times < start_s + rows["duration_s"][row])


def _zones(plan: Plan, limits: PlanLimits, lanes) -> np.ndarray | None:
    positions = [c for c in plan.device.channels if c.kind is ChannelKind.POSITION]
    if not positions or plan.device.track is None:
        return None
    track_mm = lanes[positions[0].id]
    user = limits.user
    height_mm = plan.device.track.base_above_seat_mm + track_mm
    pct = (user.shoulder_height_mm - height_mm) / user.back_length_mm * 100.0
    zones = np.full(track_mm.shape, None, dtype=object)
    for zone, top, bottom in BACK_ZONE_BANDS_PCT:
        zones[(pct >= top) & (pct < bottom)] = zone
    return zones


def _held_too_long(name, values, dt, hold) -> list[str]:
    above = values > hold.occlusion_kpa
    release_samples = int(np.ceil(hold.release_s / dt))
    longest = run = gap = 0
    for flag in above:
        if flag:
            run += gap + 1 if run else 1
            gap = 0
        elif run:
            gap += 1
            if gap >= release_samples:
                run = gap = 0
        longest = max(longest, run)
    if (longest - 1) * dt > hold.max_hold_s + dt:
        return [f"{name} above {hold.occlusion_kpa} kPa for {longest * dt:.1f} s"]
    return []


def _too_much_heat(name, values, dt, channel_limits, plan) -> list[str]:
    safe = channel_limits.channel.safe_default
    on = values > safe + TOLERANCE
    found = []
    if on.sum() * dt > channel_limits.heat.max_on_s + 2 * dt:
        found.append(f"{name} on for {on.sum() * dt:.0f} s")
    rates = np.where(on, dose_rates_per_s(values + channel_limits.heat.overshoot_c), 0.0)
    rows = int(np.sum(plan.table["channel"] == channel_limits.index))
    slack = (rows + 1) * dt * (rates.max() if len(rates) else 0.0)
    if rates.sum() * dt > channel_limits.heat.dose_budget + slack:
        found.append(f"{name} thermal dose {rates.sum() * dt:.3f}")
    return found


def segment_value(start_value: float, end_value: float, amplitude: float, duration_s: float,
                  period_s: float, tau_s):
    """The segment formula restated: a ramp from start to end, plus amplitude * sin(2 pi t / p)."""
    tau_s = np.asarray(tau_s, dtype=np.float64)
    ramp = start_value + (end_value - start_value) * tau_s / duration_s
    if period_s <= 0:
        return ramp
    return ramp + amplitude * np.sin(2 * np.pi * tau_s / period_s)


def true_slopes(start_value: float, end_value: float, amplitude: float, duration_s: float,
                period_s: float) -> np.ndarray:
    """The derivative of the segment formula, sampled across the whole segment, unit/s."""
    tau_s = np.linspace(0.0, duration_s, SLOPE_SAMPLES)
    slope = np.full(tau_s.shape, (end_value - start_value) / duration_s)
    if period_s > 0:
        slope = slope + amplitude * 2 * np.pi / period_s * np.cos(2 * np.pi * tau_s / period_s)
    return slope


def true_extremes(start_value: float, end_value: float, amplitude: float, duration_s: float,
                  period_s: float) -> tuple[float, float]:
    """Lowest and highest value the segment reaches, sampled."""
    values = segment_value(start_value, end_value, amplitude, duration_s, period_s,
                           np.linspace(0.0, duration_s, SLOPE_SAMPLES))
    return float(values.min()), float(values.max())


def burn_fraction_per_s(temperature_c: float) -> float:
    """Fraction of a skin burn per second: 6 h at 44 C, halving per degree above (Moritz &
    Henriques 1947), quartering per degree below (CEM43, R = 0.25), none at body temperature."""
    if temperature_c <= 37.0:
        return 0.0
    hours = 6.0 * (0.5 ** (temperature_c - 44.0) if temperature_c >= 44.0
                   else 4.0 ** (44.0 - temperature_c))
    return 1.0 / (hours * 3600.0)
