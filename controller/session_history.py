"""Past sessions, read from the trace folder (one trace per session) and the fault log.

Each trace names its routine, its user, when it started and how it ended (its "end" event);
the fault log adds the faults that happened while it ran. Only the small parts of a trace are
read (its meta and events), so a folder of long sessions lists quickly.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from massagectl.safety.fault_log import FaultRecord, LogEvent


@dataclass(frozen=True)
class PastSession:
    trace: Path
    started: datetime | None  # None: the trace could not be read
    routine: str = ""
    user: str = ""
    duration_s: float = 0.0
    ended: str = ""  # "finished", "stopped", "fault", "error", or "" (no end recorded)
    detail: str = ""
    faults: tuple[str, ...] = ()


def _read(path: Path) -> PastSession:
    try:
        with path.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            events = [json.loads(line) for line in str(data["events"]).splitlines() if line]
        started = datetime.fromisoformat(meta["started"])
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile, zlib.error):
        return PastSession(path, None)
    ended, detail, duration_s = "", "", 0.0
    for event in events:
        duration_s = max(duration_s, float(event.get("t_s", 0.0)))
        if event.get("kind") == "end":
            ended, _, detail = str(event.get("detail", "")).partition(": ")
    return PastSession(path, started, str(meta.get("routine", "")), str(meta.get("user", "")),
                       duration_s, ended, detail)


def past_sessions(traces: Path, fault_records: Sequence[FaultRecord]) -> list[PastSession]:
    """Every session that left a trace in `traces`, oldest first, with its faults."""
    sessions = [_read(path) for path in sorted(traces.glob("*.npz"))] if traces.is_dir() else []
    faults = []
    for record in fault_records:
        if record.event != LogEvent.FAULT:
            continue
        try:
            faults.append((datetime.fromisoformat(record.time), record.cause))
        except ValueError:
            continue
    found = []
    for session in sessions:
        if session.started is not None:
            start = session.started
            end = start + timedelta(seconds=session.duration_s + 1.0)  # the stop's last second
            during = tuple(dict.fromkeys(cause for when, cause in faults if start <= when <= end))
            session = PastSession(session.trace, start, session.routine, session.user,
                                  session.duration_s, session.ended, session.detail, during)
        found.append(session)
    return sorted(found, key=lambda s: (s.started is None, s.started or datetime.min, s.trace))
