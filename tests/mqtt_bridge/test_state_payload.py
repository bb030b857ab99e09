"""The state JSON: read from the snapshot and the readings, with the session's end as a time."""

from __future__ import annotations

from datetime import UTC, datetime

from massagectl.controller.service.operations import ChairSnapshot, ChairState
from massagectl.mqtt_bridge.state_payload import state_payload

NOW = datetime(2026, 12, 5, 12, 0, 0, tzinfo=UTC)


def payload(snapshot: ChairSnapshot, readings=None) -> dict:
    return state_payload(snapshot, selected_routine="relax",
                         readings=readings or {"pressure_calves": 4.26, "temp_calves": 38.04},
                         pressure_sensors={"calves": "pressure_calves", "feet": "pressure_feet"},
                         temperature_sensors={"calves": "temp_calves"}, now=NOW)


def test_a_running_session_whole():
    snapshot = ChairSnapshot(ChairState.RUNNING, chair_id="SN-1", routine="relax", step="knead",
                             remaining_s=754.6, intensity=4, heat_on=True, timer_min=15,
                             zones_off=("feet",), faults=(), seat_occupied=True)
    assert payload(snapshot) == {
        "status": "running", "routine": "relax", "selected_routine": "relax", "step": "knead",
        "time_left_s": 755, "ends_at": "2026-12-05T12:12:34+00:00", "intensity": 4,
        "heat": "ON", "timer_min": 15, "zones_off": ["feet"], "user": "default",
        "running": True, "seat_occupied": True, "fault": None, "faults": [],
        "remote_start_allowed": False, "connection_detail": None,
        "pressure_kpa": {"calves": 4.3, "feet": None}, "temperature_c": {"calves": 38.0},
    }


def test_no_end_time_unless_a_session_is_counting_down():
    paused = ChairSnapshot(ChairState.PAUSED, chair_id="SN-1", remaining_s=300.0)
    faulted = ChairSnapshot(ChairState.FAULT, chair_id="SN-1",
                            faults=("over_pressure: calves 31 kPa", "link_lost: silence"))
    assert payload(paused)["ends_at"] is None and payload(paused)["running"] is False
    assert payload(faulted)["fault"] == "over_pressure: calves 31 kPa"
