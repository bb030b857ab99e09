"""Step kinds of a routine file: the massage techniques, pauses, repeats and parallel tracks.

Every value a step writes for depth, airbag pressure or tapping is what the occupant feels at
intensity level 3 (see routines.intensity); level 5 is 4/3 of it and must stay within the
device's hard range, which `routines.routine_check` verifies for a given device.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from massagectl.routines.body import BACK_BANDS_PCT
from massagectl.routines.device import BACK_ZONES, Identifier, Zone

# A step longer than a day is a typo; the bound keeps a plan's size within memory.
MAX_STEP_S = 86_400.0
# Plan times are kept in whole milliseconds so that step boundaries add up exactly.
TIME_RESOLUTION_S = 0.001
# 45 C at the contact surface is the absolute limit: 44 C burns skin after about 6 h
# (Moritz & Henriques 1947). The device's own hard range and the safety layer cap lower.
ABSOLUTE_CONTACT_LIMIT_C = 45.0
# A cooling pad below 10 C risks cold injury on long contact; none of our devices cools at all.
COLDEST_CONTACT_C = 10.0
# Trigger-point holds: long enough for the tissue to release, short enough not to bruise
# (the 30-90 s therapists use).
TRIGGER_HOLD_MIN_S = 30.0
TRIGGER_HOLD_MAX_S = 90.0
# Repeats and parallel tracks nest at most this deep; deeper is a mistake, not a routine.
MAX_NESTING = 4
MAX_REPEAT_COUNT = 1000
MAX_TRACKS = 4
# Roller travel slower than 1 mm/s is imperceptible: the roller would seem parked.
MIN_TRAVEL_MM_S = 1.0


def _whole_milliseconds(seconds: float) -> float:
    if abs(round(seconds / TIME_RESOLUTION_S) * TIME_RESOLUTION_S - seconds) > 1e-9:
        raise ValueError(f"{seconds} s is finer than the 1 ms resolution of plans; round it")
    return seconds


_IN_SECONDS = "Seconds, to the millisecond."
Seconds = Annotated[
    float,
    Field(gt=0, le=MAX_STEP_S, allow_inf_nan=False, description=_IN_SECONDS),
    AfterValidator(_whole_milliseconds),
]
RampSeconds = Annotated[
    float,
    Field(ge=1, le=MAX_STEP_S, allow_inf_nan=False, description=_IN_SECONDS),
    AfterValidator(_whole_milliseconds),
]
HoldSeconds = Annotated[
    float,
    Field(ge=TRIGGER_HOLD_MIN_S, le=TRIGGER_HOLD_MAX_S, allow_inf_nan=False,
          description="Seconds on the point (30-90)."),
    AfterValidator(_whole_milliseconds),
]
Percent = Annotated[float, Field(ge=-30, le=110, allow_inf_nan=False)]
BackZoneName = Literal["neck", "shoulders", "upper_back", "mid_back", "lower_back"]


def _band_from_name(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return BACK_BANDS_PCT[Zone(value)]
        except (ValueError, KeyError):
            names = ", ".join(repr(zone.value) for zone in BACK_ZONES)
            raise ValueError(
                f"unknown band {value!r}; use one of {names} or [from_pct, to_pct]") from None
    return value


Band = Annotated[
    tuple[Percent, Percent],
    BeforeValidator(
        _band_from_name, json_schema_input_type=BackZoneName | tuple[Percent, Percent]
    ),
    Field(
        description="Where along the back: a back zone name, or [from_pct, to_pct] with "
        "0 = shoulder line, 100 = top of the hips, negative = up the neck."
    ),
]
DepthMm = Annotated[
    float,
    Field(
        gt=0, allow_inf_nan=False,
        description="How far the roller heads press in, mm, as felt at intensity 3 "
        "(intensity 5 is 4/3 of it). Ignored, with a note, on devices without depth control.",
    ),
]
WidthMm = Annotated[
    float,
    Field(
        gt=0, allow_inf_nan=False,
        description="Distance between the roller heads, mm. Ignored, with a note, on devices "
        "without width control.",
    ),
]
SweepMmS = Annotated[
    float,
    Field(ge=MIN_TRAVEL_MM_S, le=60, allow_inf_nan=False,
          description="Peak speed of the slow sweep across the band, mm/s."),
]
_OPTIONAL = Field(
    default=False,
    description="Skip (with a note) what the device lacks instead of refusing the routine.",
)


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @property
    def duration_ms(self) -> int:
        # Every kind that keeps this default has a duration_s field; the kinds that work their
        # duration out (repeat, a trigger point's hold) override duration_ms, so the base
        # declares no such field.
        return round(self.duration_s * 1000)  # type: ignore[attr-defined]

    @property
    def resources(self) -> frozenset[str]:
        """Actuators the step drives; parallel tracks must not share one."""
        return frozenset()

    @property
    def nesting(self) -> int:
        return 0


class _RollerStep(_Step):
    optional: bool = _OPTIONAL

    @property
    def resources(self) -> frozenset[str]:
        return frozenset({"the roller"})


class Knead(_RollerStep):
    """Roller circles sweeping slowly over a band of the back."""

    kind: Literal["knead"]
    duration_s: Seconds
    speed_cpm: float = Field(
        gt=0, allow_inf_nan=False, description="Roller circles per minute (10-40 is typical)."
    )
    band: Band
    depth_mm: DepthMm | None = None
    width_mm: WidthMm | None = None
    travel_mm_s: SweepMmS = 8.0


class Stroke(_RollerStep):
    """Deep-tissue stroke: slow travel along the back with steady depth, back and forth."""

    kind: Literal["stroke"]
    duration_s: Seconds
    band: Band
    speed_mm_s: float = Field(
        ge=MIN_TRAVEL_MM_S, allow_inf_nan=False,
        description="Travel speed along the back, mm/s (10-30 is typical).",
    )
    depth_mm: DepthMm | None = None
    width_mm: WidthMm | None = None

    @model_validator(mode="after")
    def _travels(self) -> Stroke:
        if self.band[0] == self.band[1]:
            raise ValueError("a stroke travels: the band's two ends must differ")
        return self


class TriggerPoint(_RollerStep):
    """Roller parked on a point, pressing in, holding 30-90 s, releasing."""

    kind: Literal["trigger_point"]
    point: Identifier | None = Field(
        default=None,
        description="A named point: the user profile's own, or a standard one "
        "(e.g. rhomboid, upper_trapezius, quadratus_lumborum).",
    )
    position_pct: Percent | None = Field(default=None, description="Or a position along the back.")
    depth_mm: DepthMm | None = None
    width_mm: WidthMm | None = None
    press_s: RampSeconds = Field(default=5.0, description="Time to sink in to depth.")
    hold_s: HoldSeconds
    release_s: RampSeconds = Field(default=5.0, description="Time to lift off again.")

    @model_validator(mode="after")
    def _one_place(self) -> TriggerPoint:
        if (self.point is None) == (self.position_pct is None):
            raise ValueError("give exactly one of point (a name) or position_pct")
        return self

    @property
    def duration_ms(self) -> int:
        return round((self.press_s + self.hold_s + self.release_s) * 1000)


class Tap(_RollerStep):
    """Percussion: the roller heads tap while sweeping over a band."""

    kind: Literal["tap"]
    duration_s: Seconds
    frequency_hz: float = Field(
        gt=0, allow_inf_nan=False,
        description="Taps per second as felt at intensity 3 (2-10 is typical).",
    )
    band: Band
    depth_mm: DepthMm | None = Field(default=None, description="How hard the taps land, mm.")
    width_mm: WidthMm | None = None
    travel_mm_s: SweepMmS = 8.0


class Press(_Step):
    """Sustained airbag pressure (myofascial release): slow ramp in, hold, slow release."""

    kind: Literal["press"]
    zones: tuple[Zone, ...] = Field(min_length=1, max_length=len(Zone))
    pressure_kpa: float = Field(
        gt=0, allow_inf_nan=False, description="Held pressure as felt at intensity 3, kPa."
    )
    ramp_in_s: RampSeconds
    hold_s: Seconds
    release_s: RampSeconds
    optional: bool = _OPTIONAL

    @model_validator(mode="after")
    def _distinct_zones(self) -> Press:
        if len(set(self.zones)) != len(self.zones):
            raise ValueError("zones repeat; name each zone once")
        return self

    @property
    def duration_ms(self) -> int:
        return round((self.ramp_in_s + self.hold_s + self.release_s) * 1000)

    @property
    def resources(self) -> frozenset[str]:
        return frozenset(f"the {zone} airbags" for zone in self.zones)


class _ZoneTemperature(_Step):
    """A heater or cooler on one zone, held at a contact temperature."""

    duration_s: Seconds
    zone: Zone
    optional: bool = _OPTIONAL
    actuator_name: ClassVar[str]

    @property
    def resources(self) -> frozenset[str]:
        return frozenset({f"the {self.zone} {self.actuator_name}"})


class Heat(_ZoneTemperature):
    """Warm a zone to a contact temperature for a while."""

    actuator_name: ClassVar[str] = "heater"
    kind: Literal["heat"]
    temperature_c: float = Field(
        gt=0, le=ABSOLUTE_CONTACT_LIMIT_C, allow_inf_nan=False,
        description="Target contact temperature, C (38-42 is typical; 45 is the absolute limit).",
    )


class Cool(_ZoneTemperature):
    """Cool a zone, where the device has cooling."""

    actuator_name: ClassVar[str] = "cooler"
    kind: Literal["cool"]
    temperature_c: float = Field(
        ge=COLDEST_CONTACT_C, le=ABSOLUTE_CONTACT_LIMIT_C, allow_inf_nan=False,
        description="Target contact temperature, C.",
    )


class Pause(_Step):
    """Nothing moves; heat or pressure only where a parallel track keeps it."""

    kind: Literal["pause"]
    duration_s: Seconds


def _check_nesting(children: list[Step]) -> None:
    if max(child.nesting for child in children) + 1 > MAX_NESTING:
        raise ValueError(f"repeats and parallel tracks nest more than {MAX_NESTING} deep here")


class Repeat(_Step):
    """Run a group of steps `count` times."""

    kind: Literal["repeat"]
    count: int = Field(ge=1, le=MAX_REPEAT_COUNT)
    steps: list[Step] = Field(min_length=1)

    @model_validator(mode="after")
    def _shallow(self) -> Repeat:
        _check_nesting(self.steps)
        return self

    @property
    def duration_ms(self) -> int:
        return self.count * sum(step.duration_ms for step in self.steps)

    @property
    def resources(self) -> frozenset[str]:
        return frozenset().union(*(step.resources for step in self.steps))

    @property
    def nesting(self) -> int:
        return 1 + max(step.nesting for step in self.steps)


class Track(BaseModel):
    """One of several step sequences that run side by side."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    steps: list[Step] = Field(min_length=1)

    @property
    def duration_ms(self) -> int:
        return sum(step.duration_ms for step in self.steps)

    @property
    def resources(self) -> frozenset[str]:
        return frozenset().union(*(step.resources for step in self.steps))


class Parallel(_Step):
    """Tracks that run at the same time (heat while kneading); it lasts as long as the longest
    track, and each actuator belongs to one track."""

    kind: Literal["parallel"]
    tracks: list[Track] = Field(min_length=2, max_length=MAX_TRACKS)

    @model_validator(mode="after")
    def _disjoint(self) -> Parallel:
        _check_nesting([step for track in self.tracks for step in track.steps])
        for later, track in enumerate(self.tracks):
            for earlier in range(later):
                shared = track.resources & self.tracks[earlier].resources
                if shared:
                    raise ValueError(
                        f"tracks[{later}] drives {', '.join(sorted(shared))}, which "
                        f"tracks[{earlier}] drives as well; give each actuator to one track"
                    )
        return self

    @property
    def duration_ms(self) -> int:
        return max(track.duration_ms for track in self.tracks)

    @property
    def resources(self) -> frozenset[str]:
        return frozenset().union(*(track.resources for track in self.tracks))

    @property
    def nesting(self) -> int:
        return 1 + max(step.nesting for track in self.tracks for step in track.steps)


Step = Annotated[
    Knead | Stroke | TriggerPoint | Tap | Press | Heat | Cool | Pause | Repeat | Parallel,
    Field(discriminator="kind"),
]
LeafStep = Knead | Stroke | TriggerPoint | Tap | Press | Heat | Cool | Pause
TECHNIQUES = ("knead", "stroke", "press", "trigger_point", "tap", "heat", "cool", "pause")

Repeat.model_rebuild()
Track.model_rebuild()
Parallel.model_rebuild()
