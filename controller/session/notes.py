"""What admission changed or could not honour in a plan, as notes for the person in the chair.

The same lines are said before a session starts (so nobody learns after twenty minutes that the
timer cut the routine short) and kept in its summary.
"""

from __future__ import annotations

from massagectl.safety.verdicts import AdmittedPlan

# Less than a plan's last millisecond left: it is over (times in a plan are whole ms).
END_SLACK_S = 0.001


def admission_notes(admitted: AdmittedPlan) -> list[str]:
    notes = list(admitted.plan.notes) + list(admitted.notes)
    notes += [f"changed: {change}" for change in admitted.changes]
    if admitted.plan.duration_s > admitted.auto_off_s + END_SLACK_S:
        notes.append(
            f"the routine lasts {admitted.plan.duration_s / 60:.1f} min, longer than the "
            f"session timer ({admitted.auto_off_s / 60:g} min): it stops there")
    return notes
