"""Bad routine, device and user files are refused in the author's words, never pydantic's."""

from __future__ import annotations

import copy
import math
import tomllib
from importlib.resources import files
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from massagectl.routines.device import DeviceProfile
from massagectl.routines.errors import InvalidFileError
from massagectl.routines.loading import validate_data
from massagectl.routines.routine import Routine, load_routine
from massagectl.routines.user import UserProfile, load_user

PACKAGE = files("massagectl.routines")
ROUTINE = tomllib.loads(PACKAGE.joinpath("library", "relax.toml").read_text())
DEVICE = tomllib.loads(PACKAGE.joinpath("devices", "chair.toml").read_text())
USER = {"name": "anna", "shoulder_height_mm": 585, "back_length_mm": 430,
        "preferred_intensity": 2, "precautions": ["dvt"], "on_precaution": "adapt",
        "injury_zones": ["neck"], "limits": {"temperature_c": 40, "session_min": 20,
                                             "pressure_kpa": {"calves": 4}}}
# Values of every kind TOML can write (and the sizes that break a bound).
WRONG = [5, -5, 1.5, 10**12, math.inf, math.nan, True, "x", "", "Some Words", [1], [],
         {"a": 1}]
# How pydantic words its errors: none of it may reach the author.
PYDANTIC_WORDS = ("Input should", "should have", "validation error", "after validation",
                  "valid dictionary", "instance of", "<class", "Value error")


def _places(node, path=()):
    """Every key and list item of a parsed file, as a path into it."""
    items = node.items() if isinstance(node, dict) else enumerate(node[:2]) \
        if isinstance(node, list) else ()
    for key, child in items:
        yield (*path, key)
        yield from _places(child, (*path, key))


def _replaced(data, place, value):
    changed = copy.deepcopy(data)
    node = changed
    for key in place[:-1]:
        node = node[key]
    node[place[-1]] = value
    return changed


FILES = [(ROUTINE, Routine, place) for place in _places(ROUTINE)] \
    + [(DEVICE, DeviceProfile, place) for place in _places(DEVICE)] \
    + [(USER, UserProfile, place) for place in _places(USER)]


@given(case=st.sampled_from(FILES), value=st.sampled_from(WRONG))
def test_any_value_of_the_wrong_kind_anywhere_is_refused_in_the_authors_words(case, value):
    data, model, place = case
    try:
        validate_data("file.toml", _replaced(data, place, value), model)
    except InvalidFileError as error:
        for problem in error.problems:
            assert problem.source == "file.toml"
            assert not any(words in problem.message for words in PYDANTIC_WORDS), problem


NAMED = 'name = "shapes"\ndescription = "a test"\n'
PAUSE = '[[steps]]\nkind = "pause"\nduration_s = 5\n'


@pytest.mark.parametrize("text, field, words", [
    ('name = 5\ndescription = "a test"\n' + PAUSE, "name",
     "5 is not text; write it in double quotes"),
    ('name = "shapes"\ndescription = ""\n' + PAUSE, "description",
     "is empty; write at least one character"),
    ('name = "shapes"\ndescription = "' + "x" * 301 + '"\n' + PAUSE, "description",
     "is longer than the 300 characters allowed; shorten it"),
    (NAMED + 'steps = 5\n', "steps",
     "5 is not a list; write the items in brackets: steps = [..., ...]"),
    (NAMED + 'steps = []\n', "steps", "has 0 items; give at least 1 item"),
    (NAMED + 'steps = [5]\n', "steps[0]",
     "5 is not a table; write [[steps]] with its keys on the lines below it"),
    (NAMED + 'intensity = inf\n' + PAUSE, "intensity",
     "inf is not a finite number; write a number"),
    (NAMED + '[[steps]]\nkind = "parallel"\n[[steps.tracks]]\nsteps = [{ kind = "pause", '
     'duration_s = 5 }]\n', "steps[0].tracks", "has 1 item; give at least 2 items"),
    (NAMED + '[[steps]]\nkind = "pause"\nduration_s = inf\n', "steps[0].duration_s",
     "inf is not a finite number; write a number of s"),
    (NAMED + '[[steps]]\nkind = "heat"\nzone = "calves"\ntemperature_c = 38\n'
     'duration_s = 60\noptional = "maybe"\n', "steps[0].optional",
     "'maybe' is not true or false; write true or false, without quotes"),
])
def test_a_routine_of_the_wrong_shape_says_what_to_write(tmp_path: Path, text, field, words):
    path = tmp_path / "shapes.toml"
    path.write_text(text)
    with pytest.raises(InvalidFileError) as caught:
        load_routine(path)
    assert [(p.field, p.message) for p in caught.value.problems] == [(field, words)]


def test_a_user_profile_of_the_wrong_shape_says_what_to_write(tmp_path: Path):
    path = tmp_path / "anna.toml"
    path.write_text('name = "anna"\nprecautions = "dvt"\non_precaution = "ignore"\n'
                    '[limits]\nsession_min = 25\n[limits.pressure_kpa]\ncalves = "low"\n'
                    'elbow = 3\n')
    with pytest.raises(InvalidFileError) as caught:
        load_user(path)
    said = {p.field: p.message for p in caught.value.problems}
    assert said == {
        "precautions": "'dvt' is not a list; write the items in brackets: "
                       "precautions = [..., ...]",
        "on_precaution": "'ignore' is not one of 'refuse' or 'adapt'",
        "limits.session_min": "25 is not one of 10, 15, 20 or 30",
        "limits.pressure_kpa.calves": "'low' is not a number of kPa",
        "limits.pressure_kpa.elbow": "'elbow' is not one of 'neck', 'shoulders', 'upper_back', "
                                     "'mid_back', 'lower_back', 'seat', 'arms', 'calves' or "
                                     "'feet'",
    }
