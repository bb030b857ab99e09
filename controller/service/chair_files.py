"""Where a chair's state lives on disk: one folder per board serial number, the same for
`massagectl run`, `massagectl serve`, `massagectl faults` and `massagectl sessions`.

    files = ChairFiles.of(config.logs, "SIM-chair-1")   # <log folder>/chairs/SIM-chair-1/
    fault_log, latch = files.restore_latch()            # faults.jsonl, and the old top-level log
    files.traces, files.sessions                        # traces/, sessions.json

A board that reports no serial number keeps its state in the log folder itself. That is also
where earlier versions of `massagectl run` kept every chair's fault log and traces, without
knowing which chair they were for. A fault latched there could be any chair's, so it blocks
every chair until a person clears it (`faults --clear`, or the remote's clear), and the clear
is written to that old log too: an upgrade never loses a latched fault, and a clear is not
undone by the next restart.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from massagectl.controller.config import LogSettings
from massagectl.safety.fault_log import FaultLog, read_fault_log
from massagectl.safety.faults import Fault, FaultLatch

CHAIRS_FOLDER = "chairs"
FAULT_LOG = "faults.jsonl"
SESSIONS = "sessions.json"
TRACES = "traces"


@dataclass(frozen=True)
class ChairFiles:
    chair: str  # the board's serial number; "" for a board without one (and the old files)
    folder: Path
    top_level: Path  # the log folder, where the old top-level fault log and traces are

    @classmethod
    def of(cls, logs: LogSettings, serial: str) -> ChairFiles:
        folder = logs.directory / CHAIRS_FOLDER / folder_name(serial) if serial \
            else logs.directory
        return cls(serial, folder, logs.directory)

    @property
    def fault_log(self) -> Path:
        return self.folder / FAULT_LOG

    @property
    def sessions(self) -> Path:
        return self.folder / SESSIONS

    @property
    def traces(self) -> Path:
        return self.folder / TRACES

    @property
    def old_fault_log(self) -> Path | None:
        """The top-level fault log, when it is not this chair's own."""
        return None if self.folder == self.top_level else self.top_level / FAULT_LOG

    def restore_latch(self) -> tuple[FaultLog, FaultLatch]:
        """The chair's fault log, and a latch holding what it and the old top-level log still
        hold latched (see the module docstring)."""
        log = FaultLog(self.fault_log)
        latch = FaultLatch.restored(log, read_fault_log(self.fault_log))
        latch.faults.extend(self.old_latched())
        return log, latch

    def old_latched(self) -> list[Fault]:
        """What the old top-level log holds latched (nothing for a chair without a serial
        number: that log is its own)."""
        old = self.old_fault_log
        if old is None:
            return []
        restored = FaultLatch.restored(FaultLog(old), read_fault_log(old))
        return [replace(fault, detail=f"{fault.detail}; logged in {old} before faults were "
                        "kept per chair, so it may be any chair's") for fault in restored.faults]

    def clear_old(self, by: str) -> list[Fault]:
        """Clear what the old top-level log holds latched (a person checked the chair)."""
        old = self.old_fault_log
        if old is None:
            return []
        latch = FaultLatch.restored(FaultLog(old), read_fault_log(old))
        return latch.clear(by) if latch.latched else []


def folder_name(serial: str) -> str:
    """`serial` as one folder name: a board's text must not name a path elsewhere."""
    name = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_" for ch in serial)
    return "_" + name if name.startswith(".") else name


def every_chair(logs: LogSettings) -> list[ChairFiles]:
    """Every chair with a folder here, by serial number, and the log folder itself (a board
    without a serial number, and what earlier versions kept there) when it holds anything."""
    chairs = logs.directory / CHAIRS_FOLDER
    found = [ChairFiles.of(logs, path.name)
             for path in (sorted(chairs.iterdir()) if chairs.is_dir() else []) if path.is_dir()]
    top = ChairFiles.of(logs, "")
    if any(path.exists() for path in (top.fault_log, top.sessions, top.traces)):
        found.append(top)
    return found
