"""Where the routine stands: the plan on the board, placed on the host's clock and in the routine.

The session's time limits are not here: time on the chair, the session timer and the heat
spent belong to the supervisor (safety.chair_time). This is only what a display and a resume
need: how far through the routine the person is.

    plan:     |ramp|------ rest of the routine ------|
    routine:   from_s      from_s + (plan_s - ramp_s) ...

Routine time stands still during a resume's ramp back in (the routine is not being done then,
though the chair works and its timer runs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from massagectl.routines.plan import Plan


@dataclass(frozen=True)
class PlanOnBoard:
    """A plan the board runs, its time 0 at host time `start_host_s`."""

    plan: Plan
    start_host_s: float
    ramp_s: float = 0.0  # plan time at which routine time `from_s` falls
    from_s: float = 0.0  # routine time the plan continues from

    @property
    def end_host_s(self) -> float:
        return self.start_host_s + self.plan.duration_s

    def routine_s(self, host_s: float) -> float:
        """Routine time reached at `host_s`."""
        plan_s = min(max(0.0, host_s - self.start_host_s), self.plan.duration_s)
        return self.from_s + max(0.0, plan_s - self.ramp_s)


def step_at(plan: Plan, plan_s: float) -> tuple[str, float, float]:
    """The techniques at work at `plan_s`, e.g. "knead + heat" (parallel tracks joined), and
    the span (from_s, until_s) around it in which no segment starts or ends: the same segments,
    so the same answer, anywhere in it (a display asking every second reuses it)."""
    table = plan.table
    starts = table["start_s"]
    ends = starts + table["duration_s"]
    inside = (starts <= plan_s) & (plan_s < ends) & (table["step"] >= 0)
    names: list[str] = []
    for step in sorted(set(int(i) for i in table["step"][inside])):
        label = plan.step_label(step)
        name = label[label.rfind("(") + 1:-1] if label.endswith(")") else label
        if name not in names:
            names.append(name)
    before = np.concatenate((starts[starts <= plan_s], ends[ends <= plan_s]))
    after = np.concatenate((starts[starts > plan_s], ends[ends > plan_s]))
    return (" + ".join(names), float(before.max()) if before.size else -math.inf,
            float(after.min()) if after.size else math.inf)
