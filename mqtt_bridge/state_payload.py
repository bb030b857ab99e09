"""The retained state JSON, built from the service's snapshot and the chair's latest readings.

Read back from the chair, never assumed from a command: a heat switch shows what the session
does, not what was asked. Times are given both ways: seconds left, and the session's end as a
timestamp (Home Assistant's `timestamp` sensor counts down from it without more updates).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from massagectl.controller.service.operations import ChairSnapshot, ChairState

ACTIVE = (ChairState.SCANNING, ChairState.RUNNING)
READING_DECIMALS = 1  # 0.1 kPa and 0.1 degC: finer is sensor noise


def state_payload(
    snapshot: ChairSnapshot,
    *,
    selected_routine: str | None,
    readings: Mapping[str, float],
    pressure_sensors: Mapping[str, str],
    temperature_sensors: Mapping[str, str],
    now: datetime | None = None,
) -> dict[str, Any]:
    """`pressure_sensors` and `temperature_sensors` map a zone to its sensor's id."""
    running = snapshot.state in ACTIVE
    ends_at = None
    if running and snapshot.remaining_s > 0:
        moment = (now or datetime.now(UTC)) + timedelta(seconds=snapshot.remaining_s)
        ends_at = moment.isoformat(timespec="seconds")
    return {
        "status": snapshot.state.value,
        "routine": snapshot.routine,
        "selected_routine": selected_routine,
        "step": snapshot.step,
        "time_left_s": round(snapshot.remaining_s),
        "ends_at": ends_at,
        "intensity": snapshot.intensity,
        "heat": "ON" if snapshot.heat_on else "OFF",
        "timer_min": snapshot.timer_min,
        "zones_off": list(snapshot.zones_off),
        "user": snapshot.user,
        "running": running,
        "seat_occupied": snapshot.seat_occupied,
        "fault": snapshot.faults[0] if snapshot.faults else None,
        "faults": list(snapshot.faults),
        "remote_start_allowed": snapshot.remote_start_allowed,
        "connection_detail": snapshot.connection_detail or None,  # why the board is away
        "pressure_kpa": _readings(readings, pressure_sensors),
        "temperature_c": _readings(readings, temperature_sensors),
    }


def _readings(readings: Mapping[str, float], sensors: Mapping[str, str]) -> dict[str, float | None]:
    values: dict[str, float | None] = {}
    for zone, sensor_id in sensors.items():
        value = readings.get(sensor_id)
        values[zone] = None if value is None else round(value, READING_DECIMALS)
    return values
