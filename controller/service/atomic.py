"""Write a file so that a power cut leaves either the old or the new content, never a mix."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def write_atomically(path: Path, text: str, *, keep_old: bool = False) -> None:
    """Write `text` to a temporary file beside `path`, flush it to disk, then rename it over
    `path` (a rename within a folder is atomic on POSIX). With `keep_old`, the previous
    version stays as `path` + ".old" (a hard link, so it too is never half written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if keep_old and path.exists():
            old = path.with_name(path.name + ".old")
            with contextlib.suppress(FileNotFoundError):
                old.unlink()
            os.link(path, old)
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    # The rename itself lives in the folder's entry: sync it too, where the system allows.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
