"""Plans as JSON and back: `plan_to_json(plan) -> dict`, `plan_from_json(data, device) -> Plan`.

Session traces store plans this way. Floats survive the round trip exactly (JSON numbers are
written with the shortest repr that reads back to the same float64), so a loaded plan equals
the stored one. The device profile's digest is stored too: a plan is only ever loaded for the
very profile it was compiled for.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from massagectl.routines.device import DeviceProfile
from massagectl.routines.errors import InputError, InvalidFileError, Problem
from massagectl.routines.loading import validate_data
from massagectl.routines.plan import SEGMENT_DTYPE, Plan, freeze_table

PLAN_FORMAT = "massagectl-plan"
PLAN_VERSION = 1
COLUMNS = ("channel", "start_s", "duration_s", "start_value", "end_value", "amplitude",
           "period_s", "step")
# A plan of more rows than this is not one the compiler makes (8 h routines stay far below).
MAX_PLAN_ROWS = 1_000_000

Row = tuple[str, float, float, float, float, float, float, int]


class PlanDocument(BaseModel):
    """The JSON form of a plan."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["massagectl-plan"]
    version: Literal[1]
    routine: str
    device: str
    device_digest: str
    duration_s: float = Field(ge=0, allow_inf_nan=False)
    intensity: int = Field(ge=1, le=5)
    steps: list[str]
    notes: list[str]
    columns: list[str]
    segments: list[Row] = Field(max_length=MAX_PLAN_ROWS)


def device_digest(device: DeviceProfile) -> str:
    """A short fingerprint of a device profile's content."""
    return hashlib.sha256(device.model_dump_json().encode()).hexdigest()[:16]


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """A JSON-ready dict of the plan."""
    ids = [channel.id for channel in plan.device.channels]
    table = plan.table
    rows = [
        [ids[int(row[0])], *(float(value) for value in row.tolist()[1:7]), int(row[7])]
        for row in table
    ]
    return {
        "format": PLAN_FORMAT,
        "version": PLAN_VERSION,
        "routine": plan.routine,
        "device": plan.device.name,
        "device_digest": device_digest(plan.device),
        "duration_s": plan.duration_s,
        "intensity": plan.intensity,
        "steps": list(plan.steps),
        "notes": list(plan.notes),
        "columns": list(COLUMNS),
        "segments": rows,
    }


def plan_from_json(data: dict[str, Any], device: DeviceProfile, source: str = "<plan>") -> Plan:
    """The plan `plan_to_json` wrote, for `device`. Raises InvalidFileError on a malformed
    document and InputError when it was compiled for another device profile."""
    document = validate_data(source, data, PlanDocument)
    if document.device != device.name or document.device_digest != device_digest(device):
        raise InputError(
            f"{source}: plan was compiled for device {document.device!r} "
            f"(profile {document.device_digest}), not this {device.name!r} profile",
            "compile the routine again for this device",
        )
    if tuple(document.columns) != COLUMNS:
        raise InvalidFileError(source, [Problem(source, "columns", f"expected {list(COLUMNS)}")])
    ids = {channel.id: index for index, channel in enumerate(device.channels)}
    table = np.empty(len(document.segments), dtype=SEGMENT_DTYPE)
    for position, (channel_id, *values, step) in enumerate(document.segments):
        if channel_id not in ids:
            problem = Problem(source, f"segments[{position}][0]", f"unknown channel {channel_id!r}")
            raise InvalidFileError(source, [problem])
        table[position] = (ids[channel_id], *values, step)
    return Plan(
        routine=document.routine,
        device=device,
        duration_s=document.duration_s,
        table=freeze_table(table),
        steps=tuple(document.steps),
        notes=tuple(document.notes),
        intensity=document.intensity,
    )
