"""User profiles: the occupant's body map, preferences, personal limits and health precautions.

Routines read only the body map (where the shoulders are, how long the back is, personal trigger
points). The safety layer enforces the limits and precautions; they live here so that one file
describes one person.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from massagectl.routines.device import Identifier, Zone
from massagectl.routines.loading import load_model


class Precaution(StrEnum):
    """Conditions that call for modified or avoided techniques (from the seed article)."""

    PREGNANCY = "pregnancy"
    DVT = "dvt"  # deep vein thrombosis
    OSTEOPOROSIS = "osteoporosis"
    CANCER = "cancer"


class TriggerPoint(BaseModel):
    """A personal tender spot along the back, relative to the occupant's body."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Identifier
    position_pct: float = Field(
        ge=-30,
        le=110,
        allow_inf_nan=False,
        description="Along the back: 0 = shoulder line, 100 = hips; negative reaches the neck.",
    )
    note: str = ""


class UserLimits(BaseModel):
    """Limits the user chose below the device's own. Never above them (the safety layer checks)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pressure_kpa: dict[Zone, Annotated[float, Field(ge=0, allow_inf_nan=False)]] = Field(
        default_factory=dict, description="Highest airbag pressure per zone, kPa."
    )
    temperature_c: float | None = Field(
        default=None, ge=0, le=45, allow_inf_nan=False, description="Highest contact temperature."
    )
    depth_mm: float | None = Field(
        default=None, ge=0, allow_inf_nan=False, description="Deepest roller protrusion."
    )
    session_min: Literal[10, 15, 20, 30] | None = Field(
        default=None, description="Auto-off timer, like the timer keys of commercial chairs."
    )


class UserProfile(BaseModel):
    """One occupant."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="default", max_length=64)
    shoulder_height_mm: float = Field(
        default=600,
        ge=400,
        le=800,
        allow_inf_nan=False,
        description="Seated shoulder line above the seat surface (a body scan measures it).",
    )
    back_length_mm: float = Field(
        default=450,
        ge=250,
        le=650,
        allow_inf_nan=False,
        description="From the shoulder line down to the top of the hips.",
    )
    preferred_intensity: int = Field(default=3, ge=1, le=5)
    trigger_points: tuple[TriggerPoint, ...] = ()
    precautions: frozenset[Precaution] = frozenset()
    injury_zones: frozenset[Zone] = Field(
        default=frozenset(), description="Zones no technique may touch."
    )
    medical_clearance: bool = Field(
        default=False,
        description="A doctor has cleared massage despite a recorded precaution "
        "(needed for cancer).",
    )
    on_precaution: Literal["refuse", "adapt"] = Field(
        default="refuse",
        description="What admission does with a routine a precaution forbids: refuse it, or "
        "rewrite it within the limits and report every change.",
    )
    limits: UserLimits = UserLimits()

    @model_validator(mode="after")
    def _unique_trigger_points(self) -> UserProfile:
        names = [point.name for point in self.trigger_points]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"trigger point names must be unique; repeated: {', '.join(repeated)}")
        return self

    def height_above_seat_mm(self, position_pct: float) -> float:
        """Map a relative back position (0 % shoulders, 100 % hips) to mm above the seat."""
        return self.shoulder_height_mm - position_pct / 100.0 * self.back_length_mm

    def trigger_point(self, name: str) -> TriggerPoint | None:
        return next((point for point in self.trigger_points if point.name == name), None)


DEFAULT_USER = UserProfile()


def load_user(path: str | Path | None) -> UserProfile:
    """A user profile file, or the default occupant when no path is given."""
    if path is None:
        return DEFAULT_USER
    return load_model(Path(path), UserProfile)
