"""The owner's user profiles: who may sit in the chair, and what the chair learnt about them.

    users = UserFolder(folder, default_profile=config.session.user_profile)
    users.names()                  # ["default", "anna", ...]
    users.load("anna")             # a UserProfile, or InputError naming the file and field
    users.update("anna", change)   # rewritten atomically, the previous file kept as .old

Profiles live in the folder as NAME.toml; "default" is the config's user profile (or the
built-in default occupant, saved to the folder the first time something is learnt about it).
Files are read again at every session start, so a profile edited while the service runs is
used from the next session on, and one that became invalid is refused then, by name.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

from massagectl.controller.service.atomic import write_atomically
from massagectl.routines.errors import InputError
from massagectl.routines.user import DEFAULT_USER, UserProfile, load_user

DEFAULT_NAME = "default"


class UserFolder:
    def __init__(self, folder: Path, default_profile: Path | None = None) -> None:
        self.folder = folder
        self.default_profile = default_profile
        self._cache: dict[Path, tuple[int | None, UserProfile]] = {}

    def names(self) -> list[str]:
        found = sorted(p.stem for p in self.folder.glob("*.toml")) if self.folder.is_dir() else []
        return [DEFAULT_NAME, *(name for name in found if name != DEFAULT_NAME)]

    def path(self, name: str) -> Path | None:
        """The file `name` is read from; None for the built-in default occupant."""
        in_folder = self.folder / f"{name}.toml"
        if in_folder.exists() or name != DEFAULT_NAME:
            return in_folder
        return self.default_profile

    def load(self, name: str) -> UserProfile:
        """The profile as its file says now (read again only when the file changed)."""
        if name not in self.names():
            raise InputError(f"no user profile named {name!r}",
                             f"profiles: {', '.join(self.names())} (files in {self.folder})")
        path = self.path(name)
        if path is None:
            return DEFAULT_USER
        stamp = path.stat().st_mtime_ns if path.exists() else None
        cached = self._cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        profile = load_user(path)
        self._cache[path] = (stamp, profile)
        return profile

    def update(self, name: str, change: Callable[[UserProfile], UserProfile]) -> UserProfile:
        """Apply `change` to the profile and write it back atomically (the old file kept as
        NAME.toml.old). The default occupant without a file gets one in the folder."""
        profile = change(self.load(name))
        profile = UserProfile.model_validate(profile.model_dump(mode="json"))  # still valid
        path = self.path(name) or self.folder / f"{DEFAULT_NAME}.toml"
        write_atomically(path, profile_toml(profile), keep_old=True)
        return profile


def profile_toml(profile: UserProfile) -> str:
    """A user profile as TOML that `load_user` reads back to the same profile."""
    data = profile.model_dump(mode="json", exclude_defaults=True)
    data.setdefault("name", profile.name)
    lines: list[str] = []
    tables: list[tuple[str, dict]] = []
    arrays: list[tuple[str, list[dict]]] = []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append((key, value))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            arrays.append((key, value))
        else:
            lines.append(f"{key} = {_value(value)}")
    for key, table in tables:
        lines += ["", f"[{key}]"]
        nested = [(k, v) for k, v in table.items() if isinstance(v, dict)]
        lines += [f"{k} = {_value(v)}" for k, v in table.items() if not isinstance(v, dict)]
        for sub, values in nested:
            lines += ["", f"[{key}.{sub}]"] + [f"{k} = {_value(v)}" for k, v in values.items()]
    for key, rows in arrays:
        for row in rows:
            lines += ["", f"[[{key}]]"] + [f"{k} = {_value(v)}" for k, v in row.items()]
    return "\n".join(lines) + "\n"


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} cannot be written to a profile")
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to a profile")
