"""The built-in routines (routines/library/<name>.toml) and the name-or-path resolver."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from massagectl.routines.device import builtin_device_names, close_matches, load_device
from massagectl.routines.errors import UnknownNameError
from massagectl.routines.loading import names_a_file, toml_names
from massagectl.routines.routine import Routine, load_routine
from massagectl.routines.routine_check import check_routine

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
        fits = tuple(
            device for device in builtin_device_names()
            if not check_routine(routine, load_device(device))
        )
        entries.append(LibraryEntry(name, routine.description, routine.duration_s,
                                    tuple(routine.techniques), fits))
    return entries
