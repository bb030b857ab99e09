"""A command on a real pseudo-terminal, as a person at a terminal runs it: keys in, screen out.

    with Terminal(["massagectl", "run", "relax"], env) as terminal:
        terminal.expect("running")          # bounded wait for text on the screen
        terminal.press("q")
        terminal.wait()                     # the exit status
    terminal.screen                         # everything it wrote, escape codes removed
"""

from __future__ import annotations

import os
import re
import select
import struct
import subprocess
import termios
import time
from collections.abc import Sequence
from fcntl import ioctl

# Cursor moves, colours and mode switches, so tests read the text a person sees.
ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]|\r")
EXPECT_LIMIT_S = 60.0  # only bounds a failure; a passing expect returns when the text appears


class Terminal:
    def __init__(self, argv: Sequence[str], env: dict[str, str], columns: int = 100,
                 rows: int = 40) -> None:
        self._main_fd, terminal_fd = os.openpty()
        ioctl(terminal_fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        env = {**env, "COLUMNS": str(columns), "LINES": str(rows), "TERM": "xterm-256color"}
        self.process = subprocess.Popen(list(argv), stdin=terminal_fd, stdout=terminal_fd,
                                        stderr=terminal_fd, env=env, start_new_session=True)
        os.close(terminal_fd)
        self._raw = b""

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self._main_fd)

    @property
    def screen(self) -> str:
        return ESCAPES.sub("", self._raw.decode(errors="replace"))

    def _read(self, timeout_s: float) -> bool:
        ready, _, _ = select.select([self._main_fd], [], [], timeout_s)
        if not ready:
            return True
        try:
            data = os.read(self._main_fd, 65536)
        except OSError:  # the program closed the terminal (it exited)
            data = b""
        self._raw += data
        return bool(data)

    def expect(self, text: str, after: int = 0, limit_s: float = EXPECT_LIMIT_S) -> int:
        """Wait until `text` appears (after offset `after` of the screen); its end offset."""
        deadline = time.monotonic() + limit_s
        while True:
            found = self.screen.find(text, after)
            if found >= 0:
                return found + len(text)
            if time.monotonic() > deadline or (not self._read(0.2) and self.process.poll()):
                raise AssertionError(f"{text!r} did not appear; the screen:\n{self.screen}")

    def press(self, keys: str) -> None:
        os.write(self._main_fd, keys.encode())

    def wait(self, limit_s: float = EXPECT_LIMIT_S) -> int:
        """Read to the end of the output, then the exit status."""
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline and self._read(0.2):
            pass
        return self.process.wait(timeout=max(0.1, deadline - time.monotonic()))
