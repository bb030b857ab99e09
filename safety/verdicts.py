"""What admission answers: an admitted plan with every change it made, or a refusal with reasons."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from massagectl.routines.device import Zone
from massagectl.routines.errors import RefusedError
from massagectl.routines.plan import Plan
from massagectl.safety.channel_limits import PlanLimits


class ViolationKind(StrEnum):
    DEVICE = "device"  # compiled for another device, or a device past an absolute ceiling
    PROFILE = "profile"  # the owner's caps or the user profile do not fit this device
    MALFORMED = "malformed"  # the plan breaks its own invariants (routines.plan)
    CLEARANCE = "clearance"  # a precaution that needs a doctor's clearance
    SESSION = "session"  # longer than the session cap
    HARD_RANGE = "hard_range"  # beyond the device's hard range
    ABOVE_CAP = "above_cap"  # above a cap (owner, user, precaution, injury)
    BELOW_FLOOR = "below_floor"  # below the lowest allowed value
    RATE = "rate"  # changes faster than the channel may
    RISE = "rise"  # inflates or presses faster than allowed
    JUMP = "jump"  # rises at once at a segment boundary
    HOLD = "hold"  # held above the occlusion-risk pressure too long
    HEAT_TIME = "heat_time"  # heat on longer than the heat timeout
    THERMAL_DOSE = "thermal_dose"  # heat beyond the thermal-dose budget
    COLD_TIME = "cold_time"  # a zone cooled longer than one cold application
    HEAT_AND_COLD = "heat_and_cold"  # one zone heated and cooled at once


@dataclass(frozen=True)
class Violation:
    """One reason a plan (or an outgoing segment) is refused; `str()` is one readable line."""

    kind: ViolationKind
    step: str  # the plan's step label, or "plan" for the whole plan
    reason: str
    channel: str | None = None
    zone: Zone | None = None
    time_s: float | None = None  # plan seconds
    value: float | None = None
    limit: float | None = None
    unit: str = ""

    def __str__(self) -> str:
        where = self.step if self.time_s is None else f"{self.step} at {self.time_s:.1f} s"
        what = _describe(self)
        return f"{where}: {what} ({self.reason})" if what else f"{where}: {self.reason}"


def _describe(v: Violation) -> str:
    subject = v.channel or ""
    if v.channel and v.zone is not None:
        subject = f"{v.channel} on {v.zone}"
    unit = f" {v.unit}" if v.unit else ""
    value, limit = v.value, v.limit
    if value is None or limit is None:
        return ""  # a violation without figures is said by its reason alone
    match v.kind:
        case ViolationKind.HARD_RANGE | ViolationKind.ABOVE_CAP if value >= limit:
            return f"{subject} reaches {value:g}{unit}, above the limit of {limit:g}{unit}"
        case ViolationKind.HARD_RANGE | ViolationKind.BELOW_FLOOR:
            return f"{subject} goes down to {value:g}{unit}, below the limit of {limit:g}{unit}"
        case ViolationKind.RATE:
            return f"{subject} changes at {value:g}{unit}/s, faster than {limit:g}{unit}/s"
        case ViolationKind.RISE:
            return f"{subject} rises at {value:g}{unit}/s, faster than {limit:g}{unit}/s"
        case ViolationKind.JUMP:
            return f"{subject} rises by {value:g}{unit} at once; it may rise at most " \
                   f"{limit:g}{unit}/s"
        case ViolationKind.HOLD:
            return f"{subject} stays high for {value:g} s, longer than {limit:g} s"
        case ViolationKind.HEAT_TIME:
            return f"{subject} heats for {value / 60:.1f} min, longer than {limit / 60:g} min"
        case ViolationKind.THERMAL_DOSE:
            return f"{subject} reaches {value:.1%} of a burn dose, above the {limit:.0%} budget"
        case ViolationKind.COLD_TIME:
            return f"{subject} cools for {value / 60:.1f} min, longer than {limit / 60:g} min"
        case ViolationKind.SESSION:
            return f"lasts {value / 60:.1f} min, longer than the {limit / 60:g} min session cap"
    return ""


# Violations `adapt` rewrites away by lowering values or ending work; the rest it cannot fix
# without re-timing the plan, so it refuses them as `refuse` does.
ADAPTABLE = frozenset({
    ViolationKind.ABOVE_CAP, ViolationKind.BELOW_FLOOR, ViolationKind.RISE, ViolationKind.HOLD,
    ViolationKind.HEAT_TIME, ViolationKind.THERMAL_DOSE,
})


@dataclass(frozen=True)
class Change:
    """One rewrite admission made: where, what it was, what it is now, and why."""

    step: str
    channel: str
    start_s: float
    end_s: float
    before: str
    after: str
    why: str

    def __str__(self) -> str:
        return (f"{self.step}, {self.start_s:.1f}-{self.end_s:.1f} s: {self.channel} "
                f"{self.before} -> {self.after} ({self.why})")


Mode = Literal["refuse", "adapt"]


@dataclass(frozen=True)
class AdmittedPlan:
    """A plan that passed admission, the limits it passed under, and what admission changed."""

    plan: Plan  # the plan to run (rewritten where `changes` says so)
    limits: PlanLimits
    mode: Mode
    changes: tuple[Change, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def auto_off_s(self) -> float:
        return self.limits.auto_off_s

    def report(self) -> str:
        lines = [f"routine {self.plan.routine!r} admitted ({self.mode} mode)"]
        lines += [f"  changed: {change}" for change in self.changes]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)


@dataclass(frozen=True)
class Refusal:
    """A plan that must not run, with every violation found."""

    routine: str
    mode: Mode
    violations: tuple[Violation, ...]
    changes: tuple[Change, ...] = ()  # what `adapt` tried before it still found violations
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        lines = [f"routine {self.routine!r} refused:"]
        lines += [f"  - {violation}" for violation in self.violations]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def error(self) -> RefusedError:
        return RefusedError(list(self.violations))
