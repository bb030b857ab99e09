"""The chair's safety record: kept per board serial number, written atomically, recovering only
as the sourced model allows."""

from __future__ import annotations

import json
import stat

import pytest

from massagectl.routines.device import load_device
from massagectl.safety.chair_record import (
    DOSE_HALF_LIFE_S,
    HEAT_REST_S,
    NOTHING_LEFT,
    ChairRecord,
    all_records,
)
from massagectl.safety.faults import Fault, FaultCause
from massagectl.safety.limits import COLD_REST_S, DEFAULT_LIMITS

CHAIR = load_device("chair")
T0 = 1_800_000_000.0  # a wall-clock time, Unix seconds


def test_a_record_round_trips_and_is_written_whole_with_a_mode_every_login_can_update(tmp_path):
    record = ChairRecord.load("SIM-chair-7", tmp_path)
    record.add_use("heat_calves", "heat", 600.0, 0.02, T0)
    record.latch(Fault(FaultCause.HEATER_STUCK_ON, "temp_calves: heat cannot be switched off"))
    record.save()
    assert [p.name for p in tmp_path.iterdir()] == ["SIM-chair-7.json"]  # no temporary left
    assert stat.S_IMODE(record.path.stat().st_mode) == 0o666
    again = ChairRecord.load("SIM-chair-7", tmp_path)
    assert again.is_latched and again.latched[0]["cause"] == "heater_stuck_on"
    assert again.carried("heat_calves", T0).on_s == 600.0
    assert [r.serial for r in all_records(tmp_path)] == ["SIM-chair-7"]
    assert again.clear()[0]["cause"] == "heater_stuck_on" and not again.is_latched


def test_two_chairs_keep_two_records(tmp_path):
    ChairRecord.load("SIM-chair-1", tmp_path).save()
    other = ChairRecord.load("SIM-chair-2", tmp_path)
    other.add_use("heat_calves", "heat", 60.0, 0.001, T0)
    other.save()
    assert ChairRecord.load("SIM-chair-1", tmp_path).carried("heat_calves", T0) is None


@pytest.mark.parametrize("rested_s, carried_s", [
    (HEAT_REST_S - 1.0, 600.0),  # just under the rest: the heat time still counts
    (HEAT_REST_S, 0.0),  # a full rest gives it back
])
def test_heat_on_time_comes_back_only_after_a_full_rest(rested_s, carried_s, tmp_path):
    record = ChairRecord.load("c", tmp_path)
    record.add_use("heat_calves", "heat", 600.0, 0.0, T0)
    assert record.carried("heat_calves", T0 + rested_s).on_s == carried_s


@pytest.mark.parametrize("rested_s, carried_s", [(COLD_REST_S - 1.0, 300.0), (COLD_REST_S, 0.0)])
def test_cold_application_time_comes_back_only_after_its_rest(rested_s, carried_s, tmp_path):
    record = ChairRecord.load("c", tmp_path)
    record.add_use("cool_lower_back", "cool", 300.0, 0.0, T0)
    assert record.carried("cool_lower_back", T0 + rested_s).on_s == carried_s


def test_the_dose_halves_once_a_day_and_a_clock_set_back_gives_nothing(tmp_path):
    record = ChairRecord.load("c", tmp_path)
    record.add_use("heat_calves", "heat", 600.0, 0.08, T0)
    assert record.carried("heat_calves", T0 + DOSE_HALF_LIFE_S).dose == pytest.approx(0.04)
    assert record.carried("heat_calves", T0 + 10 * 3600).dose > 0.08 * 0.7
    assert record.carried("heat_calves", T0 - 3600).dose == 0.08


def test_the_budgets_left_are_the_owners_less_what_the_chair_carries(tmp_path):
    record = ChairRecord.load("c", tmp_path)
    record.add_use("heat_calves", "heat", 20 * 60.0, 0.07, T0)
    limits, notes = record.remaining(DEFAULT_LIMITS, CHAIR, T0 + 60.0)
    assert limits.heat.max_on_s == pytest.approx(10 * 60.0)
    assert limits.heat.dose_budget == pytest.approx(0.03, abs=1e-4)
    assert limits.heat.cap_c == DEFAULT_LIMITS.heat.cap_c
    assert "20.0 min of the 30 min heat time" in notes[0]
    record.add_use("heat_calves", "heat", 20 * 60.0, 0.05, T0 + 60.0)
    limits, _ = record.remaining(DEFAULT_LIMITS, CHAIR, T0 + 120.0)
    assert limits.heat.max_on_s == NOTHING_LEFT and limits.heat.dose_budget == NOTHING_LEFT


@pytest.mark.parametrize("text", ["{not json", '{"zones": {"heat_calves": {"kind": 3}}}', "[]"])
def test_a_record_that_cannot_be_read_is_a_latched_fault(text, tmp_path):
    (tmp_path / "c.json").write_text(text)
    record = ChairRecord.load("c", tmp_path)
    assert record.is_latched and record.latched[0]["cause"] == "chair_record_unreadable"


def test_a_serial_number_never_names_a_file_outside_the_folder(tmp_path):
    record = ChairRecord.load("../../etc/passwd", tmp_path)
    record.save()
    assert record.path.parent == tmp_path
    assert json.loads(record.path.read_text())["serial"] == "../../etc/passwd"
