""""Too much here" and "right there": what is being worked now, and what to learn from a key.

    worked = worked_now(plan, plan_s, level, readings, user)   # the strongest output, where
    profile, change = with_sensitive_spot(user, worked)       # a lower cap for next time
    profile, name = with_trigger_point(user, position_pct)     # a personal trigger point

Pure functions over the plan, the readings and the profile; the service applies them.
"""

from __future__ import annotations

from dataclasses import dataclass

from massagectl.routines.body import BACK_BANDS_PCT
from massagectl.routines.device import ChannelKind, DeviceProfile, SensorKind, Zone
from massagectl.routines.intensity import intensity_factor
from massagectl.routines.plan import Plan
from massagectl.routines.user import TriggerPoint, UserProfile

# The cap recorded for a sensitive spot: this share of what was felt when the key was pressed.
SENSITIVE_CAP_SHARE = 0.8
# Caps are rounded down to this step (0.1 kPa, 0.1 mm): readable, and on the safe side.
CAP_STEP = 0.1
# A trigger point's position is kept to whole tenths of a percent of the back.
MARK_DECIMALS = 1
MARK_PCT_RANGE = (-30.0, 110.0)  # what a user profile accepts


@dataclass(frozen=True)
class Worked:
    """The output working hardest now, as the occupant feels it (at the session's level)."""

    channel: str
    kind: ChannelKind
    zone: str  # a body zone; for the roller, the back zone it is on
    felt: float  # in the channel's unit
    position_pct: float | None  # the roller's place on the back, when known


def back_zone_at(position_pct: float) -> Zone:
    """The back zone a relative position lies in (above the shoulder line: the neck)."""
    for zone, (_, bottom_pct) in sorted(BACK_BANDS_PCT.items(), key=lambda z: z[1][0]):
        if position_pct < bottom_pct:
            return zone
    return Zone.LOWER_BACK


def roller_pct(device: DeviceProfile, readings: dict[str, float],
               user: UserProfile) -> float | None:
    """The roller's place on the back, in % from the shoulder line (None: no roller or no
    reading yet)."""
    positions = device.channels_of(ChannelKind.POSITION)
    if not positions or device.track is None:
        return None
    sensors = device.sensors_of(SensorKind.POSITION, positions[0].id)
    if not sensors or sensors[0].id not in readings:
        return None
    above_seat_mm = readings[sensors[0].id] + device.track.base_above_seat_mm
    return (user.shoulder_height_mm - above_seat_mm) / user.back_length_mm * 100.0


def worked_now(plan: Plan, plan_s: float, level: int, readings: dict[str, float],
               user: UserProfile) -> Worked | None:
    """The intensity-scaled output furthest from its safe default at `plan_s`, relative to its
    hard range (None: nothing is pressing on the body now)."""
    device = plan.device
    scale = intensity_factor(level)
    best: tuple[float, Worked] | None = None
    pct = roller_pct(device, readings, user)
    for channel_id in plan.used_channels():
        channel = device.channel(channel_id)
        if not channel.kind.scaled_by_intensity or channel.safe_default is None:
            continue
        value = float(plan.values_at(channel_id, [plan_s])[0])
        felt = channel.safe_default + (value - channel.safe_default) * scale
        share = (felt - channel.safe_default) / (channel.max - channel.safe_default)
        if share <= 0:
            continue
        if channel.zone is not None:
            zone = str(channel.zone)
        elif pct is not None:
            zone = str(back_zone_at(pct))
        else:
            zone = "back"
        worked = Worked(channel_id, channel.kind, zone, felt, pct)
        if best is None or share > best[0]:
            best = (share, worked)
    return None if best is None else best[1]


def _cap(value: float) -> float:
    return round(int(value * SENSITIVE_CAP_SHARE / CAP_STEP) * CAP_STEP, 1)


def with_sensitive_spot(user: UserProfile, worked: Worked) -> tuple[UserProfile, str]:
    """The profile with a lower cap where `worked` was felt, and what changed, for people.
    Plans are fitted under the caps (on_precaution "adapt"), never refused for them."""
    limits = user.limits
    where = worked.zone if worked.position_pct is None or worked.kind is ChannelKind.AIRBAG \
        else f"{worked.zone} ({worked.position_pct:.0f} % down the back)"
    if worked.kind is ChannelKind.AIRBAG:
        cap = _cap(worked.felt)
        zone = Zone(worked.zone)
        old = limits.pressure_kpa.get(zone)
        cap = cap if old is None else min(cap, old)
        pressures = dict(limits.pressure_kpa) | {zone: cap}
        limits = limits.model_copy(update={"pressure_kpa": pressures})
        change = f"sensitive spot at {where}: pressure capped at {cap:g} kPa"
    elif worked.kind is ChannelKind.DEPTH:
        cap = _cap(worked.felt)
        cap = cap if limits.depth_mm is None else min(cap, limits.depth_mm)
        limits = limits.model_copy(update={"depth_mm": cap})
        change = f"sensitive spot at {where}: roller depth capped at {cap:g} mm"
    else:  # tapping: no per-user cap exists; a lower preferred level is what can be learnt
        level = max(1, user.preferred_intensity - 1)
        change = f"sensitive spot at {where}: preferred intensity lowered to {level}"
        return user.model_copy(update={"preferred_intensity": level}), change
    return user.model_copy(update={"limits": limits, "on_precaution": "adapt"}), change


def with_trigger_point(user: UserProfile, position_pct: float,
                       name: str | None = None) -> tuple[UserProfile, str]:
    """The profile with a trigger point at `position_pct` (named `mark_N` unless named)."""
    low, high = MARK_PCT_RANGE
    pct = round(min(max(position_pct, low), high), MARK_DECIMALS)
    if name is None:
        taken = {point.name for point in user.trigger_points}
        name = next(f"mark_{n}" for n in range(1, len(taken) + 2) if f"mark_{n}" not in taken)
    points = [p for p in user.trigger_points if p.name != name]
    points.append(TriggerPoint(name=name, position_pct=pct, note="marked with the remote"))
    return user.model_copy(update={"trigger_points": tuple(points)}), name
