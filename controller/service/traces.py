"""Saving a session's trace under a name of its own: `YYYYmmdd-HHMMSS-ROUTINE[-N].npz`, named
by the session's start in local time, so a folder lists the sessions in the order they began."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from massagectl.controller.session.recorder import SessionRecorder

TRACE_NAME_ATTEMPTS = 100


def save_trace(recorder: SessionRecorder, directory: Path, routine: str) -> Path:
    """Write the trace; OSError when it cannot be written (the caller says so, once)."""
    stamp = datetime.fromisoformat(recorder.started).astimezone().strftime("%Y%m%d-%H%M%S")
    for attempt in range(1, TRACE_NAME_ATTEMPTS + 1):
        suffix = "" if attempt == 1 else f"-{attempt}"  # two sessions in the same second
        try:
            return recorder.save(directory / f"{stamp}-{routine}{suffix}.npz")
        except FileExistsError:
            continue
    raise OSError(f"{TRACE_NAME_ATTEMPTS} traces named {stamp}-{routine} already exist")
