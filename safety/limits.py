"""The numbers the safety layer enforces: each a named field with its unit, reason and source.

Three layers:
1. hard: the device profile's channel ranges and the constants `*_HARD_*` below; nothing exceeds
   them, whatever anyone configures;
2. owner: `SafetyLimits`, the default caps and the budgets for everyone on this chair; an owner
   may only lower the built-in values below (the one exception: the session cap, which an owner
   may raise up to `SESSION_HARD_MAX_MIN`);
3. user: `routines.user.UserLimits`, a person's own caps. Where the owner lowered a cap, that
   value is a ceiling: a user may lower it, never raise it. Where the owner kept the built-in
   default, a user's cap replaces it, up to the hard limit (`check_user_limits` refuses anything
   above); the budgets (time at pressure, heat time, thermal dose) are never the user's to raise.
   An owner's value counts as lowered when it is below the built-in default (`DEFAULT_LIMITS`).
   (`safety.channel_limits` folds the layers.)

Sources (DESIGN.md, Safety): Moritz & Henriques 1947 via Kowa (low-temperature burns); the
FDA/CPSC heating-pad advisory (1995); the Rongtai RT6923 firmware and Raffel recliner module
(heat and massage timeouts, stall faults); medical compression therapy (30-50 mmHg, 4-6.7 kPa;
trials 60-80 mmHg, 8-10.7 kPa) and the arm blood-pressure cuff (~180 mmHg, 24 kPa, for seconds).
"""

from __future__ import annotations

from typing import Annotated

from massagectl.routines.device import Zone
from pydantic import BaseModel, ConfigDict, Field, model_validator

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


def _airbag(cap: float, occlusion: float, hold: float, rise: float) -> AirbagZoneLimits:
    return AirbagZoneLimits(
        cap_kpa=cap, occlusion_kpa=occlusion, max_hold_s=hold, max_rise_kpa_per_s=rise
    )


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
    """The owner's settings for one chair. Every value may only be lowered from its built-in
    default (except `session.cap_min`, up to `SESSION_HARD_MAX_MIN`)."""

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
            merged: dict[object, object] = dict(defaults)
            for zone, given in data["airbag"].items():
                name = zone.value if isinstance(zone, Zone) else zone
                default = defaults.get(name)  # an unknown zone is left for pydantic to name
                if isinstance(given, dict) and default is not None:
                    given = {**default.model_dump(), **given}
                merged[name] = given
            data = {**data, "airbag": merged}
        return data

    @model_validator(mode="after")
    def _only_lower(self) -> SafetyLimits:
        raised = []
        for zone, given in self.airbag.items():
            raised += _raised_fields(f"airbag.{zone.value}", given, DEFAULT_AIRBAG_LIMITS[zone])
        raised += _raised_fields("heat", self.heat, HeatLimits())
        raised += _raised_fields("roller", self.roller, RollerLimits())
        if raised:
            raise ValueError("owner limits can only lower the defaults; " + "; ".join(raised))
        return self

    def airbag_zone(self, zone: Zone) -> AirbagZoneLimits:
        return self.airbag.get(zone, DEFAULT_AIRBAG_LIMITS[zone])


def _raised_fields(prefix: str, given: BaseModel, default: BaseModel) -> list[str]:
    return [
        f"{prefix}.{name}: {getattr(given, name):g} is above the default {getattr(default, name):g}"
        for name in type(given).model_fields
        if getattr(given, name) > getattr(default, name)
    ]


DEFAULT_LIMITS = SafetyLimits()
