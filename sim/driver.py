"""Run a SimBoard on an asyncio event loop's clock, so it acts on its own between messages.

    driver = BoardDriver(board)          # the running loop's clock drives the board
    driver.start()
    driver.deliver(message)              # a host message arrives now
    driver.frame_received()              # any valid frame arrived now (feeds the watchdog)
    driver.press(RemoteKey.STOP)         # a key on the remote, now
    driver.watch(turn=..., woke=...)     # observers: after every turn; how late the timer woke
    await driver.aclose()                # or: async with BoardDriver(board): ...

The driver keeps one timer on the loop, set for the board's next event (a telemetry sample, a
segment boundary, the watchdog deadline), and moves it earlier when a message makes something
due sooner. On a VirtualTimeLoop the clock jumps from timer to timer, so a 30-minute session
runs in seconds; on a real loop the board keeps real time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator

from massagectl.firmware_bridge.messages import RemoteKey
from massagectl.sim.board import SimBoard
from massagectl.sim.faults import FaultKind


class BoardDriver:
    """See the module docstring. One driver per board; the board's health records it."""

    def __init__(self, board: SimBoard, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.board = board
        self._loop = loop
        self._timer: asyncio.TimerHandle | None = None
        self._due_s = 0.0
        # Called once at the end of every turn the board took (an input or its timer), so what
        # it said during the turn can leave as one write without a loop round of its own.
        self.after_turn: Callable[[], None] | None = None
        self.in_turn = False
        self._turn_watchers: list[Callable[[], None]] = []
        self._wake_watchers: list[Callable[[float], None]] = []

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    @property
    def running(self) -> bool:
        return self._timer is not None

    def now_s(self) -> float:
        return self.loop.time()

    def start(self) -> None:
        if self.running:
            return
        self.board.health.driven = True
        self.board.advance(self.loop.time())
        self._schedule()

    def close(self) -> None:
        """Stop driving the board (the board itself keeps its state, as on a halted clock)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.board.health.driven = False

    async def aclose(self) -> None:
        self.close()

    async def __aenter__(self) -> BoardDriver:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()

    def watch(self, *, turn: Callable[[], None] | None = None,
              woke: Callable[[float], None] | None = None) -> None:
        """Observe the board without changing it: `turn()` after every turn (after
        `after_turn`, so what the board said has left), `woke(late_s)` each time its timer
        fires, with how late the loop woke it (a benchmark's view of the simulator's own
        timing, which a firmware timer interrupt does not have)."""
        if turn is not None:
            self._turn_watchers.append(turn)
        if woke is not None:
            self._wake_watchers.append(woke)

    # --- inputs -----------------------------------------------------------------------------

    def deliver(self, message: object) -> None:
        self.board.handle(message, self.loop.time())
        self._reschedule()

    def frame_received(self) -> None:
        self.board.host_frame_received(self.loop.time())
        self._reschedule()

    def report_bad_message(self, reason: str) -> None:
        self.board.report_bad_message(reason, self.loop.time())
        self._reschedule()

    def press(self, key: RemoteKey) -> None:
        with self.turn():
            self.board.remote.press(key, self.loop.time())
            self._reschedule()

    def inject_fault(self, kind: FaultKind | str, target: str | None = None) -> None:
        with self.turn():
            self.board.inject_fault(kind, target, now_s=self.loop.time())
            self._reschedule()

    def clear_fault(self, kind: FaultKind | str, target: str | None = None) -> None:
        with self.turn():
            self.board.clear_fault(kind, target, now_s=self.loop.time())
            self._reschedule()

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        """One turn of the board: inputs fed together (a block's messages), then `after_turn`
        once. Turns may nest; only the outermost one ends with `after_turn`."""
        if self.in_turn:
            yield
            return
        self.in_turn = True
        try:
            yield
        finally:
            self.in_turn = False
            if self.after_turn is not None:
                self.after_turn()
            for watcher in self._turn_watchers:
                watcher()

    # --- the timer --------------------------------------------------------------------------

    def _fire(self) -> None:
        self._timer = None
        for watcher in self._wake_watchers:
            watcher(self.loop.time() - self._due_s)
        # A timer may fire a hair before its time (the loop's clock resolution); the board is
        # owed the event it was set for, so advance at least that far.
        with self.turn():
            self.board.advance(max(self.loop.time(), self._due_s))
            self._schedule()

    def _schedule(self) -> None:
        self._due_s = self.board.next_event_s()
        self._timer = self.loop.call_at(self._due_s, self._fire)

    def _reschedule(self) -> None:
        if self._timer is None:
            return
        if self.board.next_event_s() < self._due_s:
            self._timer.cancel()
            self._schedule()
