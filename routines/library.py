"""The built-in routines (routines/library/<name>.toml) and the name-or-path resolver."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from massagectl.routines.device import (
    DeviceProfile,
    builtin_device_names,
    close_matches,
    load_device,
)
from massagectl.routines.errors import InputError, UnknownNameError
from massagectl.routines.loading import names_a_file, toml_names
from massagectl.routines.routine import Routine, load_routine
from massagectl.routines.routine_check import check_routine, zone_channels
from massagectl.routines.steps import Cool, Heat, Press
from massagectl.routines.user import UserProfile

BUILTIN_ROUTINE_DIR = resources.files("massagectl.routines") / "library"


def builtin_routine_names() -> list[str]:
    return toml_names(BUILTIN_ROUTINE_DIR)


@cache
def load_builtin(name: str) -> Routine:
    """A built-in routine by name; UnknownNameError with close matches otherwise."""
    known = builtin_routine_names()
    if name not in known:
        raise UnknownNameError("routine", name, close_matches(name, known), known)
    with resources.as_file(BUILTIN_ROUTINE_DIR / f"{name}.toml") as path:
        return load_routine(path)


def resolve_routine(name_or_path: str | Path) -> Routine:
    """A built-in routine by name, or a routine file by path (anything ending in .toml or
    naming an existing file)."""
    text = str(name_or_path)
    if text in builtin_routine_names():
        return load_builtin(text)
    if names_a_file(text):
        return load_routine(Path(text))
    known = builtin_routine_names()
    raise UnknownNameError("routine", text, close_matches(text, known), known)


def builtin_routine_text(name: str) -> str:
    """A built-in routine's file, as shipped: a template to copy and change."""
    known = builtin_routine_names()
    if name not in known:
        raise UnknownNameError("routine", name, close_matches(name, known), known)
    return (BUILTIN_ROUTINE_DIR / f"{name}.toml").read_text(encoding="utf-8")


def builtin_routine_file(name: str) -> AbstractContextManager[Path]:
    """The built-in routine's file on disk, for as long as the context lasts."""
    return resources.as_file(BUILTIN_ROUTINE_DIR / f"{name}.toml")


@dataclass(frozen=True)
class LibraryEntry:
    """What `massagectl routines` lists about a built-in routine."""

    name: str
    description: str
    duration_s: float
    techniques: tuple[str, ...]
    devices: tuple[str, ...]  # built-in devices it runs on (with the default occupant)


def library_entries() -> list[LibraryEntry]:
    entries = []
    for name in builtin_routine_names():
        routine = load_builtin(name)
        entries.append(LibraryEntry(name, routine.description, routine.duration_s,
                                    tuple(routine.techniques), builtin_devices_for(routine)))
    return entries


def builtin_devices_for(routine: Routine) -> tuple[str, ...]:
    """The built-in devices a routine runs on (with the default occupant)."""
    return tuple(device for device in builtin_device_names()
                 if not check_routine(routine, load_device(device)))


def refuse_builtin_misfit(name: str, device: DeviceProfile, user: UserProfile) -> None:
    """A built-in routine on a device it was not made for: say so, and name the built-in
    routines that fit, instead of asking the owner to edit a library file (`optional = true`).
    Routine files and routines that fit pass silently; the compiler checks them as usual."""
    if name not in builtin_routine_names():
        return
    routine = load_builtin(name)
    if not check_routine(routine, device, user):
        return
    missing: dict[str, list[str]] = {}
    for _, step in routine.leaves():
        if not isinstance(step, (Press, Heat, Cool)):
            continue  # the roller's steps fit every built-in device
        for zone, channels in zone_channels(device, step).items():
            what = "airbag" if isinstance(step, Press) else step.kind
            if not channels and not step.optional and zone.value not in missing.get(what, []):
                missing.setdefault(what, []).append(zone.value)
    made_for = " and the ".join(builtin_devices_for(routine)) or "another device"
    lacks = " and ".join(f"no {what} in {_listed(zones)}" for what, zones in missing.items())
    fitting = [entry.name for entry in library_entries() if device.name in entry.devices]
    hint = (f"routines made for the {device.name}: {', '.join(fitting)}" if fitting
            else f"no built-in routine fits the {device.name}")
    raise InputError(f"routine {name!r} is made for the {made_for}"
                     + (f"; the {device.name} has {lacks}" if lacks else ""), hint)


def _listed(names: list[str]) -> str:
    """a, b or c"""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
