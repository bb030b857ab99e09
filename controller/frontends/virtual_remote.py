"""The handheld remote drawn in a terminal: its display, its keys and their shortcuts.

    async with VirtualRemote(service, console) as remote:   # draws until `remote.done`
        await remote.done.wait()

It drives the built-in simulator's remote: a shortcut presses that key on the simulated board,
exactly as a finger would, and the display shows what the board's display shows (the rows the
service sent over the line). So everything the handheld remote does can be done from a
keyboard, in a plain 80x24 terminal. The layout is drawn with rich; keys are read from the
terminal in cbreak mode (restored on exit, whatever happens).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import termios
import tty
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from massagectl.controller.service.core import ChairService
from massagectl.controller.service.operations import Origin
from massagectl.firmware_bridge.messages import RemoteKey

REDRAW_S = 0.1  # ten frames a second: a key shows on the display well within 100 ms
QUIT_KEYS = ("q", "Q", "\x03", "\x04")  # q, Ctrl-C, Ctrl-D

# Shortcut -> key, in the order the legend shows them. Arrow keys arrive as escape sequences.
SHORTCUTS: dict[str, RemoteKey] = {
    "s": RemoteKey.STOP, " ": RemoteKey.START_PAUSE, "\x1b[A": RemoteKey.UP,
    "k": RemoteKey.UP, "\x1b[B": RemoteKey.DOWN, "j": RemoteKey.DOWN, "\r": RemoteKey.OK,
    "\n": RemoteKey.OK, "b": RemoteKey.BACK, "\x1b": RemoteKey.BACK, "\x7f": RemoteKey.BACK,
    "+": RemoteKey.INTENSITY_UP, "=": RemoteKey.INTENSITY_UP, "-": RemoteKey.INTENSITY_DOWN,
    "h": RemoteKey.HEAT, "d": RemoteKey.DISCOMFORT, "m": RemoteKey.MARK,
}
LEGEND = (
    ("s", "STOP"), ("space", "START/PAUSE"), ("up/k", "UP"), ("down/j", "DOWN"),
    ("enter", "OK"), ("esc/b", "BACK"), ("+", "INTENSITY +"), ("-", "INTENSITY -"),
    ("h", "HEAT"), ("d", "TOO MUCH HERE"), ("m", "RIGHT THERE"), ("q", "quit"),
)


def split_keys(data: str) -> list[str]:
    """Terminal input to shortcuts: an arrow's escape sequence is one key, a lone ESC another."""
    keys, index = [], 0
    while index < len(data):
        if data.startswith("\x1b[", index) and index + 2 < len(data):
            keys.append(data[index:index + 3])
            index += 3
        else:
            keys.append(data[index])
            index += 1
    return keys


class VirtualRemote:
    def __init__(self, service: ChairService, console: Console) -> None:
        self.service = service
        self.console = console
        self.done = asyncio.Event()
        self.last_key = ""
        # The terminal while keys are read from it: its descriptor and the settings to restore.
        self._terminal: tuple[int, list[Any]] | None = None
        self._live: Live | None = None
        self._drawer: asyncio.Task | None = None

    async def __aenter__(self) -> VirtualRemote:
        loop = asyncio.get_running_loop()
        if sys.stdin.isatty():
            fd = sys.stdin.fileno()
            self._terminal = (fd, termios.tcgetattr(fd))
            tty.setcbreak(fd)
            loop.add_reader(fd, self._read, fd)
        live = self._live = Live(self.render(), console=self.console, auto_refresh=False,
                                 transient=False)
        live.start()
        self._drawer = loop.create_task(self._draw_forever(live), name="virtual remote")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._drawer is not None:
            self._drawer.cancel()
            await asyncio.gather(self._drawer, return_exceptions=True)
        if self._live is not None:
            self._live.update(self.render(), refresh=True)
            self._live.stop()
        if self._terminal is not None:
            fd, saved = self._terminal
            asyncio.get_running_loop().remove_reader(fd)
            with contextlib.suppress(termios.error, OSError):
                termios.tcsetattr(fd, termios.TCSADRAIN, saved)
            self._terminal = None

    def _read(self, fd: int) -> None:
        try:
            data = os.read(fd, 64).decode(errors="ignore")
        except OSError:
            data = ""
        if not data:  # the terminal is gone: nobody can press a key any more
            asyncio.get_running_loop().remove_reader(fd)
            self.done.set()
            return
        for key in split_keys(data):
            self.on_key(key)

    def on_key(self, key: str) -> None:
        if key in QUIT_KEYS:
            self.done.set()
            return
        remote_key = SHORTCUTS.get(key)
        if remote_key is None:
            return  # not a key of the remote
        self.last_key = remote_key.name
        self.service.press_key(remote_key)
        if self.service.chair is None and remote_key is RemoteKey.STOP:
            self.service.stop(Origin.REMOTE, "STOP key on the remote")

    def render(self) -> Panel:
        board = self.service.simulator.board if self.service.simulator is not None else None
        rows = board.remote.rows if board is not None else ["(no simulated remote)"]
        columns = board.remote.display_columns if board is not None else 20
        screen = Text("\n".join(row.ljust(columns) for row in rows), style="black on green")
        legend = Table.grid(padding=(0, 2))
        for _ in range(3):
            legend.add_column(no_wrap=True)
        cells = [Text.assemble((f"[{key}]", "bold"), f" {name}") for key, name in LEGEND]
        for index in range(0, len(cells), 3):
            legend.add_row(*cells[index:index + 3])
        snapshot = self.service.snapshot()
        status = Text(f"{snapshot.chair_id}: {snapshot.state}"
                      + (f" - {snapshot.routine}" if snapshot.routine else "")
                      + (f"   last key: {self.last_key}" if self.last_key else ""),
                      style="dim")
        return Panel(Group(Panel(screen, expand=False, padding=(0, 1)), legend, status),
                     title="massagectl remote", width=min(78, self.console.width), expand=False)

    def _looks(self) -> tuple:
        """What the drawing depends on: redrawn only when this changes (a remote over SSH)."""
        board = self.service.simulator.board if self.service.simulator is not None else None
        snapshot = self.service.snapshot()
        return (tuple(board.remote.rows) if board is not None else (), snapshot.state,
                snapshot.routine, self.last_key, self.console.width)

    async def _draw_forever(self, live: Live) -> None:
        drawn = None
        while True:
            looks = self._looks()
            if looks != drawn:
                live.update(self.render(), refresh=True)
                drawn = looks
            await asyncio.sleep(REDRAW_S)
