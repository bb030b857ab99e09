"""`massagectl routines | validate | compile | schema | plot`, as a person runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from massagectl.controller.cli import main
from massagectl.controller.session.notes import plan_notes, timer_note
from massagectl.controller.session.preflight import verdict_for
from massagectl.routines.compiler import compile_routine
from massagectl.routines.device import BUILTIN_DEVICE_DIR, load_device
from massagectl.routines.library import BUILTIN_ROUTINE_DIR, load_builtin
from massagectl.routines.plan_json import plan_from_json
from massagectl.routines.routine import load_routine
from massagectl.routines.user import load_user
from massagectl.safety.limits import DEFAULT_LIMITS

GOOD = ('name = "back"\ndescription = "a test routine"\n[[steps]]\nkind = "knead"\n'
        'duration_s = 60\nspeed_cpm = 20\nband = "upper_back"\ndepth_mm = 6\n')


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_routines_lists_duration_techniques_and_devices(capsys):
    status, out, _ = run(capsys, "routines")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["routine", "duration", "techniques", "devices"]
    [relax] = [line for line in lines if line.startswith("relax ")]
    assert relax.split()[1:] == ["20:00", "heat,", "knead,", "stroke", "chair,", "pad"]
    [myofascial] = [line for line in lines if line.startswith("myofascial_release ")]
    assert myofascial.endswith(" chair")


def test_validate_exits_0_for_valid_files_and_notes_what_the_pad_ignores(capsys, tmp_path):
    path = tmp_path / "back.toml"
    path.write_text(GOOD)
    assert run(capsys, "validate", str(path))[0] == 0
    status, out, err = run(capsys, "validate", str(path), "--device", "pad")
    assert status == 0
    assert out == f"{path}: valid for device 'pad' and within the safety limits\n"
    assert f"{path}: note: depth_mm not honoured: device 'pad' has no depth control" in err


def test_validate_prints_one_line_per_problem_and_exits_1(capsys, tmp_path):
    good, bad = tmp_path / "good.toml", tmp_path / "bad.toml"
    good.write_text(GOOD)
    bad.write_text(GOOD.replace("60", "-60").replace("upper_back", "tail") + "depth = 3\n")
    status, out, _ = run(capsys, "validate", str(good), str(bad), str(tmp_path / "gone.toml"))
    assert status == 1
    lines = out.splitlines()
    assert lines[0] == f"{good}: valid for device 'chair' and within the safety limits"
    assert [line.split(": ")[:2] for line in lines[1:4]] == [
        [str(bad), "steps[0].duration_s"], [str(bad), "steps[0].band"],
        [str(bad), "steps[0].depth"]]
    assert lines[4].startswith(f"{tmp_path / 'gone.toml'}: cannot read")


def test_validate_checks_hard_ranges_against_the_chosen_device(capsys, tmp_path):
    path = tmp_path / "legs.toml"
    path.write_text('name = "legs"\ndescription = "x"\n[[steps]]\nkind = "press"\n'
                    'zones = ["calves"]\npressure_kpa = 52\nramp_in_s = 30\nhold_s = 60\n'
                    'release_s = 30\n')
    status, out, _ = run(capsys, "validate", "--device", "chair", str(path))
    assert status == 1
    assert out.startswith(f"{path}: steps[0].pressure_kpa: 52 kPa (as felt at intensity 3) is "
                          "69.3 kPa at intensity 5, above the 25 kPa hard limit of zone 'calves' "
                          "on device 'chair'")


def test_validate_applies_the_owners_lowered_limits_as_run_does(capsys, tmp_path):
    path = tmp_path / "warm.toml"
    path.write_text('name = "warm"\ndescription = "x"\n[[steps]]\nkind = "heat"\n'
                    'zone = "lower_back"\ntemperature_c = 41\nduration_s = 600\n')
    status, out, _ = run(capsys, "validate", str(path))
    assert (status, out) == (0, f"{path}: valid for device 'chair' and within the safety "
                                "limits\n")
    owner = tmp_path / "config.toml"
    owner.write_text("[limits.heat]\ncap_c = 38\n")
    status, out, _ = run(capsys, "validate", "--config", str(owner), str(path))
    assert status == 1
    assert out.startswith(f"{path}: safety (as at intensity 5): ")
    assert "38" in out and "valid for device" not in out


def test_compile_prints_the_summary(capsys):
    status, out, _ = run(capsys, "compile", "relax")
    assert status == 0
    assert out == (Path(__file__).parent / "golden" / "relax.chair.txt").read_text()


def test_compile_json_loads_back_into_the_same_plan(capsys, tmp_path):
    user = tmp_path / "me.toml"
    user.write_text("shoulder_height_mm = 640\nback_length_mm = 480\n")
    status, out, _ = run(capsys, "compile", "deep_tissue", "--device", "pad", "--user", str(user),
                         "--intensity", "5", "--json")
    assert status == 0
    pad = load_device("pad")
    expected = compile_routine(load_builtin("deep_tissue"), pad, load_user(user), 5)
    assert plan_from_json(json.loads(out), pad) == expected


def test_compile_names_an_unknown_routine_and_a_routine_the_device_cannot_run(capsys):
    status, _, err = run(capsys, "compile", "relx")
    assert status == 1 and "unknown routine 'relx' (did you mean 'relax'?)" in err
    status, _, err = run(capsys, "compile", "myofascial_release", "--device", "pad")
    assert status == 1
    # A built-in routine is not the owner's file to edit: no "mark the step optional" advice,
    # but what it was made for and which routines fit instead, in one line.
    assert err == ("massagectl compile: routine 'myofascial_release' is made for the chair; "
                   "the pad has no airbag in shoulders, seat, arms, calves or feet (routines "
                   "made for the pad: cold_therapy, deep_tissue, energising_tap, heat_therapy, "
                   "lower_back_relief, relax, shoulder_and_neck, trigger_point_release)\n")


def test_a_routine_file_that_needs_a_missing_zone_still_names_the_field(capsys, tmp_path):
    path = tmp_path / "squeeze.toml"
    path.write_text('name = "squeeze"\ndescription = "calves"\n[[steps]]\nkind = "press"\n'
                    'zones = ["calves"]\npressure_kpa = 5\nhold_s = 30\nramp_in_s = 5\n'
                    'release_s = 5\n')
    status, _, err = run(capsys, "compile", str(path), "--device", "pad")
    assert status == 1
    assert "steps[0].zones[0]: device 'pad' has no airbag in zone 'calves'" in err


def test_schema_is_json_schema_for_routine_files(capsys):
    status, out, _ = run(capsys, "schema")
    schema = json.loads(out)
    assert status == 0 and schema["title"] == "massagectl routine"
    assert "steps" in schema["required"]


@pytest.mark.parametrize("name", ["plan.png", "noext"])
def test_plot_writes_an_image_and_names_the_file_it_wrote(tmp_path, name):
    # In a process of its own: matplotlib keeps its font files open for the life of a process.
    done = subprocess.run(
        [sys.executable, "-m", "massagectl", "plot", "energising_tap", "-o",
         str(tmp_path / name)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    target = tmp_path / "plan.png" if name == "plan.png" else tmp_path / "noext.png"
    assert (done.returncode, done.stdout, done.stderr) == (0, f"wrote {target}\n", "")
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [path.name for path in tmp_path.iterdir()] == [target.name]


def test_plot_to_a_suffix_that_is_no_image_format_lists_the_ones_there_are(capsys, tmp_path):
    status, _, err = run(capsys, "plot", "relax", "-o", str(tmp_path / "plan.txt"))
    assert status == 1
    assert "'.txt' is not an image format matplotlib writes (use one of " in err
    assert "png" in err and not list(tmp_path.iterdir())


def test_plot_without_matplotlib_says_how_to_install_it(capsys, tmp_path, monkeypatch):
    for name in list(sys.modules):
        if name == "matplotlib" or name.startswith("matplotlib."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import now fails
    status, _, err = run(capsys, "plot", "relax", "-o", str(tmp_path / "plan.png"))
    assert status == 1 and "pip install 'massagectl[plot]'" in err
    assert not (tmp_path / "plan.png").exists()


@pytest.mark.parametrize("argv", [["validate"], ["compile"], ["plot", "relax"]])
def test_missing_arguments_are_usage_errors(capsys, argv):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2


def test_validate_takes_built_in_names_as_run_compile_and_plot_do(capsys):
    status, out, _ = run(capsys, "validate", "relax")
    assert status == 0
    assert out.startswith("relax: valid for device 'chair' and within the safety limits")
    status, out, _ = run(capsys, "validate", "full_body", "--device", "pad")
    assert status == 1 and out.startswith("full_body: routine 'full_body' is made for the chair")


def test_routines_show_prints_a_built_in_routine_as_a_template(capsys, tmp_path):
    status, out, _ = run(capsys, "routines", "show", "relax")
    assert status == 0 and 'name = "relax"' in out
    copy = tmp_path / "evening.toml"
    copy.write_text(out.replace('name = "relax"', 'name = "evening"'))
    status, out, _ = run(capsys, "validate", str(copy))
    assert status == 0 and "valid for device 'chair'" in out
    status, _, err = run(capsys, "routines", "show", "relx")
    assert status == 1 and "unknown routine 'relx' (did you mean 'relax'?)" in err


def test_the_plan_plot_names_each_step_where_it_begins_on_a_lane():
    from massagectl.routines.plot import plan_lanes

    plan = compile_routine(load_builtin("relax"), load_device("chair"))
    lanes = {lane.label: lane for lane in plan_lanes(plan)}
    names = [name for _, name in lanes["roller_position"].labels]
    assert names[0] == "warm-up" and names[-1] == "cool-down"
    assert "knead" in names and "stroke" in names
    assert [name for _, name in lanes["heat_lower_back"].labels] == ["warm-up", "heat",
                                                                     "cool-down"]
def _user_file(tmp_path, text: str) -> str:
    path = tmp_path / "me.toml"
    path.write_text(text)
    return str(path)


def _routine_file(tmp_path, name: str) -> str:
    path = tmp_path / f"{name}.toml"
    path.write_text((BUILTIN_ROUTINE_DIR / f"{name}.toml").read_text())
    return str(path)


@pytest.mark.parametrize(("user_text", "routine", "expected"), [
    # Pregnancy in adapt mode: the lower back's heat is taken out, as `run` does.
    ('precautions = ["pregnancy"]\nmedical_clearance = true\non_precaution = "adapt"\n',
     "heat_therapy", "changed: "),
    # An injured zone is skipped.
    ('injury_zones = ["lower_back"]\n', "heat_therapy", "changed: "),
    # A routine longer than the user's session timer is cut there.
    ("limits = { session_min = 10 }\n", "relax", "longer than the session timer (10 min)"),
])
def test_validate_shows_the_changes_and_notes_run_shows(capsys, tmp_path, user_text, routine,
                                                       expected):
    user_path = _user_file(tmp_path, user_text)
    path = _routine_file(tmp_path, routine)
    status, out, err = run(capsys, "validate", "--user", user_path, path)
    assert status == 0
    # Exactly what `run` would tell the person, from the same admission.
    chair, user = load_device("chair"), load_user(user_path)
    verdict = verdict_for(load_routine(path, chair, user), chair, user, DEFAULT_LIMITS)
    timer = timer_note(verdict.plan.duration_s, verdict.auto_off_s)
    shown = [*plan_notes(verdict), *filter(None, [timer])]
    assert any(expected in note for note in shown)
    printed = [line.removeprefix(f"{path}: ") for line in (out + err).splitlines()[1:]]
    assert sorted(printed) == sorted(n if n.startswith("changed: ") else f"note: {n}"
                                     for n in shown)
    if expected == "changed: ":
        assert "valid for device 'chair' and within the safety limits" not in out
        assert "change(s) that run makes" in out.splitlines()[0]


def test_validate_reports_a_device_past_a_ceiling_and_the_routines_problems_in_one_pass(
        capsys, tmp_path):
    body = (BUILTIN_DEVICE_DIR / "chair.toml").read_text()
    start = body.index('id = "airbag_calves"')
    body = body[:start] + body[start:].replace("max = 25", "max = 100", 1)
    strong = tmp_path / "strong.toml"
    strong.write_text(body)
    legs = tmp_path / "legs.toml"
    legs.write_text('name = "legs"\ndescription = "x"\n[[steps]]\nkind = "press"\n'
                    'zones = ["calves"]\npressure_kpa = 15\nramp_in_s = 10\nhold_s = 20\n'
                    'release_s = 10\n')
    status, out, _ = run(capsys, "validate", "--device", str(strong), str(legs))
    assert status == 1
    lines = out.splitlines()
    assert lines[0].startswith(f"{strong}: channels[8].max: 100 kPa on 'airbag_calves' is above "
                               "the absolute ceiling of 30 kPa")
    assert any(line.startswith(f"{legs}: safety (as at intensity 5):") and "above the limit "
               "of 16 kPa" in line for line in lines[1:])
    assert "valid for device" not in out
