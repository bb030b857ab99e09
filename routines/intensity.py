"""Intensity levels 1..5: how the owner's setting scales depth, airbag pressure and tapping.

Values written in a routine file are what the occupant feels at level 3, the middle level and
the default `preferred_intensity`, so a routine's author writes what most people will feel.
Levels scale exactly the channels whose `ChannelKind.scaled_by_intensity` is true, and only
toward their safe default:

    output = safe_default + (value_at_level_5 - safe_default) * intensity_factor(level)

The compiler works at level 5 (the strongest the session may ever reach, which is what safety
admits) and scales down at the end; the board's SetIntensity scale does the same at run time, so
the plan at level 5 scaled by `intensity_factor(l) / intensity_factor(5)` is the plan at level l.
Nothing else (timing, positions, speeds, heat) changes with intensity.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from massagectl.routines.device import DeviceProfile

LEVELS = (1, 2, 3, 4, 5)
AS_WRITTEN_LEVEL = 3
# Even steps of 1/8 from half strength to full: level 1 is two thirds of what is written and
# level 5 four thirds, a range wide enough to notice each step on a remote with five levels.
_FACTORS = {level: Fraction(level + 3, 8) for level in LEVELS}


def intensity_factor(level: int) -> float:
    """Scale toward the safe default at `level`, relative to level 5 (factor(5) == 1.0)."""
    if level not in _FACTORS:
        raise ValueError(f"intensity level must be one of {LEVELS}, not {level!r}")
    return float(_FACTORS[level])


# Written values are at level 3; level 5 is this multiple of the written distance from safe.
_LEVEL_5_PER_WRITTEN = 1 / _FACTORS[AS_WRITTEN_LEVEL]
LEVEL_5_PER_WRITTEN = float(_LEVEL_5_PER_WRITTEN)


def at_level_5(written: float, safe_default: float) -> float:
    """The level-5 value of a value written in a routine (written values are at level 3)."""
    # Multiply then divide by the exact fraction, so 6 Hz becomes exactly 8 Hz, not 8 + 1 ulp.
    ratio = _LEVEL_5_PER_WRITTEN
    return safe_default + (written - safe_default) * ratio.numerator / ratio.denominator


def scale_table(table: np.ndarray, device: DeviceProfile, level: int) -> np.ndarray:
    """A copy of a level-5 segment table with intensity-scaled channels brought to `level`."""
    factor = intensity_factor(level)
    scaled = table.copy()
    if factor == 1.0:
        return scaled
    for index, channel in enumerate(device.channels):
        if not channel.kind.scaled_by_intensity or channel.safe_default is None:
            continue
        rows = scaled["channel"] == index
        safe = channel.safe_default
        for column in ("start_value", "end_value"):
            scaled[column][rows] = safe + (scaled[column][rows] - safe) * factor
        scaled["amplitude"][rows] *= factor
    return scaled
