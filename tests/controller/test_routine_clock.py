"""The step a display shows: worked out once per span between segment boundaries."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from massagectl.controller.session.routine_clock import step_at
from massagectl.routines.compiler import compile_routine
from massagectl.routines.device import load_device
from massagectl.routines.library import load_builtin

PLAN = compile_routine(load_builtin("full_body"), load_device("chair"))


def steps_by_definition(plan, plan_s: float) -> str:
    """Every segment at work at `plan_s`, its step's technique, parallel tracks joined."""
    names: list[str] = []
    for segment in sorted(plan.segments(), key=lambda s: s.step):
        if segment.step >= 0 and segment.start_s <= plan_s < segment.start_s + segment.duration_s:
            label = plan.step_label(segment.step)
            name = label[label.rfind("(") + 1:-1] if label.endswith(")") else label
            if name not in names:
                names.append(name)
    return " + ".join(names)


@settings(max_examples=60, deadline=None)
@given(st.floats(-10.0, PLAN.duration_s + 10.0), st.floats(0.0, 1.0))
def test_the_step_holds_across_its_span(plan_s, where):
    step, from_s, until_s = step_at(PLAN, plan_s)
    assert from_s <= plan_s < until_s
    assert step == steps_by_definition(PLAN, plan_s)
    inside_s = from_s + where * (until_s - from_s) if np.isfinite(until_s - from_s) else plan_s
    if from_s <= inside_s < until_s:
        assert step_at(PLAN, inside_s)[0] == step


def test_each_segment_boundary_starts_a_new_span():
    table = PLAN.table
    for boundary in np.unique(np.concatenate((table["start_s"],
                                              table["start_s"] + table["duration_s"])))[:50]:
        step, from_s, _ = step_at(PLAN, float(boundary))
        assert from_s == boundary and step == steps_by_definition(PLAN, float(boundary))
