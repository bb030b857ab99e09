"""The occupant's back in relative terms: zone bands, common trigger points, and track mm.

Routines place the roller relative to the body (0 % = shoulder line, 100 % = top of the hips,
negative = up the neck) so one routine fits every occupant. The user profile turns a percentage
into mm above the seat; the device's track geometry turns that into roller track mm.
"""

from __future__ import annotations

from dataclasses import dataclass

from massagectl.routines.device import Channel, ChannelKind, DeviceProfile, Zone
from massagectl.routines.user import UserProfile

# Bands of the back per zone, in % of the back length from the shoulder line. The shoulder
# girdle spans the top sixth of the back, the scapulae end near 40 % (thoracic vertebra 7),
# the lumbar spine begins near 70 %. The neck, from the shoulder line to the base of the skull,
# measures about a quarter of the back length in adults. Admission and the compiler both read
# these so "roller work on the lower back" means one thing everywhere.
BACK_BANDS_PCT: dict[Zone, tuple[float, float]] = {
    Zone.NECK: (-25.0, 0.0),
    Zone.SHOULDERS: (0.0, 15.0),
    Zone.UPPER_BACK: (15.0, 40.0),
    Zone.MID_BACK: (40.0, 70.0),
    Zone.LOWER_BACK: (70.0, 100.0),
}

# Where common myofascial trigger points lie along the back, in % (approximate landmarks from
# the trigger point charts therapists use). A user profile's own points of the same name win,
# because tender spots differ from person to person.
STANDARD_TRIGGER_POINTS_PCT: dict[str, float] = {
    "levator_scapulae": -8.0,  # base of the neck, above the shoulder blade's upper corner
    "upper_trapezius": -3.0,  # top of the shoulder, where tension headaches start
    "mid_trapezius": 12.0,  # between the spine and the top of the shoulder blades
    "rhomboid": 24.0,  # between the shoulder blades
    "thoracic_erector": 50.0,  # mid back, beside the spine
    "lumbar_erector": 80.0,  # lower back, beside the spine
    "quadratus_lumborum": 90.0,  # just above the hips, the classic low-back pain point
}


def trigger_point_pct(name: str, user: UserProfile) -> float | None:
    """A trigger point by name: the user's own if defined, else the standard chart's."""
    point = user.trigger_point(name)
    if point is not None:
        return point.position_pct
    return STANDARD_TRIGGER_POINTS_PCT.get(name)


def known_trigger_points(user: UserProfile) -> list[str]:
    return sorted(set(STANDARD_TRIGGER_POINTS_PCT) | {p.name for p in user.trigger_points})


@dataclass(frozen=True)
class TrackPosition:
    """A body position mapped to the roller track; `clamped` when beyond the track's reach."""

    track_mm: float
    wanted_mm: float

    @property
    def clamped(self) -> bool:
        return self.track_mm != self.wanted_mm


@dataclass(frozen=True)
class TrackMap:
    """Maps relative back positions of one occupant to track mm on one device."""

    user: UserProfile
    base_above_seat_mm: float
    position: Channel

    @classmethod
    def for_device(cls, device: DeviceProfile, user: UserProfile) -> TrackMap | None:
        """None when the device has no roller."""
        positions = device.channels_of(ChannelKind.POSITION)
        if not positions or device.track is None:
            return None
        return cls(user, device.track.base_above_seat_mm, positions[0])

    def locate(self, position_pct: float) -> TrackPosition:
        """Track mm for a body position. Beyond the track's reach the nearest end is used (the
        roller cannot go further); `clamped` tells the caller to say so."""
        wanted_mm = self.user.height_above_seat_mm(position_pct) - self.base_above_seat_mm
        return TrackPosition(min(max(wanted_mm, self.position.min), self.position.max), wanted_mm)

    def reach_pct(self) -> tuple[float, float]:
        """The body positions (top, bottom) the track reaches for this occupant, in %."""
        def pct(track_mm: float) -> float:
            above_seat_mm = track_mm + self.base_above_seat_mm
            return (self.user.shoulder_height_mm - above_seat_mm) / self.user.back_length_mm * 100

        return pct(self.position.max), pct(self.position.min)
