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
        problems.append(Problem(source, field_path(location), message))
    return problems


def _written_location(
    data: Any, location: tuple[int | str, ...], missing: bool
) -> tuple[int | str, ...]:
    """Drop location parts that are not keys of the data (tags of a discriminated union); the
    last part of a `missing` error is the absent key itself and stays."""
    kept: list[int | str] = []
    node = data
    for position, part in enumerate(location):
        names_absent_key = missing and position == len(location) - 1
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and not names_absent_key:
            continue  # a name pydantic added, not a key the file has
        else:
            node = None
        kept.append(part)
    return tuple(kept)


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
        raise InvalidFileError(source, [Problem(source, "", f"cannot read: {error.strerror}")])
    if size > MAX_FILE_BYTES:
        message = f"file is {size} bytes, larger than the {MAX_FILE_BYTES} bytes allowed"
        raise InvalidFileError(source, [Problem(source, "", message)])
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise InvalidFileError(source, [Problem(source, "", f"TOML syntax error: {error}")])
    except RecursionError:
        # tomllib recurses per nested array or inline table; no file of ours nests that deep.
        message = "arrays or tables nested too deeply to read"
        raise InvalidFileError(source, [Problem(source, "", message)]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidFileError(source, [Problem(source, "", f"cannot read: {error}")])


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
