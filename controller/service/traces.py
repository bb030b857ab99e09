"""Saving a session's trace under a name of its own: `YYYYmmdd-HHMMSS-ROUTINE[-N].npz`, named
by the session's start in local time, so a folder lists the sessions in the order they began.

    path = planned_trace_path(recorder, folder, "relax", taken)  # on the loop: a few stats
    path = save_trace(recorder, folder, "relax")   # in a worker thread: the same name, unless
                                                   # another process took it meanwhile

A trace appears whole or not at all: it is written to a hidden temporary file, flushed to
disk, then linked under its name (a link never replaces a file that exists, so two sessions
started in the same second never overwrite each other's trace)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Collection, Iterator
from datetime import datetime
from pathlib import Path

from massagectl.controller.session.recorder import SessionRecorder

TRACE_NAME_ATTEMPTS = 100


def _names(recorder: SessionRecorder, directory: Path, routine: str) -> Iterator[Path]:
    stamp = datetime.fromisoformat(recorder.started).astimezone().strftime("%Y%m%d-%H%M%S")
    for attempt in range(1, TRACE_NAME_ATTEMPTS + 1):
        suffix = "" if attempt == 1 else f"-{attempt}"  # two sessions in the same second
        yield directory / f"{stamp}-{routine}{suffix}.npz"


def _too_many(recorder: SessionRecorder, routine: str) -> OSError:
    return OSError(f"{TRACE_NAME_ATTEMPTS} traces of {routine} started at {recorder.started} "
                   "already exist")


def planned_trace_path(recorder: SessionRecorder, directory: Path, routine: str,
                       taken: Collection[Path] = ()) -> Path:
    """The name `save_trace` will give the trace: the first that is neither on disk nor in
    `taken` (traces planned and not written yet)."""
    for path in _names(recorder, directory, routine):
        if path not in taken and not path.exists():
            return path
    raise _too_many(recorder, routine)


def save_trace(recorder: SessionRecorder, directory: Path, routine: str) -> Path:
    """Write the trace under the first free name; OSError when it cannot be written (the
    caller says so, once)."""
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / f".{routine}.{os.getpid()}.{id(recorder)}.tmp"
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()  # left by a process that died while writing
    try:
        recorder.save(temporary)
        _sync(temporary)
        for path in _names(recorder, directory, routine):
            try:
                os.link(temporary, path)
            except FileExistsError:
                continue
            _sync(directory)
            return path
        raise _too_many(recorder, routine)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def _sync(path: Path) -> None:
    # A trace must be on disk before its name is, and its name before the history says it.
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
