"""What `run` admits, worked out without a board: the plan at the strongest level against the
safety limits (the owner's included), and the changes and notes a person is shown.

    verdict = verdict_for(routine, device, user, limits)   # AdmittedPlan | Refusal
    admitted = preflight(routine, device, user, limits)    # or RefusedError
    notes = plan_notes(admitted)                           # controller.session.notes

`massagectl run` goes through it before it opens a port and again when the session starts;
`massagectl validate` goes through it too, so the two can never disagree.
"""

from __future__ import annotations

from massagectl.routines.compiler import compile_routine
from massagectl.routines.device import DeviceProfile
from massagectl.routines.intensity import LEVELS
from massagectl.routines.plan import Plan
from massagectl.routines.routine import Routine
from massagectl.routines.user import UserProfile
from massagectl.safety.admission import admit
from massagectl.safety.limits import SafetyLimits
from massagectl.safety.verdicts import AdmittedPlan, Refusal

# Plans are compiled and admitted at the strongest level: intensity + on the remote can reach
# it in any session, and the board only ever scales it down.
COMPILE_LEVEL = max(LEVELS)


def admit_or_raise(plan: Plan, device: DeviceProfile, user: UserProfile, limits: SafetyLimits,
                   **how) -> AdmittedPlan:
    """`safety.admit`, raising RefusedError on a refusal; `how`: its keyword options."""
    verdict = admit(plan, device, user, limits, **how)
    if isinstance(verdict, Refusal):
        raise verdict.error()
    return verdict


def verdict_for(routine: Routine, device: DeviceProfile, user: UserProfile,
                limits: SafetyLimits) -> AdmittedPlan | Refusal:
    """Compile `routine` at the strongest level and admit it (raises if it does not fit)."""
    plan = compile_routine(routine, device, user, intensity=COMPILE_LEVEL)
    return admit(plan, device, user, limits)


def preflight(routine: Routine, device: DeviceProfile, user: UserProfile,
              limits: SafetyLimits) -> AdmittedPlan:
    """`verdict_for`, raising `RefusedError` (naming every violation) on a refusal."""
    plan = compile_routine(routine, device, user, intensity=COMPILE_LEVEL)
    return admit_or_raise(plan, device, user, limits)
