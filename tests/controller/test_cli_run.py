"""`massagectl run | trace | faults`, in-process against the built-in simulator."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from massagectl.controller.cli import main
from massagectl.safety.fault_log import FaultLog, LogEvent
from tests.controller.sessions import TINY


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config that keeps traces and the fault log in the test's own directory."""
    path = tmp_path / "config.toml"
    path.write_text('[logs]\ndirectory = "state"\n')
    return path


def test_run_finishes_saves_a_trace_and_trace_reads_it_back(capsys, config, tmp_path):
    status, out, _ = run(capsys, "run", "energising_tap", "--speed", "max", "--quiet",
                         "--config", str(config))
    assert status == 0
    assert "energising_tap: finished after 12.2 min on built-in simulator" in out
    # The simulated occupant's shoulders are 600 mm above the seat; the scan reads a noisy
    # motor current, so it finds them within a few millimetres.
    [found_mm] = re.findall(r"body scan: shoulder line (\d+) mm above the seat", out)
    assert abs(int(found_mm) - 600) <= 5
    assert out.count("shoulder line") == 1  # said once, not again as a note
    [trace] = (tmp_path / "state" / "chairs" / "SIM-chair-1" / "traces").glob(
        "*-energising_tap.npz")
    assert f"trace: {trace}" in out

    status, out, _ = run(capsys, "trace", str(trace), "--plot", str(tmp_path / "trace.png"))
    assert status == 0
    rows = {line.split()[0]: line.split() for line in out.splitlines()[2:] if line.strip()}
    # Kneading speed was sent and followed: the measured peak is the sent peak (within noise).
    knead = rows["knead_speed"]
    assert abs(float(knead[3]) - float(knead[4])) < 1.5
    assert "tap_rate" in rows
    # Into a pipe or a file the table keeps every cell whole, however wide (no `roller_posit...`).
    assert rows["roller_position"][:3] == ["roller_position", "mm", "roller_position"]
    assert len(rows["tap_rate"]) == 8  # up to the lag columns, all there
    assert (tmp_path / "trace.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    status, out, _ = run(capsys, "faults", "--config", str(config))
    assert status == 0 and "no latched fault" in out


def test_an_unknown_routine_names_the_close_matches(capsys, config):
    status, _, err = run(capsys, "run", "relx", "--config", str(config))
    assert status == 1
    assert "unknown routine 'relx'" in err and "did you mean 'relax'" in err


def test_a_port_that_does_not_exist_is_named(capsys, config):
    status, _, err = run(capsys, "run", "relax", "--port", "/dev/ttyNOPE0", "--config",
                         str(config))
    assert status == 1
    assert "/dev/ttyNOPE0" in err


def test_speed_is_refused_with_a_real_port(capsys, config):
    status, _, err = run(capsys, "run", "relax", "--port", "/dev/ttyUSB0", "--speed", "10",
                         "--config", str(config))
    assert status == 1
    assert "--speed works with the built-in simulator only" in err


def test_a_config_with_a_wrong_field_names_it(capsys, tmp_path):
    bad = tmp_path / "config.toml"
    bad.write_text('[device]\nbaudrate = 9600\n')
    status, _, err = run(capsys, "run", "relax", "--config", str(bad))
    assert status == 1
    assert "device.baudrate: unknown key" in err


def test_a_routine_the_users_precautions_forbid_is_refused_with_every_reason(capsys, config,
                                                                           tmp_path):
    user = tmp_path / "me.toml"
    user.write_text('precautions = ["dvt"]\n')
    status, _, err = run(capsys, "run", "full_body", "--user", str(user), "--speed", "max",
                         "--config", str(config))
    assert status == 1
    assert "full_body refused by the safety layer" in err
    assert "calves" in err and "deep vein thrombosis" in err
    assert "as at intensity 5" in err


def test_a_latched_fault_blocks_run_until_faults_clear(capsys, config, tmp_path):
    log = FaultLog(tmp_path / "state" / "faults.jsonl")
    log.append(LogEvent.FAULT, "supervisor", "stuck_valve", action="STOP sent",
               outcome="pressure_calves: the vent does not open", latched=True)
    status, _, err = run(capsys, "run", "relax", "--speed", "max", "--config", str(config))
    assert status == 1 and "a fault is latched (stuck_valve)" in err
    # The top-level log of earlier versions may be any chair's: why the simulator waits too.
    assert "the fault log earlier versions kept for every chair" in err
    status, out, _ = run(capsys, "faults", "--config", str(config))
    assert "stuck_valve" in out and "latched: 1 fault(s)" in out
    status, out, _ = run(capsys, "faults", "--clear", "--config", str(config))
    assert "cleared 1 latched fault(s)" in out
    status, out, _ = run(capsys, "run", "energising_tap", "--speed", "max", "--quiet",
                         "--no-scan", "--config", str(config))
    assert status == 0


def test_a_chair_in_the_config_and_speed_say_how_to_use_the_simulator(capsys, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[device]\nport = "/dev/serial/by-id/usb-chair"\n[logs]\n'
                      'directory = "state"\n')
    routine = tmp_path / "tiny.toml"
    routine.write_text(TINY)
    status, _, err = run(capsys, "run", str(routine), "--speed", "max", "--config", str(config))
    assert status == 1
    assert "the config file's [device] port names a chair" in err and "--port sim" in err
    status, _, err = run(capsys, "run", str(routine), "--sim-shoulder-mm", "560", "--config",
                         str(config))
    assert status == 1 and "--sim-shoulder-mm works with the built-in simulator only" in err
    # Two sessions within the same second keep two traces.
    for _ in range(2):
        status, out, _ = run(capsys, "run", str(routine), "--port", "sim", "--speed", "max",
                             "--quiet", "--no-scan", "--config", str(config))
        assert status == 0 and "on built-in simulator" in out
    assert len(list((tmp_path / "state" / "chairs" / "SIM-chair-1" / "traces").glob(
        "*-tiny*.npz"))) == 2


def test_a_built_in_routine_on_a_device_it_was_not_made_for_names_the_ones_that_fit(capsys,
                                                                                     config):
    status, out, err = run(capsys, "run", "full_body", "--device", "pad", "--config",
                           str(config))
    assert status == 1 and out == ""
    assert err.startswith("massagectl run: routine 'full_body' is made for the chair; the pad "
                          "has no heat in calves and no airbag in calves, feet, arms or seat")
    assert "routines made for the pad: cold_therapy, deep_tissue," in err
    assert "optional" not in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("argv", [["routines"], ["run", "TINY", "--speed", "max", "--quiet",
                                                 "--no-scan"]])
def test_a_reader_that_stops_early_does_not_change_the_exit_status(tmp_path, argv):
    """`massagectl run ... | head -1`: the pipe closes before the summary is written."""
    routine = tmp_path / "tiny.toml"
    routine.write_text(TINY)
    argv = [str(routine) if arg == "TINY" else arg for arg in argv]
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    process = subprocess.Popen([sys.executable, "-m", "massagectl", *argv], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # the reader is gone before the first line
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert b"BrokenPipe" not in err and b"Traceback" not in err


def test_usage_errors_exit_2_and_help_lists_every_exit_status(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    assert "2    the command line was wrong (usage)" in out
    assert "3    run only: stopped early" in out
    with pytest.raises(SystemExit) as caught:
        main(["no-such-command"])
    assert caught.value.code == 2
