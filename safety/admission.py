"""Admission: the first safety tier. A plan runs only if every segment, over its whole span, is
within the device's, the owner's and the user's limits and the user's precautions.

    admit(plan, device, user, limits) -> AdmittedPlan | Refusal

In order: the plan must be for this device, the user profile acceptable for it
(`check_user_limits`), and the plan well formed (`Plan.problems`); otherwise nothing else is
looked at. A device past an absolute ceiling (`ceiling_problems`) and owner caps past the
device (`check_owner_limits`) refuse the plan too, but the audit still runs (its limits stay
under both), so one answer names every problem. Injured zones are then skipped (held at their
safe default) in both modes. In `refuse` mode every remaining violation refuses the plan; in
`adapt` mode (the user profile's `on_precaution`, or `mode=`) the plan is first rewritten within
the limits (`safety.adapt`), and the rewritten plan must pass the same audit. Either way the
answer lists every change made and every violation left, with step, channel, zone, plan time,
value, limit and reason.

Plans are compiled at intensity level 5 and only ever scaled down at run time, so admission
checks the plan as given: the most the session can reach.

A plan that continues a session (the rest of a routine after a pause) is judged against what the
session has left: `spent` lowers each heat zone's on-time and dose budgets by what was already
used (safety.chair_time). The admitted plan carries the session's full limits, against which the
supervisor counts the whole session.
"""

from __future__ import annotations

from collections.abc import Mapping

from massagectl.routines.device import DeviceProfile
from massagectl.routines.plan import Plan
from massagectl.routines.user import UserProfile
from massagectl.safety.adapt import adapt_plan, skip_injury_zones
from massagectl.safety.chair_time import HeatSpent, less_spent
from massagectl.safety.channel_limits import (
    check_owner_limits,
    check_user_limits,
    plan_limits,
)
from massagectl.safety.device_check import ceiling_problems
from massagectl.safety.limits import DEFAULT_LIMITS, SafetyLimits
from massagectl.safety.plan_audit import audit_plan
from massagectl.safety.precautions import CLEARANCE_REASON, PRECAUTION_RULES
from massagectl.safety.verdicts import AdmittedPlan, Mode, Refusal, Violation, ViolationKind


def admit(
    plan: Plan,
    device: DeviceProfile,
    user: UserProfile,
    limits: SafetyLimits = DEFAULT_LIMITS,
    *,
    mode: Mode | None = None,
    spent: Mapping[int, HeatSpent] | None = None,
) -> AdmittedPlan | Refusal:
    """Admit `plan` for `user` on `device`, or refuse it naming every violation. `spent`:
    heat already used in this session, by channel index."""
    mode = mode or user.on_precaution
    early = _unusable(plan, device, user)
    if early:
        return Refusal(plan.routine, mode, tuple(early))
    session_limits = plan_limits(device, user, limits)
    limits_here = less_spent(session_limits, spent) if spent else session_limits
    violations = [Violation(ViolationKind.DEVICE, "plan", str(problem))
                  for problem in ceiling_problems(device, f"device profile {device.name!r}")]
    violations += [Violation(ViolationKind.PROFILE, "plan", str(problem))
                   for problem in check_owner_limits(limits, device)]
    violations += [
        Violation(ViolationKind.CLEARANCE, "plan", CLEARANCE_REASON.format(precaution=p))
        for p in sorted(user.precautions, key=str)
        if PRECAUTION_RULES[p].needs_clearance and not user.medical_clearance
    ]
    admitted, changes = skip_injury_zones(plan, limits_here)
    if mode == "adapt":
        admitted, more = adapt_plan(admitted, limits_here)
        changes += more
    violations += audit_plan(admitted, limits_here)
    if changes:
        # A rewrite must keep the plan's own invariants; if it ever did not, refuse.
        violations += [Violation(ViolationKind.MALFORMED, "plan", f"after rewriting: {problem}")
                       for problem in admitted.problems()]
    if violations:
        return Refusal(plan.routine, mode, tuple(violations), tuple(changes), limits_here.notes)
    return AdmittedPlan(admitted, session_limits, mode, tuple(changes), limits_here.notes)


def _unusable(plan: Plan, device: DeviceProfile, user: UserProfile) -> list[Violation]:
    if plan.device != device:
        return [Violation(ViolationKind.DEVICE, "plan", f"compiled for device "
                          f"{plan.device.name!r}, not {device.name!r}; compile it for this one")]
    found = [Violation(ViolationKind.PROFILE, "plan", str(problem))
             for problem in check_user_limits(user, device)]
    if found:
        return found
    return [Violation(ViolationKind.MALFORMED, "plan", problem) for problem in plan.problems()]
