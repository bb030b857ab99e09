"""Routine files: the pydantic `Routine` model and `load_routine`.

A routine is a name, a description, an optional intensity, warm-up and cool-down ramps, and
steps (see routines.steps for the techniques). Values of depth, airbag pressure and tapping are
written as felt at intensity level 3 (routines.intensity). Its plan lasts exactly
`warm_up_s + sum of step durations + cool_down_s`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from massagectl.routines.device import Identifier
from massagectl.routines.loading import field_path, load_model
from massagectl.routines.routine_check import raise_if_unfit
from massagectl.routines.steps import (
    LeafStep,
    Parallel,
    Repeat,
    Step,
    _whole_milliseconds,
)

if TYPE_CHECKING:
    from massagectl.routines.device import DeviceProfile
    from massagectl.routines.user import UserProfile

# Every channel must be back at its safe default when the plan ends; 10 s lets the slowest
# built-in channel (a heat set point at 5 C/s from the 45 C limit) get there.
MIN_COOL_DOWN_S = 10.0
# Repeats multiply; a plan of more placed steps than this would not fit in memory comfortably.
MAX_EXPANDED_STEPS = 100_000
# Not a session cap (the safety layer caps sessions): a routine longer than a week is a typo,
# and the bound keeps its plan within some hundred thousand segments per channel.
MAX_ROUTINE_S = 7 * 86_400

Location = tuple[int | str, ...]


class Routine(BaseModel):
    """A massage routine as written in a TOML file."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="massagectl routine")

    name: Identifier = Field(description="Identifier: lower case, digits and _.")
    description: str = Field(min_length=1, max_length=300)
    intensity: int | None = Field(
        default=None, ge=1, le=5,
        description="Intensity level to run at unless the owner chooses; values in this file "
        "are as felt at level 3. Absent: the user's preferred intensity.",
    )
    warm_up_s: Annotated[float, AfterValidator(_whole_milliseconds)] = Field(
        default=20.0, ge=0, le=3600, allow_inf_nan=False,
        description="Gentle ramp from rest into the first steps, before them.",
    )
    cool_down_s: Annotated[float, AfterValidator(_whole_milliseconds)] = Field(
        default=20.0, ge=MIN_COOL_DOWN_S, le=3600, allow_inf_nan=False,
        description="Ramp of every output back to rest after the last step.",
    )
    steps: list[Step] = Field(min_length=1)
    _source: str = PrivateAttr(default="<routine>")

    @field_validator("steps")
    @classmethod
    def _bounded(cls, steps: list[Step]) -> list[Step]:
        placed = sum(_expanded_count(step) for step in steps)
        if placed > MAX_EXPANDED_STEPS:
            raise ValueError(
                f"repeats expand to {placed} steps, more than the {MAX_EXPANDED_STEPS} allowed"
            )
        total_s = sum(step.duration_ms for step in steps) / 1000
        if total_s > MAX_ROUTINE_S:
            raise ValueError(f"the steps last {total_s:.0f} s, more than a week; check the "
                             "durations and repeat counts")
        return steps

    @property
    def source(self) -> str:
        """The file the routine came from, for error messages."""
        return self._source

    def with_source(self, source: str | Path) -> Routine:
        """A copy that names `source` in its error messages."""
        routine = self.model_copy()
        routine._source = str(source)
        return routine

    @property
    def steps_ms(self) -> int:
        return sum(step.duration_ms for step in self.steps)

    @property
    def duration_ms(self) -> int:
        return round(self.warm_up_s * 1000) + self.steps_ms + round(self.cool_down_s * 1000)

    @property
    def duration_s(self) -> float:
        return self.duration_ms / 1000

    def leaves(self) -> Iterator[tuple[Location, LeafStep]]:
        """Every technique step once, in file order, with its location in the file."""
        yield from _leaves(("steps",), self.steps)

    @property
    def techniques(self) -> list[str]:
        """Technique kinds the routine uses, in a fixed order."""
        kinds = {leaf.kind for _, leaf in self.leaves()} - {"pause"}
        return sorted(kinds)


def _leaves(prefix: Location, steps: list[Step]) -> Iterator[tuple[Location, LeafStep]]:
    for index, step in enumerate(steps):
        here = prefix + (index,)
        if isinstance(step, Repeat):
            yield from _leaves(here + ("steps",), step.steps)
        elif isinstance(step, Parallel):
            for track_index, track in enumerate(step.tracks):
                yield from _leaves(here + ("tracks", track_index, "steps"), track.steps)
        else:
            yield here, step


def _expanded_count(step: Step) -> int:
    if isinstance(step, Repeat):
        return step.count * sum(_expanded_count(child) for child in step.steps)
    if isinstance(step, Parallel):
        return sum(_expanded_count(child) for track in step.tracks for child in track.steps)
    return 1


def step_label(location: Location, step: LeafStep) -> str:
    """How plans and messages name a step: `steps[2] (knead)`."""
    return f"{field_path(location)} ({step.kind})"


def load_routine(
    path: str | Path,
    device: DeviceProfile | None = None,
    user: UserProfile | None = None,
) -> Routine:
    """Read and validate a routine file; with a device, also check it fits that device (hard
    ranges, zones, rates), so every problem names the file and the field."""
    routine = load_model(path, Routine).with_source(path)
    if device is not None:
        raise_if_unfit(routine, device, user)
    return routine


def routine_json_schema() -> dict:
    """JSON Schema of routine files (TOML maps one to one onto JSON), for editors."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            **Routine.model_json_schema()}
