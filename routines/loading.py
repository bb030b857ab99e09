"""Load TOML files into pydantic models, turning every failure into named `Problem`s."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from routines.errors import InvalidFileError, Problem

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


def problems_from_validation(source: str, error: ValidationError) -> list[Problem]:
    """One `Problem` per pydantic error, with the field path and a plain message."""
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
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key; remove it or check its spelling"
        elif message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        problems.append(Problem(source, field_path(location), message))
    return problems


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
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidFileError(source, [Problem(source, "", f"cannot read: {error}")])


def validate_data(source: str, data: dict[str, Any], model: type[ModelT], **context: Any) -> ModelT:
    """Validate parsed data against `model`; every failure is reported at once."""
    try:
        return model.model_validate(data, context=context or None)
    except ValidationError as error:
        raise InvalidFileError(source, problems_from_validation(source, error)) from None


def load_model(path: str | Path, model: type[ModelT], **context: Any) -> ModelT:
    """Read and validate a TOML file in one step."""
    path = Path(path)
    return validate_data(str(path), read_toml(path), model, **context)
