"""Service logs on stderr, in a form a terminal and journald both read well.

Under systemd (JOURNAL_STREAM is set) each line starts with its syslog priority (`<4>`), which
journald turns into the entry's priority and strips, and carries no time stamp (the journal
has its own). In a terminal a line has the time, the level and the message.
"""

from __future__ import annotations

import logging
import os
import sys

LEVELS = ("debug", "info", "warning", "error")
_PRIORITIES = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3,
               logging.CRITICAL: 2}


class _JournalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        priority = _PRIORITIES.get(record.levelno, 6)
        return f"<{priority}>{super().format(record)}"


def set_up_logging(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(_JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s",
                                               "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # The command line quiets the package to errors unless -v; the service's own option wins.
    logging.getLogger("massagectl").setLevel(level.upper())
