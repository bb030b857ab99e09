"""`massagectl run` starts from the chair's record: back-to-back sessions at 44 C, each from a
new state folder, never pass the heat timeout or the skin's dose budget between them."""

from __future__ import annotations

from pathlib import Path

import pytest

from massagectl.controller.cli import main
from massagectl.safety import chair_record
from massagectl.safety.chair_record import HEAT_REST_S, ChairRecord
from massagectl.safety.limits import COLD_REST_S, DEFAULT_LIMITS

WARM = """
name = "warm_back"
description = "Seventeen minutes at 44 C on the lower back"
warm_up_s = 10
cool_down_s = 20

[[steps]]
kind = "heat"
zone = "lower_back"
temperature_c = 44
duration_s = 1020
"""
SIMULATED_CHAIR = "SIM-chair-1"  # the built-in simulator's serial number


def run_in_a_new_state_folder(tmp_path: Path, attempt: int, capsys) -> tuple[int, str]:
    config = tmp_path / f"config-{attempt}.toml"
    # The owner raised the heat cap to the 45 C contact limit: set points up to 44 C.
    config.write_text(f'[logs]\ndirectory = "state-{attempt}"\n[limits.heat]\ncap_c = 45\n')
    status = main(["run", str(tmp_path / "warm_back.toml"), "--user", str(tmp_path / "warm.toml"),
                   "--speed", "max", "--quiet", "--no-scan", "--config", str(config)])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "warm_back.toml").write_text(WARM)
    (tmp_path / "warm.toml").write_text('name = "warm"\n[limits]\ntemperature_c = 44\n')
    return tmp_path


@pytest.mark.parametrize("rest_s, stopped_by", [
    (0.0, "heat timeout"),  # straight after each other: the heat time is used up
    (HEAT_REST_S + 60.0, "thermal dose"),  # rested: the heat time is back, the dose is not
])
def test_five_runs_at_44_c_stay_within_the_heat_time_and_the_dose_budget(
        rest_s, stopped_by, files, capsys, monkeypatch):
    now = [1_800_000_000.0]
    monkeypatch.setattr(chair_record, "wall_clock", lambda: now[0])
    results = []
    for attempt in range(5):
        results.append(run_in_a_new_state_folder(files, attempt, capsys))
        # The clock stands still during a run (the record is stamped at its end): a minute to
        # the next attempt, and the rest.
        now[0] += 60.0 + rest_s
    assert results[0][0] == 0, results[0][1]
    for status, text in results[1:]:
        assert status == 1 and "refused by the safety layer" in text, text
        assert stopped_by in text
        assert "recent sessions on this chair used" in text
    use = ChairRecord.load(SIMULATED_CHAIR).carried("heat_lower_back", now[0] - rest_s - 60.0)
    assert use.dose < DEFAULT_LIMITS.heat.dose_budget
    assert use.on_s <= DEFAULT_LIMITS.heat.max_on_s
    print(f"\nafter five attempts ({rest_s / 60:.0f} min apart): dose {use.dose:.3f}, heat "
          f"{use.on_s / 60:.1f} min")


def test_a_fault_latched_on_the_chair_blocks_a_run_from_any_state_folder_until_cleared(
        files, capsys):
    record = ChairRecord.load(SIMULATED_CHAIR)
    record.latched.append({"cause": "heater_stuck_on", "time": "2026-12-05T12:00:00+00:00",
                           "detail": "temp_lower_back: heat cannot be switched off"})
    record.save()
    status, text = run_in_a_new_state_folder(files, 0, capsys)
    assert status == 1 and f"chair {SIMULATED_CHAIR} has a latched fault" in text
    assert f"massagectl faults --clear --chair {SIMULATED_CHAIR}" in text

    config = files / "config-1.toml"
    config.write_text('[logs]\ndirectory = "state-1"\n')
    assert main(["faults", "--config", str(config)]) == 0
    shown = capsys.readouterr().out
    assert SIMULATED_CHAIR in shown and "heater_stuck_on" in shown
    assert main(["faults", "--clear", "--chair", SIMULATED_CHAIR, "--config", str(config)]) == 0
    assert f"chair {SIMULATED_CHAIR}: cleared 1 latched fault" in capsys.readouterr().out
    assert not ChairRecord.load(SIMULATED_CHAIR).is_latched


@pytest.mark.parametrize("rest_s, second_runs", [
    (COLD_REST_S - 60.0, False),  # the zone has not rested long enough
    (COLD_REST_S, True),  # a full rest gives the application back
])
def test_cold_therapy_twice_needs_a_rest_between(rest_s, second_runs, tmp_path, capsys,
                                                  monkeypatch):
    now = [1_800_000_000.0]
    monkeypatch.setattr(chair_record, "wall_clock", lambda: now[0])
    config = tmp_path / "config.toml"
    config.write_text('[logs]\ndirectory = "state"\n')
    argv = ["run", "cold_therapy", "--device", "pad", "--speed", "max", "--quiet", "--no-scan",
            "--config", str(config)]
    assert main(argv) == 0, capsys.readouterr()
    now[0] += rest_s  # the clock stood still during the run, which is stamped at its end
    status = main(argv)
    text = capsys.readouterr()
    assert (status == 0) is second_runs, text
    if not second_runs:
        assert "cools for 14.0 min" in text.err and "cooled a zone for 14.0 min" in text.err
