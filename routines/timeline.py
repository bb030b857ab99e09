"""Place a routine's technique steps on the plan's time axis, in whole milliseconds.

Repeats unroll, parallel tracks start together, and the warm-up comes first. Times are integer
milliseconds of plan time so that boundaries add up exactly, however long the routine.
"""

from __future__ import annotations

from dataclasses import dataclass

from massagectl.routines.routine import Location, Routine, step_label
from massagectl.routines.steps import LeafStep, Parallel, Repeat, Step


@dataclass(frozen=True, slots=True)
class Placed:
    """One technique step at one place in time."""

    step: LeafStep
    location: Location
    index: int  # into Timeline.labels (and Plan.steps)
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class Timeline:
    labels: tuple[str, ...]  # one per technique step in file order, then warm-up and cool-down
    placed: list[Placed]  # in start order; ties keep file order
    warm_up_ms: int
    steps_end_ms: int
    duration_ms: int

    @property
    def warm_up_index(self) -> int:
        return len(self.labels) - 2

    @property
    def cool_down_index(self) -> int:
        return len(self.labels) - 1


def place(routine: Routine) -> Timeline:
    """Unroll `routine` into placed technique steps."""
    indices: dict[Location, int] = {}
    labels: list[str] = []
    for location, step in routine.leaves():
        indices[location] = len(labels)
        labels.append(step_label(location, step))
    labels += ["warm_up_s (warm-up)", "cool_down_s (cool-down)"]
    warm_up_ms = round(routine.warm_up_s * 1000)
    placed: list[Placed] = []
    end_ms = _place_sequence(routine.steps, ("steps",), warm_up_ms, indices, placed)
    placed.sort(key=lambda item: item.start_ms)  # stable: file order among equal starts
    return Timeline(
        labels=tuple(labels),
        placed=placed,
        warm_up_ms=warm_up_ms,
        steps_end_ms=end_ms,
        duration_ms=end_ms + round(routine.cool_down_s * 1000),
    )


def _place_sequence(
    steps: list[Step], prefix: Location, start_ms: int, indices: dict, placed: list[Placed]
) -> int:
    for position, step in enumerate(steps):
        start_ms = _place_step(step, prefix + (position,), start_ms, indices, placed)
    return start_ms


def _place_step(step: Step, location: Location, start_ms: int, indices, placed) -> int:
    if isinstance(step, Repeat):
        for _ in range(step.count):
            start_ms = _place_sequence(step.steps, location + ("steps",), start_ms, indices, placed)
        return start_ms
    if isinstance(step, Parallel):
        for number, track in enumerate(step.tracks):
            prefix = location + ("tracks", number, "steps")
            _place_sequence(track.steps, prefix, start_ms, indices, placed)
        return start_ms + step.duration_ms
    end_ms = start_ms + step.duration_ms
    placed.append(Placed(step, location, indices[location], start_ms, end_ms))
    return end_ms
