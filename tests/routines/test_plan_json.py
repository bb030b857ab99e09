"""Plans survive JSON exactly, and load only for the profile they were compiled for."""

from __future__ import annotations

import json

import pytest
from hypothesis import given

from massagectl.routines.compiler import compile_routine
from massagectl.routines.device import DeviceProfile, load_device
from massagectl.routines.errors import InputError, InvalidFileError
from massagectl.routines.library import load_builtin
from massagectl.routines.plan_json import plan_from_json, plan_to_json
from tests.routines.strategies import cases


@given(cases())
def test_json_round_trip_gives_an_identical_plan(case):
    routine, device, user = case
    plan = compile_routine(routine, device, user)
    text = json.dumps(plan_to_json(plan))
    assert plan_from_json(json.loads(text), device) == plan


def test_a_plan_is_refused_for_another_device_or_a_changed_profile():
    chair = load_device("chair")
    data = plan_to_json(compile_routine(load_builtin("relax"), chair))
    with pytest.raises(InputError, match="compiled for device 'chair'"):
        plan_from_json(data, load_device("pad"))
    softer = chair.model_dump()
    softer["channels"][2]["max"] = 30  # roller depth
    with pytest.raises(InputError, match="compile the routine again"):
        plan_from_json(data, DeviceProfile.model_validate(softer))


def test_a_malformed_plan_document_names_the_field():
    data = plan_to_json(compile_routine(load_builtin("relax"), load_device("chair")))
    data["segments"][3][1] = "soon"
    data["segments"][4][0] = "roller_spin"
    with pytest.raises(InvalidFileError) as caught:
        plan_from_json(data, load_device("chair"), source="trace.json")
    assert [p.field for p in caught.value.problems] == ["segments[3][1]"]
    data["segments"][3][1] = 0.0
    with pytest.raises(InvalidFileError, match=r"segments\[4\]\[0\]: unknown channel"):
        plan_from_json(data, load_device("chair"), source="trace.json")
