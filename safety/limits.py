"""The numbers the safety layer enforces: each a named field with its unit, reason and source.

Four layers, and each only ever lowers what is above it:
1. ceiling: `CEILINGS` below, per channel kind; nothing reaches past them, whatever a device
   profile, an owner config or a user profile says. A device profile whose hard range or rate
   passes one is refused (`safety.device_check`);
2. device: the profile's hard range per channel, what the board itself clamps to;
3. chair: `SafetyLimits`, the caps and budgets for everyone on this chair: the built-in defaults
   below, or the owner's config (`[limits]`). The owner alone may raise a cap above its default,
   by writing it in the config, never above the ceiling (and the device's hard limit still
   applies); the budgets (time at pressure, inflation rate, heat time, thermal dose) may only
   be lowered. The session cap may be raised up to `SESSION_HARD_MAX_MIN`;
4. user: `routines.user.UserLimits`, a person's own caps; they only lower the chair's cap. A
   user value above it is not applied (the chair's cap is, with a note naming the config key
   the owner would raise); one above the device's hard limit is refused (`check_user_limits`).
   (`safety.channel_limits` folds the layers.)

Sources (DESIGN.md, Safety): Moritz & Henriques 1947 via Kowa (low-temperature burns); the
FDA/CPSC heating-pad advisory (1995); the Rongtai RT6923 firmware and Raffel recliner module
(heat and massage timeouts, stall faults); medical compression therapy (30-50 mmHg, 4-6.7 kPa;
trials 60-80 mmHg, 8-10.7 kPa) and the arm blood-pressure cuff (~180 mmHg, 24 kPa, for seconds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from massagectl.routines.device import ChannelKind, Zone

# --- hard constants (not configurable) -------------------------------------------------------

# 44 C burns skin after about 6 h and the time halves per degree above (Moritz & Henriques 1947),
# so 45 C at the contact surface is the most any setting may reach (3 h to a burn).
HEAT_HARD_MAX_C = 45.0
# Commercial chairs end a session on their own (10/15/20/30 min timer keys); 60 min is twice the
# longest of them: long enough for an owner who wants back-to-back routines, short enough that a
# forgotten chair (or a person who fell asleep with reduced sensation) is not worked for hours.
SESSION_HARD_MAX_MIN = 60
# The timer keys of commercial chairs; a user profile picks one (`UserLimits.session_min`).
SESSION_TIMER_CHOICES_MIN = (10, 15, 20, 30)
# An airbag stretch above its occlusion-risk pressure ends only after the pressure stayed below
# for this long: blood needs a few seconds to refill the limb, so "release for 0.1 s, squeeze
# again" must not reset the clock. Ten seconds is about two refill times of a calf after a cuff.
PRESSURE_RELEASE_S = 10.0
# A heat zone counts as on whenever its set point is above the channel's safe default (off);
# a thermostat may overshoot its set point by about this much before the element switches off,
# so planned thermal dose is computed at set point + overshoot.
HEAT_OVERSHOOT_C = 1.0

# --- absolute ceilings, per channel kind ------------------------------------------------------


@dataclass(frozen=True)
class Ceiling:
    """The most a channel kind may ever reach (`value`, in the kind's unit) and change by
    (`rate_per_s`, unit/s), each with its reason; None where a ceiling would mean nothing."""

    value: float | None
    value_reason: str
    rate_per_s: float | None
    rate_reason: str


CEILINGS: dict[ChannelKind, Ceiling] = {
    ChannelKind.AIRBAG: Ceiling(
        30.0, "225 mmHg: above the ~24 kPa an arm blood-pressure cuff reaches for seconds, so "
        "above any person's systolic pressure; more only presses harder on an occluded limb",
        10.0, "a commercial chair bag fills in 2-4 s; 10 kPa/s fills to the 20 kPa trunk "
        "default in 2 s, and a bag that fills faster hits like a blow"),
    ChannelKind.DEPTH: Ceiling(
        40.0, "the 3D travel of a chair's roller heads; more reaches through the back instead "
        "of pressing on it",
        20.0, "the full 40 mm in 2 s, as fast as a bag fills; faster presses like a blow"),
    ChannelKind.KNEAD: Ceiling(
        60.0, "one roller circle a second: faster no longer kneads a muscle, it rubs the skin",
        60.0, "from rest to the top speed in a second"),
    ChannelKind.TAP: Ceiling(
        12.0, "chair percussion runs 2-10 Hz; above 12 Hz it is a vibration a person cannot "
        "follow or stop in time",
        24.0, "from rest to the top rate in half a second"),
    ChannelKind.POSITION: Ceiling(
        None, "the carriage's range is the track's geometry",
        60.0, "commercial L-track carriages travel at 30-60 mm/s"),
    ChannelKind.WIDTH: Ceiling(
        None, "the heads' spacing is the mechanism's geometry",
        40.0, "heads closing on the muscles beside the spine faster than 40 mm/s pinch"),
    ChannelKind.HEAT: Ceiling(
        HEAT_HARD_MAX_C, "44 C burns skin after about 6 h and the time halves per degree above "
        "(Moritz & Henriques 1947)",
        None, "a thermostat's set point slews freely; the element's power sets how fast the "
        "surface warms, and temperature and dose limits bound the result"),
}
# Cold therapy's floor (the cool channel's lowest set point) has a section of its own.


PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegativeFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class AirbagZoneLimits(BaseModel):
    """Limits of the airbags on one body zone."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cap_kpa: NonNegativeFloat = Field(
        description="Highest pressure at any instant, kPa (a user may set a lower one)."
    )
    occlusion_kpa: NonNegativeFloat = Field(
        description="Above this, time counts against max_hold_s: blood flow under the bag slows."
    )
    max_hold_s: PositiveFloat = Field(
        description="Longest stretch above occlusion_kpa, s (a stretch ends after "
        "PRESSURE_RELEASE_S below it)."
    )
    max_rise_kpa_per_s: PositiveFloat = Field(
        description="Fastest inflation, kPa/s: a bag that fills faster hits like a blow."
    )


# Runs only while this module loads, before a mutation run can switch a mutant on (the values
# it builds are checked by the tests of the defaults).
# pragma: no mutate start
def _airbag(cap: float, occlusion: float, hold: float, rise: float) -> AirbagZoneLimits:
    return AirbagZoneLimits(
        cap_kpa=cap, occlusion_kpa=occlusion, max_hold_s=hold, max_rise_kpa_per_s=rise
    )
# pragma: no mutate end


# Defaults per zone. No published chair airbag pressures exist (Rongtai inflates open-loop by
# time), so they rest on medicine:
# - limbs (arms, calves, feet) can be occluded. Compression therapy is worn for hours at
#   4-6.7 kPa; trials go to 8-10.7 kPa. Above 8 kPa (60 mmHg) a limb counts as at risk, and
#   calves and feet (where venous return is hardest and a clot forms) get the shortest hold:
#   30 s, one squeeze of an intermittent compression cycle; arms 60 s.
# - caps stay two thirds of the arm cuff's 24 kPa, which a cuff holds only for seconds:
#   16 kPa on limbs; 20 kPa on the trunk and seat, where no limb is occluded.
# - trunk zones (no limb to occlude): occlusion level at the top of the trial range, 10.7 kPa
#   (80 mmHg), held at most 90 s.
# - inflation at most 5 kPa/s (4 on calves and feet): a commercial bag fills in 2-4 s.
DEFAULT_AIRBAG_LIMITS: dict[Zone, AirbagZoneLimits] = {
    Zone.NECK: _airbag(12.0, 8.0, 30.0, 4.0),  # carotid arteries and airway: as low as the feet
    Zone.SHOULDERS: _airbag(20.0, 10.7, 90.0, 5.0),
    Zone.UPPER_BACK: _airbag(20.0, 10.7, 90.0, 5.0),
    Zone.MID_BACK: _airbag(20.0, 10.7, 90.0, 5.0),
    Zone.LOWER_BACK: _airbag(20.0, 10.7, 90.0, 5.0),
    Zone.SEAT: _airbag(20.0, 10.7, 90.0, 5.0),
    Zone.ARMS: _airbag(16.0, 8.0, 60.0, 5.0),
    Zone.CALVES: _airbag(16.0, 8.0, 30.0, 4.0),
    Zone.FEET: _airbag(16.0, 8.0, 30.0, 4.0),
}


class HeatLimits(BaseModel):
    """Limits of every heat zone."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cap_c: float = Field(
        default=42.0,
        gt=0,
        le=HEAT_HARD_MAX_C,
        allow_inf_nan=False,
        description="Highest contact set point, C: 42 C is 2 C under the lowest burning "
        "temperature (44 C), so even hours of contact stay far from a burn.",
    )
    max_on_s: PositiveFloat = Field(
        default=30 * 60.0,
        description="Longest a heat zone may be on in one session, s: commercial heat "
        "timeout (Raffel recliner module, 30 min).",
    )
    dose_budget: float = Field(
        default=0.10,
        gt=0,
        le=0.10,
        allow_inf_nan=False,
        description="Fraction of the burn dose at which heat ends (see safety.thermal_dose).",
    )


# --- cold therapy ------------------------------------------------------------------------------
# Common cryotherapy guidance (issue 11): pain relief comes at a skin temperature of about
# 13-15 C; tissue is damaged when it freezes, and numbness means stop; an application lasts
# 15-20 min per zone, with a rest of at least 30-40 min before the next. The contact surface is
# colder than the skin under it, so a surface held at 15 C keeps the skin at or above the
# analgesic range, never near freezing.
# A thermostat may undershoot a cold set point by about this much before the module switches off
# (the mirror of HEAT_OVERSHOOT_C); the run-time floor allows it.
COLD_UNDERSHOOT_C = 1.0
# The longer end of the 30-40 min rest: a zone's application time comes back only after it.
COLD_REST_S = 40 * 60.0


class ColdLimits(BaseModel):
    """Limits of every cool zone (a thermoelectric pad's cold side). An owner may make them
    stricter (a warmer floor, a shorter application), never looser."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    floor_c: float = Field(
        default=15.0,
        ge=15.0,
        le=30.0,
        allow_inf_nan=False,
        description="Lowest contact set point, C: the top of the 13-15 C analgesic skin range; "
        "the surface is colder than the skin under it.",
    )
    max_on_s: float = Field(
        default=15 * 60.0,
        gt=0,
        le=15 * 60.0,
        allow_inf_nan=False,
        description="Longest a cool zone may be on, s, until it rested COLD_REST_S: the short "
        "end of the 15-20 min application.",
    )


class RollerLimits(BaseModel):
    """Limits of the roller mechanism on the back track."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    depth_cap_mm: NonNegativeFloat = Field(
        default=30.0,
        description="Deepest head protrusion, mm: three quarters of a 3D chair's 40 mm travel; "
        "the last quarter reaches through thick upholstery, it is not for pressing.",
    )
    travel_speed_mm_per_s: PositiveFloat = Field(
        default=50.0,
        description="Fastest carriage travel, mm/s: commercial L-track chairs run 30-60 mm/s.",
    )
    tap_cap_hz: NonNegativeFloat = Field(
        default=10.0,
        description="Highest percussion rate, Hz: chair tapping runs 2-10 Hz; faster is a "
        "vibration the occupant cannot follow or stop in time.",
    )


class SessionLimits(BaseModel):
    """How long one session may run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cap_min: float = Field(
        default=30.0,
        gt=0,
        le=SESSION_HARD_MAX_MIN,
        allow_inf_nan=False,
        description="Absolute session length, min: the longest commercial timer (30 min); an "
        f"owner may raise it up to {SESSION_HARD_MAX_MIN} min.",
    )


class SafetyLimits(BaseModel):
    """The owner's settings for one chair (the config's `[limits]`). A cap may be raised above
    its built-in default up to its ceiling (`CAP_CEILINGS`); every budget may only be lowered;
    `session.cap_min` may go up to `SESSION_HARD_MAX_MIN`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    airbag: dict[Zone, AirbagZoneLimits] = Field(
        default_factory=lambda: dict(DEFAULT_AIRBAG_LIMITS),
        description="Per body zone; zones left out, and fields left out of a zone, keep their "
        "defaults.",
    )
    heat: HeatLimits = HeatLimits()
    cold: ColdLimits = ColdLimits()
    roller: RollerLimits = RollerLimits()
    session: SessionLimits = SessionLimits()

    @model_validator(mode="before")
    @classmethod
    def _fill_zones(cls, data: object) -> object:
        # Zones left out keep their defaults, and so do the fields left out of a zone that is
        # given: `[limits.airbag.calves] cap_kpa = 10` lowers one number, not four.
        if isinstance(data, dict) and isinstance(data.get("airbag"), dict):
            defaults = {z.value: v for z, v in DEFAULT_AIRBAG_LIMITS.items()}
            merged: dict[str, object] = dict(defaults)
            for zone, given in data["airbag"].items():
                name = zone.value if isinstance(zone, Zone) else zone
                default = defaults.get(name)  # an unknown zone is left for pydantic to name
                if isinstance(given, dict) and default is not None:
                    given = {**default.model_dump(), **given}
                merged[name] = given
            data = {**data, "airbag": merged}
        return data

    @model_validator(mode="after")
    def _within_bounds(self) -> SafetyLimits:
        found = []
        for zone, given in self.airbag.items():
            found += _out_of_bounds(f"airbag.{zone.value}", given, DEFAULT_AIRBAG_LIMITS[zone])
        found += _out_of_bounds("heat", self.heat, HeatLimits())
        found += _out_of_bounds("roller", self.roller, RollerLimits())
        if found:
            raise ValueError("; ".join(found))
        return self

    def airbag_zone(self, zone: Zone) -> AirbagZoneLimits:
        return self.airbag.get(zone, DEFAULT_AIRBAG_LIMITS[zone])


# The owner's caps, which the owner alone may raise above the default (in the config), and the
# ceiling each stays under: (kind, value or rate ceiling, unit). Every other field is a budget.
CAP_CEILINGS: dict[str, tuple[ChannelKind, str, str]] = {
    "cap_kpa": (ChannelKind.AIRBAG, "value", "kPa"),
    "cap_c": (ChannelKind.HEAT, "value", "C"),
    "depth_cap_mm": (ChannelKind.DEPTH, "value", "mm"),
    "tap_cap_hz": (ChannelKind.TAP, "value", "Hz"),
    "travel_speed_mm_per_s": (ChannelKind.POSITION, "rate_per_s", "mm/s"),
}


def cap_ceiling(field: str) -> tuple[float, str, str] | None:
    """The ceiling of an owner cap field: (value, unit, reason); None for a budget."""
    entry = CAP_CEILINGS.get(field)
    if entry is None:
        return None
    kind, which, unit = entry
    ceiling = CEILINGS[kind]
    value = ceiling.value if which == "value" else ceiling.rate_per_s
    reason = ceiling.value_reason if which == "value" else ceiling.rate_reason
    assert value is not None
    return value, unit, reason


def config_key(field: str) -> str:
    """`limits.airbag.calves.cap_kpa` as an owner finds it in the config file:
    `[limits.airbag.calves] cap_kpa`."""
    table, _, key = field.rpartition(".")
    return f"[{table}] {key}"


def _out_of_bounds(prefix: str, given: BaseModel, default: BaseModel) -> list[str]:
    found = []
    for name in type(given).model_fields:
        value, default_value = getattr(given, name), getattr(default, name)
        ceiling = cap_ceiling(name)
        if ceiling is not None and value > ceiling[0]:
            found.append(f"{prefix}.{name}: {value:g} is above the absolute ceiling of "
                         f"{ceiling[0]:g} {ceiling[1]} ({ceiling[2]})")
        elif ceiling is None and value > default_value:
            found.append(f"{prefix}.{name}: {value:g} is above the default {default_value:g}; "
                         "owner limits can only lower a budget")
    return found


DEFAULT_LIMITS = SafetyLimits()
