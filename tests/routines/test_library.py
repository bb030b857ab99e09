"""The built-in routines: recognisable, 10-30 min, gentle enough, and their golden summaries.

Golden summaries live in tests/routines/golden/<routine>.<device>.txt. After an intended change
to the compiler or a routine, regenerate them with

    MASSAGECTL_REGENERATE_GOLDEN=1 python -m pytest tests/routines/test_library.py

and read the diff (`git diff tests/routines/golden`) before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from massagectl.routines.compiler import compile_routine
from massagectl.routines.device import builtin_device_names, load_device
from massagectl.routines.errors import UnknownNameError
from massagectl.routines.library import (
    builtin_routine_names,
    library_entries,
    load_builtin,
    resolve_routine,
)
from massagectl.routines.routine_check import check_routine
from massagectl.routines.steps import Cool, Knead, Press, Stroke, Tap
from massagectl.routines.summary import plan_summary

GOLDEN_DIR = Path(__file__).parent / "golden"
REGENERATE = os.environ.get("MASSAGECTL_REGENERATE_GOLDEN") == "1"
NAMES = builtin_routine_names()


def needs_airbags(name: str) -> bool:
    return any(isinstance(step, Press) and not step.optional
               for _, step in load_builtin(name).leaves())


def needs_cold(name: str) -> bool:
    return any(isinstance(step, Cool) and not step.optional
               for _, step in load_builtin(name).leaves())


def fits(name: str, device: str) -> bool:
    """The chair has airbags and no cooler; the pad cools and has no airbags."""
    return not needs_cold(name) if device == "chair" else not needs_airbags(name)


def fitting_pairs() -> list[tuple[str, str]]:
    return [(name, device) for name in NAMES for device in builtin_device_names()
            if fits(name, device)]


def test_the_library_has_the_routines_an_owner_expects():
    assert {"relax", "deep_tissue", "trigger_point_release", "myofascial_release",
            "shoulder_and_neck", "lower_back_relief", "energising_tap",
            "heat_therapy", "cold_therapy"} <= set(NAMES)
    for name in NAMES:
        routine = load_builtin(name)
        assert routine.name == name
        assert 10 * 60 <= routine.duration_s <= 30 * 60, name


@pytest.mark.parametrize("name", NAMES)
def test_each_routine_runs_on_the_devices_that_have_what_it_needs(name):
    routine = load_builtin(name)
    for device in ("chair", "pad"):
        assert (check_routine(routine, load_device(device)) == []) == fits(name, device), device


@pytest.mark.parametrize("name", NAMES)
def test_technique_parameters_stay_in_the_ranges_therapists_use(name):
    for location, step in load_builtin(name).leaves():
        if isinstance(step, Knead):
            assert 10 <= step.speed_cpm <= 40, location
        if isinstance(step, Stroke):
            assert 10 <= step.speed_mm_s <= 30, location
        if isinstance(step, Tap):
            # Percussion of 2-10 Hz at every intensity level (level 1 is 2/3, level 5 is 4/3).
            assert step.frequency_hz * 2 / 3 >= 2 and step.frequency_hz * 4 / 3 <= 10, location
        if isinstance(step, Press):
            assert step.ramp_in_s >= 10 and step.release_s >= 10, location  # slow ramps
        if step.kind == "heat":
            assert 38 <= step.temperature_c <= 42, location
        if step.kind == "cool":
            assert 15 <= step.temperature_c <= 20, location  # the 13-15 C analgesic skin range


def test_listing_says_what_each_routine_uses_and_where_it_runs():
    entries = {entry.name: entry for entry in library_entries()}
    assert entries["myofascial_release"].devices == ("chair",)
    assert entries["relax"].devices == ("chair", "pad")
    assert entries["cold_therapy"].devices == ("pad",)
    assert "press" in entries["myofascial_release"].techniques


def test_resolve_by_name_by_path_and_close_matches(tmp_path: Path):
    assert resolve_routine("relax") is load_builtin("relax")
    copy = tmp_path / "mine.toml"
    copy.write_text(Path(load_builtin("relax").source).read_text())
    assert resolve_routine(str(copy)).source == str(copy)
    with pytest.raises(UnknownNameError, match="did you mean 'relax'"):
        resolve_routine("relx")
    with pytest.raises(UnknownNameError, match="did you mean"):
        load_builtin("deep_tisue")


@pytest.mark.parametrize(("name", "device"), fitting_pairs())
def test_golden_summary(name: str, device: str):
    summary = plan_summary(compile_routine(load_builtin(name), load_device(device)))
    golden = GOLDEN_DIR / f"{name}.{device}.txt"
    if REGENERATE:
        GOLDEN_DIR.mkdir(exist_ok=True)
        golden.write_text(summary)
        pytest.skip(f"regenerated {golden.name}; review the diff before committing")
    assert golden.exists(), (
        f"{golden} is missing; regenerate with MASSAGECTL_REGENERATE_GOLDEN=1 and review it")
    assert summary == golden.read_text()


def test_no_golden_summary_is_left_over():
    expected = {f"{name}.{device}.txt" for name, device in fitting_pairs()}
    assert {path.name for path in GOLDEN_DIR.glob("*.txt")} == expected
