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
    # A key that is not allowed (an unknown zone, say) is the problem; what its value lacks is
    # not worth a line of its own.
    bad_keys = [location[:-1] for location in locations if location[-1:] == ("[key]",)]
    for item in items:
        here = tuple(item["loc"])
        if any(len(other) > len(here) and other[: len(here)] == here for other in locations):
            continue
        if any(here[: len(key)] == key and here[len(key):] != ("[key]",) for key in bad_keys):
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
# Name patterns other than IDENTIFIER_PATTERN, said in words (the config's MQTT names).
PATTERN_WORDS = {
    "^[a-zA-Z0-9_-]{1,64}$": "letters, digits, _ and -, at most 64 of them",
    "^[^#+]{1,128}$": "at most 128 characters, without the MQTT wildcards # and +",
}
_TABLE_TYPES = {"model_type", "model_attributes_type", "dict_type"}
_LIST_TYPES = {"list_type", "tuple_type", "set_type", "frozen_set_type"}
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
    # The unit of the nearest name that has one: `pressure_kpa.calves` is in kPa.
    unit = next((found for part in reversed(location)
                 if isinstance(part, str) and (found := unit_of(part))), "")
    ctx = item.get("ctx") or {}
    if item["type"] in _BOUNDS:
        key, wording = _BOUNDS[item["type"]]
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
        return f"{_shown(written)} is not one of {ctx.get('expected', 'the known names')}"
    if item["type"] in _NUMBER_TYPES:
        kind = "a whole number" if item["type"].startswith("int") else "a number"
        try:
            float(written)
        except (TypeError, ValueError):
            return f"{_shown(written)} is not {kind}" + (f" of {unit}" if unit else "")
        if isinstance(written, str):
            return f"{written!r} is text in quotes; write the number without them"
        return f"{_shown(written)} is not {kind}"
    if item["type"] == "string_pattern_mismatch" and ctx.get("pattern") == IDENTIFIER_PATTERN:
        return (f"{item.get('input')!r} is not a name massagectl accepts: lower-case letters, "
                "digits and _, starting with a letter, at most 32 characters (e.g. 'evening')")
    return _kind_message(item["type"], _shown(written), ctx, location, name, unit)


def _kind_message(kind: str, shown: str, ctx: dict[str, Any], location: tuple[int | str, ...],
                  name: str, unit: str) -> str | None:
    """A value of the wrong kind or size, said in TOML's terms; None: pydantic's words."""
    if kind in _TABLE_TYPES:
        header = ".".join(part for part in location if isinstance(part, str))
        header = f"[[{header}]]" if location and isinstance(location[-1], int) else f"[{header}]"
        return f"{shown} is not a table; write {header} with its keys on the lines below it"
    if kind in _LIST_TYPES:
        return f"{shown} is not a list; write the items in brackets: {name} = [..., ...]"
    if kind in ("bool_type", "bool_parsing"):
        return f"{shown} is not true or false; write true or false, without quotes"
    if kind == "string_type":
        return f"{shown} is not text; write it in double quotes"
    if kind == "path_type":
        return f"{shown} is not a path; write it in double quotes"
    if kind == "finite_number":
        return f"{shown} is not a finite number; write a number" + (f" of {unit}" if unit else "")
    if kind == "literal_error":
        return f"{shown} is not one of {ctx.get('expected', 'the values allowed')}"
    if kind == "string_too_short":
        return "is empty; write at least one character" if ctx.get("min_length") == 1 \
            else f"is shorter than {ctx.get('min_length')} characters; write more"
    if kind == "string_too_long":
        return f"is longer than the {ctx.get('max_length')} characters allowed; shorten it"
    if kind == "too_short":
        return (f"has {_items(ctx.get('actual_length'))}; give at least "
                f"{_items(ctx.get('min_length'))}")
    if kind == "too_long":
        return (f"has {_items(ctx.get('actual_length'))}; at most {ctx.get('max_length')} "
                "are allowed")
    if kind == "multiple_of":
        return f"{shown} is not a multiple of {ctx.get('multiple_of')}"
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in PATTERN_WORDS:
        return f"{shown} is not allowed here: {PATTERN_WORDS[ctx['pattern']]}"
    return None


def _items(count: object) -> str:
    return "1 item" if count == 1 else f"{count} items"


def _shown(value: Any) -> str:
    """A value as the file wrote it, kept short: TOML's true and false, a table or a list by
    what it is, text in quotes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, int | float):
        return f"{value:g}"
    text = repr(value)
    return text if len(text) <= 40 else text[:36] + "...'"


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
