"""Which kind of file a person handed to `massagectl trace`, read, or one clear line why not.

massagectl writes two kinds of trace, both compressed numpy archives: a session trace (`run`,
controller.session.recorder) and a board trace (`sim --trace`, sim.trace). Anything else, a
damaged archive or the wrong file, is refused with one line that says what the file is and what
`trace` reads, never with the archive reader's own words.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from pathlib import Path

import numpy as np

from massagectl.controller.session.recorder import SessionTrace, load_trace
from massagectl.routines.errors import InvalidFileError, Problem
from massagectl.sim.trace import Trace

ZIP_MAGIC = b"PK\x03\x04"  # a numpy .npz archive is a zip file
PNG_MAGIC = b"\x89PNG"
WHAT_TRACE_READS = ("session traces from `massagectl run` and `serve` (in "
                    "~/.local/state/massagectl/chairs/SERIAL/traces/) and board traces from "
                    "`massagectl sim --trace`")


def _refuse(path: Path, why: str) -> InvalidFileError:
    return InvalidFileError(path, [Problem(str(path), "", why)])


def read_trace(path: str | Path) -> SessionTrace | Trace:
    """A session trace or a board trace; InvalidFileError with one plain line otherwise."""
    path = Path(path)
    if path.is_dir():
        raise _refuse(path, f"a folder, not a trace file; `trace` reads {WHAT_TRACE_READS}")
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except FileNotFoundError:
        raise _refuse(path, "no such file") from None
    except OSError as error:
        raise _refuse(path, f"cannot be read ({error.strerror or error})") from None
    if not head.startswith(ZIP_MAGIC):
        raise _refuse(path, f"{_what_it_is(head)}; `trace` reads {WHAT_TRACE_READS}")
    kind = _archive_kind(path)
    if kind == "board":
        try:
            return Trace.load(path)
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile,
                zlib.error):
            raise _refuse(path, "a board trace that is damaged or incomplete") from None
    return load_trace(path)


def _archive_kind(path: Path) -> str:
    """"session" or "board", from the archive's meta record."""
    damaged = _refuse(path, "a damaged or incomplete archive (cut short while it was written or "
                      "copied?); it cannot be read")
    try:
        # Opened here, not by numpy: np.load leaves its own handle open when the zip is bad.
        with path.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
            if "meta" not in data.files:
                raise _refuse(path, f"a numpy archive, but not a trace; `trace` reads "
                              f"{WHAT_TRACE_READS}")
            meta = json.loads(str(data["meta"]))
    except InvalidFileError:
        raise
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile, zlib.error):
        raise damaged from None
    if not isinstance(meta, dict):
        raise damaged
    if "channel_ids" in meta:
        return "board"
    return "session"


def _what_it_is(head: bytes) -> str:
    """A guess at what a file is, from its first bytes, for the refusal."""
    if not head:
        return "an empty file"
    if head.startswith(PNG_MAGIC):
        return "an image (a plot?), not a trace"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "not a trace"
    first_line = text.lstrip().splitlines()[0] if text.strip() else ""
    try:
        record = json.loads(first_line)
    except ValueError:
        record = None
    if isinstance(record, dict) and {"event", "cause"} <= record.keys():
        return "the fault log, not a trace (read it with `massagectl faults FILE`)"
    if first_line.startswith("{") or first_line.startswith("["):
        return "a JSON file, not a trace"
    return "a text file, not a trace"
