"""Load TOML files into pydantic models, turning every failure into named `Problem`s."""

from __future__ import annotations

import tomllib
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from massagectl.routines.errors import InvalidFileError, Problem

ModelT = TypeVar("ModelT", bound=BaseModel)

# A routine or profile is a few kilobytes; anything far larger is a mistake (a wrong path, a log
# file) and should not be parsed into memory.
MAX_FILE_BYTES = 1_000_000


def field_path(location: tuple[int | str, ...]) -> str:
    """Render a pydantic error location as `steps[2].pressure.kpa`."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        elif text:
            text += f".{part}"
        else:
            text = str(part)
    return text


def problems_from_validation(
    source: str, error: ValidationError, data: Any = None
) -> list[Problem]:
    """One `Problem` per pydantic error, with the field path and a plain message.

    With the validated `data` at hand, union plumbing in a location (the tag of a step kind) is
    recognised by not being a key of the data, so the path matches what the person wrote.
    """
    problems = []
    items = error.errors(include_url=False)
    # A container whose item failed may also report itself as too short; the item's own error
    # is the useful one, so drop errors located on a strict prefix of another error's location.
    locations = [tuple(item["loc"]) for item in items]
    for item in items:
        here = tuple(item["loc"])
        if any(len(other) > len(here) and other[: len(here)] == here for other in locations):
            continue
        # Skip pydantic's union/tag plumbing in the path (e.g. the tag name of a step kind),
        # so the path matches what the person wrote in the file.
        location = tuple(
            part
            for part in item["loc"]
            if not (isinstance(part, str) and (part.startswith("function-") or "[" in part))
        )
        if data is not None:
            location = _written_location(data, location, item["type"] == "missing")
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key; remove it or check its spelling"
        elif item["type"] in ("union_tag_invalid", "union_tag_not_found"):
            tag_field = str(item["ctx"]["discriminator"]).strip("'")
            location += (tag_field,)
            if item["type"] == "union_tag_invalid":
                message = (
                    f"unknown {tag_field} {item['ctx']['tag']!r}; "
                    f"use one of {item['ctx']['expected_tags']}"
                )
            else:
                message = f"missing; say which {tag_field} this is"
        elif message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        else:
            message = plain_message(item, location) or message
        problems.append(Problem(source, field_path(location), message))
    return problems


# A field's unit, from the suffix its name carries (`pressure_kpa`, `duration_s`).
UNIT_OF_SUFFIX = {"_kpa": "kPa", "_c": "°C", "_s": "s", "_ms": "ms", "_mm": "mm", "_pct": "%",
                  "_cpm": "cycles/min", "_hz": "Hz", "_min": "min", "_mm_s": "mm/s"}
IDENTIFIER_PATTERN = "^[a-z][a-z0-9_]{0,31}$"
_NUMBER_TYPES = {"int_parsing", "int_type", "int_from_float", "float_parsing", "float_type"}
# pydantic's bound errors: (the key of the bound in the error's context, how to say it).
_BOUNDS = {"less_than_equal": ("le", "{value} is above {bound}, the most allowed"),
           "less_than": ("lt", "{value} is too large: it must be below {bound}"),
           "greater_than_equal": ("ge", "{value} is below {bound}, the least allowed"),
           "greater_than": ("gt", "{value} is too small: it must be above {bound}")}


def unit_of(name: str) -> str:
    """The unit a field's name ends in, or "" (longest suffix first: `_mm_s` before `_s`)."""
    for suffix in sorted(UNIT_OF_SUFFIX, key=len, reverse=True):
        if name.endswith(suffix):
            return UNIT_OF_SUFFIX[suffix]
    return ""


def plain_message(item: Any, location: tuple[int | str, ...]) -> str | None:
    """pydantic's message for a bound or a name pattern, in the words of the file's author
    (with the unit), or None to keep pydantic's own."""
    name = next((part for part in reversed(location) if isinstance(part, str)), "")
    ctx = item.get("ctx") or {}
    if item["type"] in _BOUNDS:
        key, wording = _BOUNDS[item["type"]]
        unit = unit_of(name)
        written, limit = item.get("input"), ctx.get(key)
        if not isinstance(written, int | float) or not isinstance(limit, int | float):
            return None  # not a number (a bound on a length, say): pydantic's words will do
        value, bound = (f"{x:g} {unit}".rstrip() for x in (written, limit))
        if item["type"] == "less_than_equal" and name == "temperature_c":
            return (f"{value} is above {bound}, the most a routine may ask for; the safety "
                    "layer's heat cap ([limits.heat] cap_c in the config) is lower still")
        return wording.format(value=value, bound=bound)
    if item["type"] == "missing":
        return "required, and missing; add it"
    written = item.get("input")
    if item["type"] == "enum":
        return f"{written!r} is not one of {ctx.get('expected', 'the known names')}"
    if item["type"] in _NUMBER_TYPES:
        unit = unit_of(name)
        kind = "a whole number" if item["type"].startswith("int") else "a number"
        try:
            float(written)
        except (TypeError, ValueError):
            return f"{written!r} is not {kind}" + (f" of {unit}" if unit else "")
        if isinstance(written, str):
            return f"{written!r} is text in quotes; write the number without them"
        return f"{written!r} is not {kind}"
    if item["type"] == "string_pattern_mismatch" and ctx.get("pattern") == IDENTIFIER_PATTERN:
        return (f"{item.get('input')!r} is not a name massagectl accepts: lower-case letters, "
                "digits and _, starting with a letter, at most 32 characters (e.g. 'evening')")
    return None


def _written_location(
    data: Any, location: tuple[int | str, ...], missing: bool
) -> tuple[int | str, ...]:
    """Drop location parts that are not keys of the data (tags of a discriminated union); the
    last part of a `missing` error is the absent key itself and stays."""
    kept: list[int | str] = []
    node = data
    for position, part in enumerate(location):
        names_absent_key = missing and position == len(location) - 1
        found, child = _child(node, part)
        if found:
            node = child
        elif isinstance(node, dict) and isinstance(part, str) and not names_absent_key:
            continue  # a name pydantic added, not a key the file has
        else:
            node = None
        kept.append(part)
    return tuple(kept)


def _child(node: Any, part: int | str) -> tuple[bool, Any]:
    """(True, the item) if `part` is a key of a dict node or an index of a list node."""
    if isinstance(node, dict) and part in node:
        return True, node[part]
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return True, node[part]
    return False, None


def toml_names(folder: Traversable) -> list[str]:
    """Names of the TOML files shipped in a package folder (built-in devices, routines)."""
    names = (entry.name for entry in folder.iterdir())
    return sorted(name.removesuffix(".toml") for name in names if name.endswith(".toml"))


def names_a_file(name_or_path: str) -> bool:
    """Whether a name-or-path argument means a file: it ends in .toml or exists."""
    return name_or_path.endswith(".toml") or Path(name_or_path).exists()


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; syntax errors become an `InvalidFileError` naming the line."""
    source = str(path)
    try:
        size = path.stat().st_size
    except OSError as error:
        message = f"cannot read: {error.strerror}"
        raise InvalidFileError(source, [Problem(source, "", message)]) from None
    if path.is_dir():
        message = "a folder, not a TOML file; name a file in it"
        raise InvalidFileError(source, [Problem(source, "", message)])
    if size > MAX_FILE_BYTES:
        message = f"file is {size} bytes, larger than the {MAX_FILE_BYTES} bytes allowed"
        raise InvalidFileError(source, [Problem(source, "", message)])
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        message = f"TOML syntax error: {error}"
        raise InvalidFileError(source, [Problem(source, "", message)]) from None
    except RecursionError:
        # tomllib recurses per nested array or inline table; no file of ours nests that deep.
        message = "arrays or tables nested too deeply to read"
        raise InvalidFileError(source, [Problem(source, "", message)]) from None
    except UnicodeDecodeError as error:
        message = (f"not UTF-8 text (byte 0x{error.object[error.start]:02x} at position "
                   f"{error.start}); save the file as UTF-8")
        raise InvalidFileError(source, [Problem(source, "", message)]) from None
    except OSError as error:
        message = f"cannot read: {error.strerror or error}"
        raise InvalidFileError(source, [Problem(source, "", message)]) from None


def validate_data(source: str, data: dict[str, Any], model: type[ModelT], **context: Any) -> ModelT:
    """Validate parsed data against `model`; every failure is reported at once."""
    try:
        return model.model_validate(data, context=context or None)
    except ValidationError as error:
        raise InvalidFileError(source, problems_from_validation(source, error, data)) from None


def load_model(path: str | Path, model: type[ModelT], **context: Any) -> ModelT:
    """Read and validate a TOML file in one step."""
    path = Path(path)
    return validate_data(str(path), read_toml(path), model, **context)
