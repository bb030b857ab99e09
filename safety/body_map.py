"""Which back zone the roller is on: the zone bands along the back, mapped to track millimetres.

The roller's channels (depth, knead, tap) name no zone; the zone follows from where the carriage
is. Positions along the back are relative to the occupant (0 % = shoulder line, 100 % = top of
the hips), mapped to height above the seat by the user's body map
(`UserProfile.height_above_seat_mm`), then to track millimetres by the device's track base.
"""

from __future__ import annotations

import math

import numpy as np

from massagectl.routines.body import BACK_BANDS_PCT
from massagectl.routines.device import DeviceProfile, Zone
from massagectl.routines.user import UserProfile

# The bands are the compiler's (routines.body.BACK_BANDS_PCT: shoulder girdle, shoulder blades,
# lower thoracic spine, lumbar spine, in % of the shoulder-line-to-hips length), so "the lower
# back" means the same stretch to a routine and to a precaution. Here the outermost bands are
# open-ended, because the carriage can go beyond them: above the top of the neck band it still
# presses on the neck and head, and below the hips it presses on the sacrum and pelvis, which
# counts as lower back, where the lower-back precautions (pregnancy) matter most.
_ORDERED = sorted(BACK_BANDS_PCT.items(), key=lambda item: item[1][0])
BACK_ZONE_BANDS_PCT: tuple[tuple[Zone, float, float], ...] = tuple(
    (zone, -math.inf if index == 0 else top,
     math.inf if index == len(_ORDERED) - 1 else bottom)
    for index, (zone, (top, bottom)) in enumerate(_ORDERED)
)

# A roller head presses an area some 50-60 mm tall, and a body scan places the shoulder line
# within about 10 mm: a head centred up to 30 mm outside a band still presses on it, so every
# band is widened by this much when deciding whether the roller is on a zone.
ZONE_MARGIN_MM = 30.0


class BackZoneMap:
    """Track-millimetre bands of the back zones for one occupant on one device."""

    def __init__(
        self, device: DeviceProfile, user: UserProfile, margin_mm: float = ZONE_MARGIN_MM
    ) -> None:
        if device.track is None:
            raise ValueError(f"device {device.name!r} has no roller track")
        base_mm = device.track.base_above_seat_mm
        self.margin_mm = margin_mm
        self.bands_mm: dict[Zone, tuple[float, float]] = {}
        for zone, top_pct, bottom_pct in BACK_ZONE_BANDS_PCT:
            low_mm = _track_mm(user, bottom_pct, base_mm) - margin_mm
            high_mm = _track_mm(user, top_pct, base_mm) + margin_mm
            self.bands_mm[zone] = (low_mm, high_mm)

    def zones_touching(self, low_mm: float, high_mm: float) -> frozenset[Zone]:
        """Zones a roller between `low_mm` and `high_mm` presses on (NaN: any zone)."""
        if math.isnan(low_mm) or math.isnan(high_mm):
            return frozenset(self.bands_mm)
        return frozenset(
            zone
            for zone, (band_low, band_high) in self.bands_mm.items()
            if high_mm >= band_low and low_mm <= band_high
        )

    def touching_masks(self, low_mm: np.ndarray, high_mm: np.ndarray) -> dict[Zone, np.ndarray]:
        """`zones_touching` for arrays of ranges: one boolean array per zone."""
        unknown = np.isnan(low_mm) | np.isnan(high_mm)
        return {
            zone: unknown | ((high_mm >= band_low) & (low_mm <= band_high))
            for zone, (band_low, band_high) in self.bands_mm.items()
        }


def _track_mm(user: UserProfile, position_pct: float, base_mm: float) -> float:
    if math.isinf(position_pct):
        # Beyond the last band edge the band is open-ended.
        return -math.inf if position_pct > 0 else math.inf
    return user.height_above_seat_mm(position_pct) - base_mm
