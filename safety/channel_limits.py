"""The limits of each channel for one device, one occupant and the owner's settings.

`plan_limits(device, user, limits)` folds the layers (safety.limits) into one `PlanLimits`: for
every channel a cap (the ceiling, lowered by the device's hard limit, then by the chair's cap
(the default or the owner's), then by the user's own cap; lowered further by precautions and
injuries; each with its reason: a layer only ever lowers what is above it), rate
limits, the airbag time-at-pressure budget and the heat budgets; for the roller's work channels
(depth, knead, tap) lower caps per back zone. Admission checks plans against it,
and the supervisor checks every outgoing segment against the same object.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from massagectl.routines.device import BACK_ZONES, Channel, ChannelKind, DeviceProfile, Zone
from massagectl.routines.errors import Problem
from massagectl.routines.user import UserProfile
from massagectl.safety.body_map import BackZoneMap
from massagectl.safety.limits import (
    CEILINGS,
    DEFAULT_LIMITS,
    HEAT_HARD_MAX_C,
    HEAT_OVERSHOOT_C,
    PRESSURE_RELEASE_S,
    SESSION_TIMER_CHOICES_MIN,
    SafetyLimits,
    config_key,
)
from massagectl.safety.precautions import PRECAUTION_RULES, WorkRule

# Roller channels that press or move on the body; their zone is where the carriage is.
ROLLER_WORK_KINDS = frozenset({ChannelKind.DEPTH, ChannelKind.KNEAD, ChannelKind.TAP})


@dataclass(frozen=True)
class Cap:
    """A highest value and the one-line reason it is what it is."""

    value: float
    reason: str


@dataclass(frozen=True)
class PressureHold:
    """No stretch above `occlusion_kpa` longer than `max_hold_s` (ends after `release_s` below)."""

    occlusion_kpa: float
    max_hold_s: float
    release_s: float


@dataclass(frozen=True)
class HeatBudget:
    max_on_s: float  # heater on at most this long per session
    dose_budget: float  # fraction of a burn (safety.thermal_dose)
    overshoot_c: float  # planned dose is computed at set point + this


@dataclass(frozen=True)
class ColdBudget:
    max_on_s: float  # a cool zone on at most this long, until it rested (safety.limits, cold)


@dataclass(frozen=True)
class ChannelLimits:
    index: int
    channel: Channel
    cap: Cap
    floor: Cap  # lowest value (above the hard minimum only where the channel is held safe)
    max_rate_per_s: float  # either direction
    max_rise_per_s: float | None = None  # away from the safe default (airbag, depth)
    zone_caps: dict[Zone, Cap] = field(default_factory=dict)  # roller work channels only
    hold: PressureHold | None = None
    heat: HeatBudget | None = None
    skipped: str | None = None  # why the whole channel is held at its safe default
    cold: ColdBudget | None = None  # cool channels only

    @property
    def id(self) -> str:
        return self.channel.id

    @property
    def safe_value(self) -> float:
        """The channel's safe default. Every channel that a rise limit, a budget or an off
        check applies to has one; only a position-like drive (position, width) has none."""
        safe = self.channel.safe_default
        if safe is None:
            raise ValueError(f"{self.id} is a {self.channel.kind} drive: it has no safe default")
        return safe

    @property
    def is_roller_work(self) -> bool:
        return self.channel.zone is None and self.channel.kind in ROLLER_WORK_KINDS

    def cap_on(self, zones: frozenset[Zone]) -> tuple[Cap, Zone | None]:
        """The lowest cap while the roller touches `zones`, and the zone it comes from."""
        best, where = self.cap, None
        for zone in zones:
            cap = self.zone_caps.get(zone)
            if cap is not None and cap.value < best.value:
                best, where = cap, zone
        return best, where


@dataclass(frozen=True)
class PlanLimits:
    """Everything a plan for this device and occupant must stay within."""

    device: DeviceProfile
    user: UserProfile
    safety: SafetyLimits
    channels: tuple[ChannelLimits, ...]
    back_map: BackZoneMap | None
    session_cap_s: float  # a plan may last at most this long
    auto_off_s: float  # the session timer: the user's choice, never above the cap
    notes: tuple[str, ...] = ()

    def channel(self, channel_id: str) -> ChannelLimits:
        return self.channels[self.device.channel_index(channel_id)]


def check_user_limits(user: UserProfile, device: DeviceProfile) -> list[Problem]:
    """Fields of a user profile that the safety layer cannot accept for `device`."""
    source = f"user profile {user.name!r}"
    problems = []
    for precaution in sorted(user.precautions, key=str):
        if precaution not in PRECAUTION_RULES:
            problems.append(Problem(source, "precautions", f"{str(precaution)!r} is not a known "
                                    "precaution; known: " + ", ".join(PRECAUTION_RULES)))
    for zone, value in user.limits.pressure_kpa.items():
        hard = [c.max for c in device.channels_of(ChannelKind.AIRBAG, zone)]
        if not math.isfinite(value) or value < 0:
            problems.append(Problem(source, f"limits.pressure_kpa.{zone}", f"{value} is not a "
                                    "pressure in kPa"))
        elif hard and value > min(hard):
            problems.append(Problem(source, f"limits.pressure_kpa.{zone}", f"{value:g} is above "
                                    f"the device's hard limit of {min(hard):g} kPa"))
    temperature = user.limits.temperature_c
    heat_max = min([c.max for c in device.channels_of(ChannelKind.HEAT)] + [HEAT_HARD_MAX_C])
    if temperature is not None and not temperature <= heat_max:
        problems.append(Problem(source, "limits.temperature_c", f"{temperature:g} is above the "
                                f"hard limit of {heat_max:g} C"))
    depth = user.limits.depth_mm
    depth_channels = device.channels_of(ChannelKind.DEPTH)
    if depth is not None and depth_channels and not depth <= depth_channels[0].max:
        problems.append(Problem(source, "limits.depth_mm", f"{depth:g} is above the device's "
                                f"hard limit of {depth_channels[0].max:g} mm"))
    session = user.limits.session_min
    if session is not None and session not in SESSION_TIMER_CHOICES_MIN:
        problems.append(Problem(source, "limits.session_min", f"{session} is not one of "
                                f"{', '.join(map(str, SESSION_TIMER_CHOICES_MIN))} min"))
    return problems


def check_owner_limits(limits: SafetyLimits, device: DeviceProfile) -> list[Problem]:
    """Owner caps above what `device` can do: the owner raised a cap past the hard limit."""
    found = []
    defaults = {key: value for _, value, key in _owner_caps(DEFAULT_LIMITS, device)}
    for kind, value, key in _owner_caps(limits, device):
        hard = [c.max for c in device.channels_of(kind, _zone_of(key))]
        # A default above a small device's range is no mistake: the hard limit applies there.
        if hard and value > min(hard) and value > defaults[key]:
            found.append(Problem("config", config_key(key), f"{value:g} {kind.unit} is above "
                                 f"the device's hard limit of {min(hard):g} {kind.unit}; an "
                                 "owner may raise a cap up to it, not past it"))
    return found


def _owner_caps(limits: SafetyLimits, device: DeviceProfile):
    for zone in Zone:  # head to toe
        if zone in device.zones:
            yield (ChannelKind.AIRBAG, limits.airbag_zone(zone).cap_kpa,
                   f"limits.airbag.{zone}.cap_kpa")
    yield ChannelKind.HEAT, limits.heat.cap_c, "limits.heat.cap_c"
    yield ChannelKind.DEPTH, limits.roller.depth_cap_mm, "limits.roller.depth_cap_mm"
    yield ChannelKind.TAP, limits.roller.tap_cap_hz, "limits.roller.tap_cap_hz"


def _zone_of(field: str) -> Zone | None:
    parts = field.split(".")
    return Zone(parts[2]) if parts[1] == "airbag" else None


def plan_limits(
    device: DeviceProfile, user: UserProfile, limits: SafetyLimits = DEFAULT_LIMITS
) -> PlanLimits:
    """Fold device, owner, user and precautions into per-channel limits (see module docstring).

    Call `check_user_limits` first: this function assumes the profile passed it.
    """
    notes: list[str] = []
    back_map = BackZoneMap(device, user) if device.track is not None else None
    channels = tuple(
        _channel_limits(index, channel, user, limits, notes)
        for index, channel in enumerate(device.channels)
    )
    session_cap_s = limits.session.cap_min * 60.0
    auto_off_s = session_cap_s
    if user.limits.session_min is not None:
        auto_off_s = min(auto_off_s, user.limits.session_min * 60.0)
    return PlanLimits(device, user, limits, channels, back_map, session_cap_s, auto_off_s,
                      tuple(dict.fromkeys(notes)))


def _channel_limits(
    index: int, channel: Channel, user: UserProfile, limits: SafetyLimits, notes: list[str]
) -> ChannelLimits:
    kind = channel.kind
    cap = _under_ceiling(channel)
    rate = channel.max_rate_per_s
    ceiling = CEILINGS.get(kind)
    if ceiling is not None and ceiling.rate_per_s is not None:
        rate = min(rate, ceiling.rate_per_s)
    rise = hold = heat = cold = None
    floor = Cap(channel.min, f"hard limit of {channel.id} (device profile)")
    # The chair's cap for this channel: (built-in default, the chair's value, config field,
    # label of the default); the user's own cap: (value, profile field).
    chair: tuple[float, float, str, str] | None = None
    user_cap: tuple[float | None, str] = (None, "")
    if kind is ChannelKind.AIRBAG:
        zone = _own_zone(channel)
        zone_limits = limits.airbag_zone(zone)
        chair = (DEFAULT_LIMITS.airbag_zone(zone).cap_kpa, zone_limits.cap_kpa,
                 f"limits.airbag.{zone}.cap_kpa", f"default cap for {zone} airbags")
        user_cap = (user.limits.pressure_kpa.get(zone), f"limits.pressure_kpa.{zone}")
        rise = min(rate, zone_limits.max_rise_kpa_per_s)
        hold = PressureHold(zone_limits.occlusion_kpa, zone_limits.max_hold_s, PRESSURE_RELEASE_S)
    elif kind is ChannelKind.HEAT:
        cap = _lower(cap, HEAT_HARD_MAX_C - HEAT_OVERSHOOT_C,
                     f"contact-surface hard limit {HEAT_HARD_MAX_C:g} C less the thermostat's "
                     f"{HEAT_OVERSHOOT_C:g} C overshoot")
        chair = (DEFAULT_LIMITS.heat.cap_c, limits.heat.cap_c, "limits.heat.cap_c",
                 "default heat cap")
        user_cap = (user.limits.temperature_c, "limits.temperature_c")
        heat = HeatBudget(limits.heat.max_on_s, limits.heat.dose_budget, HEAT_OVERSHOOT_C)
    elif kind is ChannelKind.COOL:
        if limits.cold.floor_c > floor.value:
            floor = Cap(limits.cold.floor_c, "cold floor (config limits.cold.floor_c): cold "
                        "relieves pain at a skin temperature of 13-15 C; colder numbs and "
                        "injures")
        cold = ColdBudget(limits.cold.max_on_s)
    elif kind is ChannelKind.DEPTH:
        chair = (DEFAULT_LIMITS.roller.depth_cap_mm, limits.roller.depth_cap_mm,
                 "limits.roller.depth_cap_mm", "default roller depth cap")
        user_cap = (user.limits.depth_mm, "limits.depth_mm")
        rise = rate
    elif kind is ChannelKind.TAP:
        chair = (DEFAULT_LIMITS.roller.tap_cap_hz, limits.roller.tap_cap_hz,
                 "limits.roller.tap_cap_hz", "default percussion rate cap")
    elif kind is ChannelKind.POSITION:
        rate = min(rate, limits.roller.travel_speed_mm_per_s)
    if chair is not None:
        cap = _chair_and_user_cap(channel, cap, *chair, *user_cap, notes)

    zone_caps: dict[Zone, Cap] = {}
    skipped = None
    roller_work = channel.zone is None and kind in ROLLER_WORK_KINDS
    for precaution in sorted(user.precautions, key=str):
        for rule in PRECAUTION_RULES[precaution].rules:
            if kind not in rule.kinds:
                continue
            if rule.zones is None or channel.zone in rule.zones:
                cap = _lower(cap, _rule_cap(rule, channel, cap.value), rule.reason)
                if rule.forbids and channel.safe_default is not None:
                    floor = Cap(max(floor.value, channel.safe_default), rule.reason)
            elif roller_work:
                for zone in rule.zones & set(BACK_ZONES):
                    base = zone_caps.get(zone, cap)
                    zone_caps[zone] = _lower(base, _rule_cap(rule, channel, base.value),
                                             rule.reason)
    if channel.safe_default is not None:
        for zone in sorted(user.injury_zones):
            if channel.zone is zone:
                skipped = f"injury zone {zone}: skipped"
                cap = floor = Cap(channel.safe_default, skipped)
            elif roller_work and zone in BACK_ZONES:
                zone_caps[zone] = Cap(channel.safe_default, f"injury zone {zone}: skipped")
    # A zone cap never exceeds the channel's own cap.
    zone_caps = {z: c for z, c in zone_caps.items() if c.value < cap.value}
    return ChannelLimits(index, channel, cap, floor, rate, rise, zone_caps, hold, heat, skipped,
                         cold)


def _own_zone(channel: Channel) -> Zone:
    """The zone an airbag, heat or cool channel acts on (a device profile must name it)."""
    if channel.zone is None:
        raise ValueError(f"{channel.id}: a {channel.kind} channel must name the zone it acts on")
    return channel.zone


def _under_ceiling(channel: Channel) -> Cap:
    """The device's hard limit, never above the kind's ceiling (device_check refuses a profile
    that passes one; this holds even for a profile that was never checked)."""
    cap = Cap(channel.max, f"hard limit of {channel.id} (device profile)")
    ceiling = CEILINGS.get(channel.kind)
    if ceiling is not None and ceiling.value is not None:
        cap = _lower(cap, ceiling.value, f"absolute ceiling for a {channel.kind} channel")
    return cap


def _chair_and_user_cap(
    channel: Channel, hard: Cap, builtin: float, chair_value: float, owner_field: str,
    default_label: str, user_value: float | None, user_field: str, notes: list[str],
) -> Cap:
    """The chair's cap (the built-in default, or the owner's value when it differs), lowered by
    the user's own cap; never above `hard`.

    Only lowering: a user value above the chair's cap is not applied (noted, with the config
    key the owner would change). An owner value equal to the default pins it just the same.
    """
    unit = channel.unit
    if chair_value == builtin:
        chair = _lower(hard, chair_value, default_label)
    else:
        chair = _lower(hard, chair_value, f"owner cap (config {config_key(owner_field)})")
    if user_value is None:
        return chair
    user_reason = f"user profile {user_field}"
    if user_value > chair.value:
        notes.append(f"{user_reason} ({user_value:g} {unit}) is above the chair's cap "
                     f"{chair.value:g} {unit} ({chair.reason}); the chair's cap applies: only "
                     f"the owner may raise it, in the config ({config_key(owner_field)})")
        return chair
    return _lower(chair, user_value, user_reason)


def _lower(cap: Cap, value: float, reason: str) -> Cap:
    return Cap(value, reason) if value < cap.value else cap


def _rule_cap(rule: WorkRule, channel: Channel, current: float) -> float:
    safe = channel.off_value
    if safe is None:  # rules name only kinds that have an off value (safety.precautions)
        raise ValueError(f"{channel.id}: a {channel.kind} channel has no off value to lower to")
    if rule.cap is not None:
        return max(safe, rule.cap)
    if rule.cap_fraction is not None:
        return safe + (current - safe) * rule.cap_fraction
    return safe  # neither: the rule forbids the work
