"""The person in the chair: whether someone sits, and where the roller heads touch their back.

The contact profile along the track is what a body scan reads through the roller load: firm
contact along the back (a little less in the hollow of the lumbar curve), falling off over a few
tens of millimetres around the shoulder line to the light touch of the neck. Its midpoint is the
shoulder line, which is what a scan estimates.
"""

from __future__ import annotations

import math

from massagectl.routines.user import DEFAULT_USER

# Width of the fall-off at the shoulders: the logistic scale, so 10 %..90 % spans 4.4 x this
# (~35 mm): the shoulder blades and trapezius round off over a few centimetres.
SHOULDER_EDGE_MM = 8.0
# Above the shoulder line the heads only brush the neck.
NECK_CONTACT = 0.15
# The lumbar lordosis: the back curves away from the backrest about three quarters of the way
# down from the shoulders, so contact is a little weaker there.
LUMBAR_DIP = 0.2
LUMBAR_FRACTION_OF_BACK = 0.75
LUMBAR_WIDTH_MM = 60.0
# The shoulder blades stand out from the back just below the shoulder line, so the heads press
# harder there: a bump that a scan must not mistake for the shoulders.
SCAPULA_BUMP = 0.2
SCAPULA_BELOW_SHOULDER_MM = 90.0
SCAPULA_WIDTH_MM = 40.0
# A back's soft tissue gives about 10 mm under 60 N.
BACK_STIFFNESS_N_PER_MM = 6.0
# A pad's nodes press on the back with the person's leaning weight, not a depth drive.
PAD_LEAN_FORCE_N = 40.0


class Occupant:
    """Presence and the back's contact profile; change them freely from tests."""

    def __init__(
        self,
        shoulder_height_mm: float = DEFAULT_USER.shoulder_height_mm,
        back_length_mm: float = DEFAULT_USER.back_length_mm,
        present: bool = True,
    ) -> None:
        self.shoulder_height_mm = shoulder_height_mm
        self.back_length_mm = back_length_mm
        self.present = present

    def contact(self, height_mm: float) -> float:
        """How firmly a roller head at `height_mm` above the seat touches the body (1: a flat
        stretch of back; 0: no contact)."""
        if not self.present:
            return 0.0
        lumbar_mm = self.shoulder_height_mm - LUMBAR_FRACTION_OF_BACK * self.back_length_mm
        hollow = LUMBAR_DIP * math.exp(-(((height_mm - lumbar_mm) / LUMBAR_WIDTH_MM) ** 2))
        scapula_mm = self.shoulder_height_mm - SCAPULA_BELOW_SHOULDER_MM
        blades = SCAPULA_BUMP * math.exp(-(((height_mm - scapula_mm) / SCAPULA_WIDTH_MM) ** 2))
        back = 1.0 - hollow + blades
        exponent = (height_mm - self.shoulder_height_mm) / SHOULDER_EDGE_MM
        above = 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, exponent))))
        return back * (1.0 - above) + NECK_CONTACT * above

    def roller_force_n(self, height_mm: float, depth_mm: float) -> float:
        """Force between the roller heads and the back, for heads protruding `depth_mm`."""
        return BACK_STIFFNESS_N_PER_MM * max(0.0, depth_mm) * self.contact(height_mm)

    def lean_force_n(self, height_mm: float) -> float:
        """Force on a pad's nodes, which have no depth drive."""
        return PAD_LEAN_FORCE_N * self.contact(height_mm)
