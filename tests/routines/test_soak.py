"""The compiler's properties with many more examples (`pytest --soak tests/routines`)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.routines import test_compiler, test_plan_json
from tests.routines.strategies import DEVICES, cases, wild_routines

SOAK = settings(max_examples=5_000)


@pytest.mark.soak
@SOAK
@given(cases())
def test_soak_valid_routines_compile_within_limits_and_deterministically(case):
    for prop in (
        test_compiler.test_any_valid_routine_compiles_to_a_plan_within_every_limit,
        test_compiler.test_compiling_twice_gives_identical_plans,
        test_plan_json.test_json_round_trip_gives_an_identical_plan,
    ):
        prop.hypothesis.inner_test(case)


@pytest.mark.soak
@SOAK
@given(st.sampled_from(sorted(DEVICES)), wild_routines())
def test_soak_any_routine_is_refused_or_compiles_within_limits(device_name, data):
    inner = test_compiler.test_any_routine_is_refused_by_name_or_compiles_within_every_limit
    inner.hypothesis.inner_test(device_name, data)
