"""Keys from the terminal while a session runs, and Ctrl-C / SIGTERM / SIGHUP / SIGQUIT as stop
inputs.

    with TerminalKeys(on_key) as keys:     # single key presses, no Enter needed
        ...
The terminal is put in cbreak mode (keys arrive one by one, Ctrl-C still raises SIGINT) and
restored on exit, whatever happened. Without a terminal (a pipe, a test) there are no keys;
signals still work.

    with CommandSignals():                 # cli.main, around one whole command
        ...
            with StopSignals(on_signal):   # while a session drives the chair
                ...
Inside StopSignals every stop signal, the first and any repeat, calls `on_signal`: the stop
goes through the safety layer's stop path and a repeat only asks for the same stop again. Once a
session has had the signals, the rest of the command (closing the link, the summary, the
interpreter's own shutdown) notes further stop signals instead of dying of them, so the exit
code tells how the session ended (3 stopped, not 130) and nothing is cut short.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
import sys
import termios
import tty
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, ClassVar

# What a person or the system sends to end the program: Ctrl-C, a service manager or `kill`,
# a closed terminal or dropped SSH connection, Ctrl-\. Each of them must stop the chair first.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


class TerminalKeys:
    def __init__(self, on_key: Callable[[str], None]) -> None:
        self.on_key = on_key
        self._fd: int | None = None
        self._saved: list | None = None  # the terminal's attributes before cbreak
        self._reading = False

    def __enter__(self) -> TerminalKeys:
        if not sys.stdin.isatty():
            return self
        self._fd = sys.stdin.fileno()
        self._saved = termios.tcgetattr(self._fd)
        tty.setcbreak(self._fd)
        asyncio.get_running_loop().add_reader(self._fd, self._read)
        self._reading = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._fd is None:
            return
        self._stop_reading()
        # A terminal that hung up (SIGHUP) cannot be restored; that must not turn a safe stop
        # into a traceback.
        if self._saved is not None:
            with contextlib.suppress(termios.error, OSError):
                termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)
        self._fd = None

    def _stop_reading(self) -> None:
        if self._reading and self._fd is not None:
            asyncio.get_running_loop().remove_reader(self._fd)
            self._reading = False

    def _read(self) -> None:
        if self._fd is None:
            return
        try:
            data = os.read(self._fd, 64)
        except OSError:
            data = b""
        if not data:
            # End of input or a hung-up terminal: the fd stays readable forever, so keep
            # watching it and the loop would spin. No more keys can come.
            self._stop_reading()
            return
        for char in data.decode(errors="ignore"):
            self.on_key(char)


Handler = Callable[[int, FrameType | None], Any] | int | None


@contextlib.contextmanager
def output_may_be_gone() -> Iterator[None]:
    """Around what a command prints after a session: a terminal that hung up (closed window,
    dropped SSH) raises EIO on every write. Then the output goes nowhere, from here to the
    interpreter's last flush, so the exit status still says how the session ended. (The fault
    log holds the session's end either way.)"""
    try:
        yield
    except OSError as error:
        if error.errno not in (errno.EIO, errno.EPIPE, errno.ENXIO):
            raise
        nowhere = os.open(os.devnull, os.O_WRONLY)
        for fd in (1, 2):  # buffered text left in sys.stdout and sys.stderr now flushes fine
            os.dup2(nowhere, fd)
        os.close(nowhere)


class StopSignals:
    """Stop signals call `on_signal(name)` instead of killing the process, so a stop goes through
    the safety layer's stop path and the board ends safe. A repeated signal calls it again (the
    stop path joins the stop under way); it never raises KeyboardInterrupt. On exit the previous
    handlers are back, or, inside a CommandSignals, the command's wind-down handler."""

    SIGNALS = STOP_SIGNALS

    def __init__(self, on_signal: Callable[[str], None]) -> None:
        self.on_signal = on_signal
        self._previous: dict[int, Handler] = {}

    def __enter__(self) -> StopSignals:
        loop = asyncio.get_running_loop()
        self._previous = {number: signal.getsignal(number) for number in self.SIGNALS}
        for number in self.SIGNALS:
            loop.add_signal_handler(number, self.on_signal, signal.Signals(number).name)
        return self

    def __exit__(self, *exc_info) -> None:
        loop = asyncio.get_running_loop()
        command = CommandSignals.current
        # Blocked while the handlers change hands, so a signal in between waits for the new
        # handler instead of meeting the interpreter's default (a KeyboardInterrupt in the
        # middle of closing the link).
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, self.SIGNALS)
        try:
            for number in self.SIGNALS:
                # remove_signal_handler leaves the interpreter's default, not what was there.
                loop.remove_signal_handler(number)
                if command is not None:
                    command.wind_down(number)
                else:
                    _install(number, self._previous[number])
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def _install(number: int, handler: Handler) -> None:
    if handler is not None:  # None: set outside Python, nothing Python can put back
        signal.signal(number, handler)


class CommandSignals:
    """Around one command of the CLI. Until a session takes the stop signals (StopSignals),
    nothing changes: Ctrl-C is a KeyboardInterrupt, nothing has started. After it, further stop
    signals only print a note until the command ends: the board is already stopped (or being
    closed, which is what makes it safe), so dying now would only hide how the session ended.

    `to_the_end`: the command is the whole program (the console script), so when it ends after
    a session, stop signals stay ignored through the interpreter's shutdown too (it resets
    Python-level handlers to the default, which kills the process with the summary printed and
    the wrong exit status)."""

    current: ClassVar[CommandSignals | None] = None

    def __init__(self, *, to_the_end: bool = False) -> None:
        self.to_the_end = to_the_end
        self.noted: list[str] = []  # stop signals that came after the session had them
        self.winding_down = False  # a session has had the stop signals; the command finishes
        self._before: dict[int, Handler] = {}
        self._outer: CommandSignals | None = None

    def __enter__(self) -> CommandSignals:
        self._before = {number: signal.getsignal(number) for number in STOP_SIGNALS}
        self._outer, CommandSignals.current = CommandSignals.current, self
        return self

    def wind_down(self, number: int) -> None:
        """Called by StopSignals on its way out: note further stop signals from now on."""
        self.winding_down = True
        signal.signal(number, self._note)

    def _note(self, number: int, frame: object) -> None:
        name = signal.Signals(number).name
        self.noted.append(name)
        # os.write: a handler may run in the middle of a print to the same stream, where a
        # buffered write would raise "reentrant call". A hung-up terminal takes nothing.
        with contextlib.suppress(OSError):
            os.write(2, f"massagectl: {name}: the session has ended already; "
                        "finishing up\n".encode())

    def __exit__(self, *exc_info) -> None:
        CommandSignals.current = self._outer
        if not self.winding_down:
            return
        for number, handler in self._before.items():
            _install(number, signal.SIG_IGN if self.to_the_end else handler)
