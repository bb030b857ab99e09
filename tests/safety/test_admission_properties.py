"""Properties of admission over any plan, device and user profile."""

from __future__ import annotations

import numpy as np
from hypothesis import event, given, settings
from hypothesis import strategies as st

from massagectl.safety.admission import admit
from massagectl.safety.plan_audit import row_caps
from massagectl.safety.verdicts import ADAPTABLE, AdmittedPlan, Refusal, ViolationKind
from tests.safety.oracle import breaches
from tests.safety.strategies import DEVICES, plans, users

# The central properties get more examples than the ci profile's default (and all a fuzz run
# asks for).
MANY = settings(max_examples=max(150, settings.default.max_examples))

# Kinds a refusal in adapt mode may still hold: what adapt cannot rewrite without re-timing.
NOT_ADAPTABLE = set(ViolationKind) - ADAPTABLE


def _within_bounds(admitted: AdmittedPlan) -> list[str]:
    """The admitted table row by row: every segment's bounds within its (zone) cap and floor."""
    found = []
    plan, limits = admitted.plan, admitted.limits
    position_index = [i for i, c in enumerate(plan.device.channels) if c.kind.value == "position"]
    position = plan.table[plan.table["channel"] == position_index[0]] if position_index else \
        plan.table[:0]
    for channel_limits in limits.channels:
        rows = plan.table[plan.table["channel"] == channel_limits.index]
        if not len(rows):
            continue
        upper = np.maximum(rows["start_value"], rows["end_value"]) + np.abs(rows["amplitude"])
        lower = np.minimum(rows["start_value"], rows["end_value"]) - np.abs(rows["amplitude"])
        caps, _ = row_caps(channel_limits, rows, position, limits)
        if np.any(upper > caps + 1e-9) or np.any(lower < channel_limits.floor.value - 1e-9):
            found.append(channel_limits.id)
    return found


@st.composite
def cases(draw):
    device = draw(DEVICES)
    return draw(plans(device)), device, draw(users(device))


@MANY
@given(cases())
def test_an_admitted_plan_never_exceeds_a_limit_at_any_instant(case):
    plan, device, user = case
    verdict = admit(plan, device, user)
    event(type(verdict).__name__)
    if isinstance(verdict, Refusal):
        assert verdict.violations, "a refusal always says why"
        event(f"refused for {min(v.kind for v in verdict.violations)}")
        return
    assert verdict.plan.problems() == []
    assert _within_bounds(verdict) == []
    assert breaches(verdict.plan, verdict.limits) == []


@MANY
@given(cases())
def test_adapt_output_always_passes_admission_in_refuse_mode(case):
    plan, device, user = case
    adapted = admit(plan, device, user, mode="adapt")
    event(f"adapt: {type(adapted).__name__}, {'changed' if adapted.changes else 'unchanged'}")
    if isinstance(adapted, Refusal):
        # adapt only refuses what it cannot rewrite by lowering values
        left = {v.kind for v in adapted.violations}
        assert left & NOT_ADAPTABLE, [str(v) for v in adapted.violations]
        return
    again = admit(adapted.plan, device, user, mode="refuse")
    assert isinstance(again, AdmittedPlan), str(again)
    assert again.changes == () or all("injury" in c.why for c in again.changes)
    assert breaches(adapted.plan, adapted.limits) == []


@given(cases())
def test_refuse_mode_changes_only_injured_zones(case):
    plan, device, user = case
    verdict = admit(plan, device, user, mode="refuse")
    assert all(change.why.startswith("injury zone") for change in verdict.changes)
    if not user.injury_zones and isinstance(verdict, AdmittedPlan):
        assert verdict.plan is plan
