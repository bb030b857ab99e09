"""Where commands print: a console for standard output that wraps between words on a terminal
and never cuts a table to 80 columns when the output goes to a file or a pipe."""

from __future__ import annotations

import sys

from rich.console import Console

# Without a terminal there is no width to fit: rich would assume 80 columns and cut cells
# (`roller_posit...`). A table without `expand` is only as wide as its cells, so a wide
# console costs nothing and keeps every cell whole for grep and for files.
UNBOUNDED_WIDTH = 10_000


def console_out() -> Console:
    """A console on standard output (looked up at print time, so tests can capture it)."""
    if sys.stdout.isatty():
        return Console()  # long lines wrap between words at the terminal's width
    return Console(soft_wrap=True, width=UNBOUNDED_WIDTH)
