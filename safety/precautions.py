"""Health precautions as rules: which kinds of work each one forbids or caps, on which zones.

From the seed article: pregnancy, deep vein thrombosis, osteoporosis, cancer, injuries and recent
surgery call for medical advice and modified or avoided techniques and areas. Every
`routines.user.Precaution` must have a rule here; a precaution without one is refused by
`check_user_limits`, never ignored. Injury zones are not a precaution rule: every channel on an
injured zone is held at its safe default (see `safety.channel_limits`).

A rule's zones are body zones. For the roller (whose channels name no zone) a zone rule applies
while the carriage is on that zone of the back (`safety.body_map`).
"""

from __future__ import annotations

from dataclasses import dataclass

from massagectl.routines.device import ChannelKind, Zone
from massagectl.routines.user import Precaution

K = ChannelKind


@dataclass(frozen=True)
class WorkRule:
    """Caps one or more kinds of work on some zones (None: everywhere).

    `cap` is an absolute value in the kind's unit; `cap_fraction` keeps that fraction of the
    span between safe default and the cap that applies otherwise; neither means forbidden (the
    channel is held at its safe default there).
    """

    kinds: frozenset[ChannelKind]
    zones: frozenset[Zone] | None
    reason: str
    cap: float | None = None
    cap_fraction: float | None = None

    @property
    def forbids(self) -> bool:
        return self.cap is None and self.cap_fraction is None


@dataclass(frozen=True)
class PrecautionRule:
    precaution: Precaution
    rules: tuple[WorkRule, ...] = ()
    needs_clearance: bool = False  # refuse any plan unless the profile records a doctor's clearance


def _rule(kinds, zones, reason, cap=None, cap_fraction=None) -> WorkRule:
    return WorkRule(frozenset(kinds), None if zones is None else frozenset(zones), reason, cap,
                    cap_fraction)


SCALED_KINDS = (K.AIRBAG, K.DEPTH, K.TAP)

PRECAUTION_RULES: dict[Precaution, PrecautionRule] = {
    Precaution.PREGNANCY: PrecautionRule(
        Precaution.PREGNANCY,
        (
            _rule([K.HEAT], [Zone.LOWER_BACK, Zone.SEAT],
                  "pregnancy: no heat on the lower back or abdomen"),
            _rule([K.AIRBAG, K.TAP], [Zone.LOWER_BACK],
                  "pregnancy: no strong pressure on the lower back"),
            _rule([K.DEPTH], [Zone.LOWER_BACK],
                  "pregnancy: only light roller pressure on the lower back", cap=5.0),
            # Levels 1-5 scale pressure, depth and tapping; 0.6 is about level 3 of 5.
            _rule(SCALED_KINDS, None, "pregnancy: intensity capped at about level 3",
                  cap_fraction=0.6),
        ),
    ),
    Precaution.DVT: PrecautionRule(
        Precaution.DVT,
        (
            _rule([K.AIRBAG, K.KNEAD, K.TAP, K.DEPTH], [Zone.CALVES, Zone.FEET],
                  "deep vein thrombosis: no compression or kneading of calves and feet, "
                  "which can dislodge a clot"),
        ),
    ),
    Precaution.OSTEOPOROSIS: PrecautionRule(
        Precaution.OSTEOPOROSIS,
        (
            _rule([K.TAP], None, "osteoporosis: no percussion (fragile vertebrae and ribs)"),
            _rule([K.AIRBAG], None, "osteoporosis: airbag pressure halved", cap_fraction=0.5),
            _rule([K.DEPTH], None, "osteoporosis: roller depth at most 10 mm", cap=10.0),
        ),
    ),
    Precaution.CANCER: PrecautionRule(Precaution.CANCER, needs_clearance=True),
}

CLEARANCE_REASON = (
    "massage with {precaution} needs a doctor's clearance; record it in the user profile "
    "(medical_clearance = true) once given"
)
