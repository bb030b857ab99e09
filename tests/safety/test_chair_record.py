"""The chair's safety record: kept per board serial number, written atomically, recovering only
as the sourced model allows."""

from __future__ import annotations

import json
import math
import stat
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from massagectl.routines.device import load_device
from massagectl.safety.chair_record import (
    DEFAULT_RECORDS,
    DOSE_HALF_LIFE_S,
    HEAT_REST_S,
    NOTHING_LEFT,
    RECORDS_ENV,
    ChairRecord,
    all_records,
    records_folder,
)
from massagectl.safety.faults import Fault, FaultCause
from massagectl.safety.limits import COLD_REST_S, DEFAULT_LIMITS, SafetyLimits

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


PAD = load_device("pad")


def test_where_records_live_is_the_computers_folder_unless_the_environment_says(monkeypatch):
    monkeypatch.setenv(RECORDS_ENV, "/srv/chairs")
    assert records_folder() == Path("/srv/chairs")
    monkeypatch.setenv(RECORDS_ENV, "")
    assert records_folder() == DEFAULT_RECORDS
    monkeypatch.delenv(RECORDS_ENV)
    assert records_folder() == DEFAULT_RECORDS


@pytest.mark.parametrize("serial, file_name", [
    ("SIM chair/1", "SIM_chair_1.json"),
    ("A-b_c.9", "A-b_c.9.json"),
    ("Stuhl-ä", "Stuhl-_.json"),
    ("", "unnamed.json"),
])
def test_a_serial_number_becomes_a_plain_file_name(serial, file_name, tmp_path):
    record = ChairRecord.load(serial, tmp_path)
    record.latch(Fault(FaultCause.HEATER_STUCK_ON, "temp_calves: heat cannot be switched off"))
    record.save()
    assert record.path == tmp_path / file_name
    (listed,) = all_records(tmp_path)
    assert listed.serial == serial and listed.path == record.path and listed.is_latched


def test_the_file_says_its_format_and_when_it_was_written(tmp_path):
    record = ChairRecord.load("c", tmp_path)
    record.add_use("heat_calves", "heat", 600.0, 0.02, T0)
    record.save()
    data = json.loads(record.path.read_text())
    assert data["version"] == 1 and data["serial"] == "c"
    assert datetime.fromisoformat(data["updated"]).utcoffset() == timedelta(0)
    assert data["zones"]["heat_calves"] == {"kind": "heat", "on_s": 600.0, "dose": 0.02,
                                            "at_s": T0, "last_on_s": T0}


def test_a_latched_fault_says_when_and_each_cause_is_kept_once(tmp_path):
    record = ChairRecord.load("c", tmp_path)
    record.latch(Fault(FaultCause.HEATER_STUCK_ON, "temp_calves: heat cannot be switched off"))
    record.latch(Fault(FaultCause.HEATER_STUCK_ON, "temp_lower_back: the same again"))
    record.latch(Fault(FaultCause.OVER_PRESSURE, "pressure_calves: 18 kPa"))
    assert [item["cause"] for item in record.latched] == ["heater_stuck_on", "over_pressure"]
    assert record.latched[0]["detail"] == "temp_calves: heat cannot be switched off"
    assert datetime.fromisoformat(record.latched[0]["time"]).utcoffset() == timedelta(0)


def test_the_folder_is_opened_to_every_login(tmp_path):
    folder = tmp_path / "chairs"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    ChairRecord.load("c", folder).save()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o777


def test_a_figure_that_is_not_a_number_is_never_written_and_the_old_record_stays(tmp_path):
    record = ChairRecord.load("c", tmp_path)
    record.latch(Fault(FaultCause.HEATER_STUCK_ON, "temp_calves: heat cannot be switched off"))
    record.save()
    record.add_use("heat_calves", "heat", 60.0, math.nan, T0)
    with pytest.raises(ValueError):
        record.save()
    again = ChairRecord.load("c", tmp_path)
    assert again.is_latched and again.latched[0]["cause"] == "heater_stuck_on"


def test_a_cool_zone_round_trips_with_its_own_rest(tmp_path):
    record = ChairRecord.load("pad-1", tmp_path)
    record.add_use("cool_lower_back", "cool", 300.0, 0.0, T0)
    record.save()
    again = ChairRecord.load("pad-1", tmp_path)
    assert not again.is_latched
    use = again.carried("cool_lower_back", T0 + HEAT_REST_S)  # a heat zone's rest: not enough
    assert (use.kind, use.on_s, use.dose) == ("cool", 300.0, 0.0)
    again.save()  # what was read writes back the same
    assert ChairRecord.load("pad-1", tmp_path).zones == again.zones


def test_the_figures_carried_are_as_of_the_time_asked_and_never_of_a_clock_set_back(tmp_path):
    record = ChairRecord.load("c", tmp_path)
    record.add_use("heat_calves", "heat", 600.0, 0.08, T0)
    later = record.carried("heat_calves", T0 + 3600.0)
    assert (later.at_s, later.last_on_s, later.kind) == (T0 + 3600.0, T0, "heat")
    earlier = record.carried("heat_calves", T0 - 3600.0)
    assert (earlier.at_s, earlier.on_s, earlier.dose) == (T0, 600.0, 0.08)


def test_a_session_that_used_nothing_leaves_no_trace_and_the_least_use_counts(tmp_path):
    record = ChairRecord.load("c", tmp_path)
    record.add_use("heat_calves", "heat", 0.0, 0.0, T0)
    assert record.carried("heat_calves", T0) is None
    record.add_use("heat_calves", "heat", 0.5, 0.0, T0)
    assert record.carried("heat_calves", T0).on_s == 0.5


def test_a_dose_without_heat_time_counts_but_does_not_restart_the_rest(tmp_path):
    """A surface still hot after its heat went off gives a dose with no on-time: it adds to the
    dose, and the zone's rest still runs from when its heat was last on."""
    record = ChairRecord.load("c", tmp_path)
    record.add_use("heat_calves", "heat", 600.0, 0.02, T0)
    record.add_use("heat_calves", "heat", 0.0, 0.01, T0 + HEAT_REST_S - 60.0)
    use = record.carried("heat_calves", T0 + HEAT_REST_S)
    assert use.on_s == 0.0
    assert use.dose == pytest.approx(0.02 * 0.5 ** (HEAT_REST_S / DOSE_HALF_LIFE_S)
                                     + 0.01 * 0.5 ** (60.0 / DOSE_HALF_LIFE_S))
    record.add_use("heat_calves", "heat", 0.5, 0.0, T0 + HEAT_REST_S)  # on again, briefly
    assert record.carried("heat_calves", T0 + 2 * HEAT_REST_S - 1.0).on_s == 0.5


@pytest.mark.parametrize("zones, broken", [
    ({"heat_calves": {"kind": 3, "on_s": 1, "dose": 0, "at_s": 0, "last_on_s": 0}},
     "zone kind 3 is neither heat nor cool"),
    ({"heat_calves": {"kind": "heat", "on_s": -1, "dose": 0, "at_s": 0, "last_on_s": 0}},
     "not finite, non-negative numbers"),
])
def test_a_record_with_impossible_figures_names_them_and_stays_latched(zones, broken, tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"serial": "c", "latched": [], "zones": zones}))
    record = ChairRecord.load("c", tmp_path)
    (entry,) = record.latched
    assert entry["cause"] == "chair_record_unreadable" and broken in entry["detail"]
    assert record.serial == "c" and record.path == path
    assert datetime.fromisoformat(entry["time"]).utcoffset() == timedelta(0)
    record.save()  # the chair's history stays unknown until someone clears it
    assert ChairRecord.load("c", tmp_path).latched[0]["cause"] == "chair_record_unreadable"


@pytest.mark.parametrize("text, said", [
    ("{not json", "line 1 column 2"),
    ("[]", "AttributeError: 'list' object has no attribute 'get'"),
])
def test_an_unreadable_record_says_which_file_and_why(text, said, tmp_path):
    (tmp_path / "c.json").write_text(text)
    record = ChairRecord.load("c", tmp_path)
    detail = record.latched[0]["detail"]
    assert detail.startswith(f"{tmp_path / 'c.json'} could not be read (") and said in detail
    assert detail.endswith("the chair's recent heat is unknown")
    assert record.serial == "c" and record.path == tmp_path / "c.json"


def test_a_record_without_latched_faults_written_down_reads_as_none_latched(tmp_path):
    (tmp_path / "c.json").write_text(json.dumps({"serial": "c", "zones": {}}))
    record = ChairRecord.load("c", tmp_path)
    assert not record.is_latched
    record.save()
    assert record.path == tmp_path / "c.json"


def test_every_record_in_the_folder_is_listed_even_one_that_cannot_be_read(tmp_path,
                                                                            chair_records):
    """Listed from the folder asked for (not the machine's), by the serial each file names,
    or its file name when it names none or cannot be read."""
    ChairRecord.load("chair/7", tmp_path).save()
    (tmp_path / "bare.json").write_text(json.dumps({"zones": {}}))
    (tmp_path / "broken.json").write_text("{not json")
    ChairRecord.load("elsewhere", chair_records).save()
    listed = {record.serial: record for record in all_records(tmp_path)}
    assert sorted(listed) == ["bare", "broken", "chair/7"]
    assert listed["broken"].is_latched and not listed["bare"].is_latched
    assert all(record.path.parent == tmp_path for record in listed.values())


def test_heat_and_cold_carried_lower_only_their_own_budgets(tmp_path):
    """The pad: a cool zone used for 5 min lowers the cold application time (the owner's
    warmer floor kept) and says so; heat stays whole."""
    owner = SafetyLimits(cold={"floor_c": 20.0})
    record = ChairRecord.load("pad-1", tmp_path)
    record.add_use("cool_lower_back", "cool", 300.0, 0.0, T0)
    limits, notes = record.remaining(owner, PAD, T0 + 60.0)
    assert limits.heat == owner.heat
    assert limits.cold.max_on_s == owner.cold.max_on_s - 300.0
    assert limits.cold.floor_c == 20.0
    assert notes == ["recent sessions on this chair cooled a zone for 5.0 min of its 15 min; "
                     "a rest of 40 min gives it back"]
    record.add_use("cool_lower_back", "cool", 20 * 60.0, 0.0, T0 + 120.0)
    limits, _ = record.remaining(DEFAULT_LIMITS, PAD, T0 + 180.0)
    assert limits.cold.max_on_s == NOTHING_LEFT


def test_heat_carried_keeps_the_owners_cap_and_counts_a_dose_alone(tmp_path):
    """An owner's lower cap and shorter heat time stay; a dose with no heat time lowers the
    dose budget; the note says the owner's figures."""
    owner = SafetyLimits(heat={"cap_c": 40.0, "max_on_s": 90.0})
    record = ChairRecord.load("c", tmp_path)
    record.add_use("heat_calves", "heat", 0.0, 0.02, T0)
    limits, notes = record.remaining(owner, CHAIR, T0)
    assert limits.heat.cap_c == 40.0
    assert limits.heat.max_on_s == 90.0
    assert limits.heat.dose_budget == pytest.approx(owner.heat.dose_budget - 0.02)
    assert limits.cold == owner.cold
    assert notes == ["recent sessions on this chair used 0.0 min of the 1.5 min heat time and "
                     "2.0% of the 10% thermal dose"]


@pytest.mark.parametrize("kind, channel", [("heat", "heat_calves"), ("cool", "cool_lower_back")])
def test_half_a_second_on_is_taken_off_the_time_left(kind, channel, tmp_path):
    device = CHAIR if kind == "heat" else PAD
    record = ChairRecord.load("c", tmp_path)
    record.add_use(channel, kind, 0.5, 0.0, T0)
    limits, notes = record.remaining(DEFAULT_LIMITS, device, T0)
    budget = limits.heat if kind == "heat" else limits.cold
    full = DEFAULT_LIMITS.heat if kind == "heat" else DEFAULT_LIMITS.cold
    assert budget.max_on_s == full.max_on_s - 0.5 and len(notes) == 1
