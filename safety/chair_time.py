"""Time on the chair of one session: its timer, and the heat on-time and dose it has spent.

A session's time limits count what the person in the chair lives through, not what one plan
says. Time on the chair runs from the session's first segment to its end, the body scan and
every ramp back in after a pause included; only a pause (the board safe) stops the clock, and
nothing a person presses resets or extends it:

    plans:  |scan|------ routine ------|   pause   |ramp|-- rest --|  pause  |ramp|--
    chair:  |=========================|           |===============|         |=====  -> timer

Heat on-time and planned thermal dose (as the segment guard counts them) belong to the session
too: every plan the session runs (the scan, the routine, each rest of it after a pause) is
checked against what the session has already spent, at admission (`less_spent`) and in the
segment guard, which adds to the same `HeatSpent` records.

    chair = ChairTime(auto_off_s=600.0)
    chair.run(host_s)             # the board works: the first plan begins, or a resume's ramp
    chair.halt(host_s)            # a pause or the end: the board is made safe
    chair.on_chair_s(host_s)      # time on the chair so far
    chair.deadline_s()            # host time the timer runs out (inf while halted)
    chair.heat[channel_index]     # HeatSpent(on_s, dose) of one heat channel (a cool
                                  # channel's application time is its on_s)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from massagectl.safety.channel_limits import PlanLimits


@dataclass(slots=True)
class HeatSpent:
    """What one heat channel has used of its budgets: seconds on, and planned burn fraction."""

    on_s: float = 0.0
    dose: float = 0.0


@dataclass
class ChairTime:
    """See the module docstring. Host seconds throughout."""

    auto_off_s: float  # the session timer
    heat: dict[int, HeatSpent] = field(default_factory=dict)  # by channel index
    _before_s: float = 0.0  # time on the chair of the runs that ended
    _since_s: float | None = None  # host time the current run began (None: halted)

    def run(self, host_s: float) -> None:
        """The board works from `host_s` on (a second call while running changes nothing)."""
        if self._since_s is None:
            self._since_s = host_s

    def halt(self, host_s: float) -> None:
        """The board is made safe at `host_s`: the clock stands still until `run`."""
        if self._since_s is not None:
            # A time read before the run began (an earlier reading of the clock) adds nothing;
            # it never takes time off either.
            self._before_s += max(0.0, host_s - self._since_s)
            self._since_s = None

    def on_chair_s(self, host_s: float) -> float:
        if self._since_s is None:
            return self._before_s
        return self._before_s + max(0.0, host_s - self._since_s)

    def deadline_s(self) -> float:
        """Host time at which the session timer runs out, if the board works on (inf while
        halted: a paused chair does nothing the timer must end)."""
        if self._since_s is None:
            return math.inf
        return self._since_s + max(0.0, self.auto_off_s - self._before_s)


def less_spent(limits: PlanLimits, spent: Mapping[int, HeatSpent]) -> PlanLimits:
    """`limits` with each heat channel's budgets (and each cool channel's application time)
    lowered by what was already spent (never below 0): a plan judged under them fits in what
    the session has left."""
    channels = list(limits.channels)
    for index, used in spent.items():
        cold = channels[index].cold
        if cold is not None:
            left_cold = dataclasses.replace(cold, max_on_s=max(0.0, cold.max_on_s - used.on_s))
            channels[index] = dataclasses.replace(channels[index], cold=left_cold)
        budget = channels[index].heat
        if budget is None:
            continue
        left = dataclasses.replace(budget, max_on_s=max(0.0, budget.max_on_s - used.on_s),
                                   dose_budget=max(0.0, budget.dose_budget - used.dose))
        channels[index] = dataclasses.replace(channels[index], heat=left)
    return dataclasses.replace(limits, channels=tuple(channels))
