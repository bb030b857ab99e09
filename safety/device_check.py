"""Device profiles against the absolute ceilings: a profile that reaches past one is refused.

    load_checked_device("chair")          # a built-in name or a file; raises InvalidFileError
    ceiling_problems(device, "my.toml")   # the same check on a loaded profile

Refused, not clamped: the hard range is also what the board itself clamps to (hardware.md), so
a profile above a ceiling describes a board whose own protection stops too late. Clamping in the
host would hide that; only a corrected profile (or board) fixes it.
"""

from __future__ import annotations

from pathlib import Path

from massagectl.routines.device import DeviceProfile, load_device
from massagectl.routines.errors import InvalidFileError, Problem
from massagectl.safety.limits import CEILINGS


def ceiling_problems(device: DeviceProfile, source: str) -> list[Problem]:
    """Every channel field of `device` that passes its kind's ceiling, named as in the file."""
    found = []
    for index, channel in enumerate(device.channels):
        ceiling = CEILINGS.get(channel.kind)
        if ceiling is None:
            continue
        field = f"channels[{index}]"
        unit = channel.unit
        if ceiling.value is not None and channel.max > ceiling.value:
            found.append(Problem(source, f"{field}.max", f"{channel.max:g} {unit} on "
                                 f"{channel.id!r} is above the absolute ceiling of "
                                 f"{ceiling.value:g} {unit} for {channel.kind} channels "
                                 f"({ceiling.value_reason}); lower it"))
        if ceiling.rate_per_s is not None and channel.max_rate_per_s > ceiling.rate_per_s:
            found.append(Problem(source, f"{field}.max_rate_per_s", f"{channel.max_rate_per_s:g} "
                                 f"{unit}/s on {channel.id!r} is above the absolute ceiling of "
                                 f"{ceiling.rate_per_s:g} {unit}/s for {channel.kind} "
                                 f"channels ({ceiling.rate_reason}); lower it"))
    return found


def load_checked_device(name_or_path: str | Path) -> DeviceProfile:
    """`routines.device.load_device`, then refused if any channel passes a ceiling."""
    device = load_device(name_or_path)
    problems = ceiling_problems(device, str(name_or_path))
    if problems:
        raise InvalidFileError(name_or_path, problems)
    return device
