"""The handheld remote wired to the board: a few keys and a small character display.

Tests press keys (`press`); the board acts on STOP locally before reporting it. The display shows
what the host last sent with ShowText, row by row; text is cut to the display's width, as an LCD
controller would, and rows that do not exist are ignored.
"""

from __future__ import annotations

from collections.abc import Callable

from massagectl.firmware_bridge.messages import RemoteKey

# A 20x4 character LCD (HD44780-class), the usual display of chair remotes with a text menu.
# The board reports its display's size in its identity; the host lays its menu out for it.
DISPLAY_ROWS = 4
DISPLAY_COLUMNS = 20


class HandheldRemote:
    """Keys in, display out. `on_key` is the board's handler for a key press."""

    def __init__(self, on_key: Callable[[RemoteKey, float], None], *,
                 rows: int = DISPLAY_ROWS, columns: int = DISPLAY_COLUMNS) -> None:
        self._on_key = on_key
        self.display_rows = rows
        self.display_columns = columns
        self.rows: list[str] = [""] * rows

    def press(self, key: RemoteKey, now_s: float) -> None:
        """Press and release `key` at host time `now_s`."""
        self._on_key(RemoteKey(key), now_s)

    def show(self, row: int, text: str) -> bool:
        """Put text on a row; False (and nothing shown) for a row the display lacks."""
        if not 0 <= row < self.display_rows:
            return False
        printable = "".join(ch if ch.isprintable() else "?" for ch in str(text))
        self.rows[row] = printable[:self.display_columns]
        return True

    def clear(self) -> None:
        self.rows = [""] * self.display_rows

    @property
    def text(self) -> str:
        """The display as lines, the way a person reads it."""
        return "\n".join(self.rows)
