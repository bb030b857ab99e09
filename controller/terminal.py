"""Keys from the terminal while a session runs, and Ctrl-C / SIGTERM as stop inputs.

    with TerminalKeys(on_key) as keys:     # single key presses, no Enter needed
        ...
The terminal is put in cbreak mode (keys arrive one by one, Ctrl-C still raises SIGINT) and
restored on exit, whatever happened. Without a terminal (a pipe, a test) there are no keys;
signals still work.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import termios
import tty
from collections.abc import Callable


class TerminalKeys:
    def __init__(self, on_key: Callable[[str], None]) -> None:
        self.on_key = on_key
        self._fd: int | None = None
        self._saved = None

    def __enter__(self) -> TerminalKeys:
        if not sys.stdin.isatty():
            return self
        self._fd = sys.stdin.fileno()
        self._saved = termios.tcgetattr(self._fd)
        tty.setcbreak(self._fd)
        asyncio.get_running_loop().add_reader(self._fd, self._read)
        return self

    def __exit__(self, *exc_info) -> None:
        if self._fd is None:
            return
        asyncio.get_running_loop().remove_reader(self._fd)
        termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)
        self._fd = None

    def _read(self) -> None:
        data = os.read(self._fd, 64)
        for char in data.decode(errors="ignore"):
            self.on_key(char)


class StopSignals:
    """Ctrl-C (SIGINT) and SIGTERM call `on_signal(name)` instead of killing the process, so a
    stop goes through the safety layer's stop path and the board ends safe."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, on_signal: Callable[[str], None]) -> None:
        self.on_signal = on_signal

    def __enter__(self) -> StopSignals:
        loop = asyncio.get_running_loop()
        for number in self.SIGNALS:
            loop.add_signal_handler(number, self.on_signal, signal.Signals(number).name)
        return self

    def __exit__(self, *exc_info) -> None:
        loop = asyncio.get_running_loop()
        for number in self.SIGNALS:
            loop.remove_signal_handler(number)
