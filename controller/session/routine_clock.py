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

from dataclasses import dataclass

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
