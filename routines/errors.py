"""The project's exception tree: one root, split by who can fix the problem.

    MassageError                      root of every error this project raises on purpose
    +-- InputError                    a person can fix it: a file, a config, a command, a payload
    |   +-- InvalidFileError          a TOML file failed to parse or validate (lists each problem)
    |   +-- UnknownNameError          a routine, device or zone name that does not exist
    +-- DeviceError                   the chair's board or the line to it misbehaved
    |   +-- PortError                 the serial port cannot be opened (missing, busy, no access)
    |   +-- HandshakeError            no answer to identify, or a device that does not match
    |   +-- LinkLostError             the link stopped answering mid-session
    +-- SafetyError                   the safety layer said no
        +-- RefusedError              admission refused a plan (lists each violation)
        +-- FaultLatchedError         a latched fault blocks new sessions until cleared

Every message says what went wrong and, where there is one, what to do next (`hint`).
Bytes from the wire never raise: the codec reports them as events instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


class MassageError(Exception):
    """Root of the project's exceptions."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message} ({hint})")


class InputError(MassageError):
    """Something a person wrote or typed is wrong; nothing was changed."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one field of one file, printed as `FILE: field.path: message`."""

    source: str
    field: str
    message: str

    def __str__(self) -> str:
        if self.field:
            return f"{self.source}: {self.field}: {self.message}"
        return f"{self.source}: {self.message}"


class InvalidFileError(InputError):
    """A file failed to parse or validate. `problems` holds one entry per fault found."""

    def __init__(self, source: str | Path, problems: list[Problem]) -> None:
        self.source = str(source)
        self.problems = list(problems)
        summary = "; ".join(str(problem) for problem in self.problems) or f"{source}: invalid"
        super().__init__(summary)


class UnknownNameError(InputError):
    """A name (routine, device, zone, channel) that is not known; `candidates` are close matches."""

    def __init__(self, kind: str, name: str, candidates: list[str], known: list[str]) -> None:
        self.kind = kind
        self.name = name
        self.candidates = candidates
        hint: str | None
        if candidates:
            hint = "did you mean " + " or ".join(repr(c) for c in candidates) + "?"
        else:
            hint = "known: " + ", ".join(sorted(known)) if known else None
        super().__init__(f"unknown {kind} {name!r}", hint)


class DeviceError(MassageError):
    """The device or the line to it failed."""


class PortError(DeviceError):
    """The serial port could not be opened."""


class HandshakeError(DeviceError):
    """The device did not identify itself, or is not the device the profile describes;
    `differences` then names each difference, one line each."""

    def __init__(self, message: str, hint: str | None = None,
                 differences: Sequence[str] = ()) -> None:
        super().__init__(message, hint)
        self.differences = list(differences)


class LinkLostError(DeviceError):
    """The device stopped answering."""


class SafetyError(MassageError):
    """The safety layer refused or stopped something."""


class RefusedError(SafetyError):
    """Admission refused a plan; `violations` lists each reason."""

    def __init__(self, violations: Sequence[object]) -> None:
        self.violations = list(violations)
        lines = "; ".join(str(v) for v in self.violations)
        super().__init__(f"plan refused: {lines}", "lower the limits in the routine or profile")


class FaultLatchedError(SafetyError):
    """A fault is latched; a new session needs an explicit clear first."""
