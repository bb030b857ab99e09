"""What admission changed or could not honour in a plan, as notes for the person in the chair.

The same lines are said before a session starts (so nobody learns after twenty minutes that the
timer cut the routine short) and kept in its summary.
"""

from __future__ import annotations

from massagectl.safety.verdicts import AdmittedPlan

# Less than a plan's last millisecond left: it is over (times in a plan are whole ms).
END_SLACK_S = 0.001


def plan_notes(admitted: AdmittedPlan) -> list[str]:
    """What the compiler could not honour and what admission changed."""
    notes = list(admitted.plan.notes) + list(admitted.notes)
    return notes + [f"changed: {change}" for change in admitted.changes]


def timer_note(plan_s: float, timer_s: float, scan_s: float = 0.0) -> str | None:
    """Said when the session timer ends the routine early; the body scan's `scan_s` counts
    against the timer (time on the chair)."""
    if plan_s <= timer_s - scan_s + END_SLACK_S:
        return None
    scan = f", {scan_s:.0f} s of it used by the body scan" if scan_s else ""
    return (f"the routine lasts {plan_s / 60:.1f} min, longer than the session timer "
            f"({timer_s / 60:g} min{scan}): it stops there")
