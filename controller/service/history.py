"""The chair's session history on disk, per board serial number: one JSON file, written whole
and atomically after every session, so a power cut never leaves it unreadable.

    history = SessionHistory(state_dir / "chairs" / chair_id / "sessions.json")
    history.add(summary); history.sessions[-1]      # kept, and written before add returns
    history.remember(summary)                       # kept at once; then, in a worker thread:
    history.write()                                 # every session kept so far, to the file

`remember`, `replace` and `write` may run in different threads (the service writes its files
off its event loop, controller.service.file_writer): the list is only ever replaced whole,
under a lock, and `write` writes the list as it was when it began.

Only the latest MAX_SESSIONS are kept (a session an hour for a month), so the file stays small.
A file that cannot be read (hand-edited, a disk error) is kept aside as `sessions.json.bad`
and the history starts afresh; this is logged once and never stops the chair.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from dataclasses import fields
from pathlib import Path

from massagectl.controller.service.atomic import write_atomically
from massagectl.controller.service.operations import SessionSummary

log = logging.getLogger(__name__)

MAX_SESSIONS = 720
FORMAT_VERSION = 1


class SessionHistory:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.write_error: str | None = None
        self.sessions: list[SessionSummary] = self._read()
        self._lock = threading.Lock()  # a worker thread writes while the loop remembers

    def add(self, summary: SessionSummary) -> None:
        self.remember(summary)
        self.write()

    def remember(self, summary: SessionSummary) -> None:
        with self._lock:
            self.sessions = [*self.sessions, summary][-MAX_SESSIONS:]

    def replace(self, old: SessionSummary, new: SessionSummary) -> None:
        """A session's entry corrected (its trace was saved under another name, or not)."""
        with self._lock:
            self.sessions = [new if session is old else session for session in self.sessions]

    def write(self) -> None:
        with self._lock:
            sessions = self.sessions
        data = {"version": FORMAT_VERSION,
                "sessions": [session.as_dict() for session in sessions]}
        try:
            write_atomically(self.path, json.dumps(data, indent=1) + "\n")
            self.write_error = None
        except OSError as error:  # a full disk must not stop the chair; say it once
            if self.write_error is None:
                log.error("cannot write the session history %s: %s", self.path, error)
            self.write_error = str(error)

    def _read(self) -> list[SessionSummary]:
        try:
            return read_history(self.path)
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError) as error:
            log.warning("session history %s unreadable (%s): kept as %s.bad, starting afresh",
                        self.path, error, self.path.name)
            with contextlib.suppress(OSError):
                os.replace(self.path, self.path.with_name(self.path.name + ".bad"))
            return []


def read_history(path: Path) -> list[SessionSummary]:
    """The sessions in a history file, oldest first, changing nothing; raises OSError (a
    missing file: FileNotFoundError), ValueError, KeyError or TypeError when it is unreadable."""
    data = json.loads(path.read_text(encoding="utf-8"))
    names = {f.name for f in fields(SessionSummary)}
    return [SessionSummary(**{k: v for k, v in entry.items() if k in names}
                           | {"profile_changes": tuple(entry.get("profile_changes", ()))})
            for entry in data["sessions"]]
