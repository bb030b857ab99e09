"""The one stop path: every stop input, from any source, ends in the same confirmed safe state.

    request(source, detail, fault=False) -> Future[StopOutcome]     synchronous part first:
      1. write STOP to the port at once (before any await), so input -> bytes is bounded by
         one function call;
      2. wait for the board to confirm: a StatusReport with state SHUTDOWN and outputs_safe,
         arriving after the stop was requested;
      3. no confirmation: write STOP again every STOP_REPEAT_INTERVAL_S;
      4. still none after STOP_ESCALATE_AFTER_S, or the port cannot be written: close the port,
         so the board's watchdog puts it in the safe state within 500 ms.

Stops that arrive while one is under way join it and share its outcome. A new input writes its STOP
at once (the message is idempotent) unless the board has already confirmed this stop; the same input
reported again (the remote's STOP key arrives as a StatusReport, a KeyPress and a menu action) is
one input: no second STOP, no second line in the outcome. A fault joining a confirmed stop still
writes Stop with cause FAULT, so that the board latches it. The outcome says how the stop ended,
with the latencies, and goes to the fault log. The stop path does not latch faults: a supervisor
trip latches (safety.faults) and then stops through here with `fault=True`, which sends Stop with
cause FAULT so that the board latches the shutdown too (until ClearFault, hardware.md 5).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from massagectl.firmware_bridge.messages import (
    DeviceState,
    HostStopCause,
    StatusReport,
    Stop,
)
from massagectl.safety.fault_log import FaultLog, LogEvent
from massagectl.safety.ports import BoardPort

# A lost immediate frame is re-sent after this long: twice the link's minimum retransmission
# timeout (25 ms), well below what a person notices.
STOP_REPEAT_INTERVAL_S = 0.05
# Five tries without an answer means the line or the board is not working: give up on it and
# let the board's 500 ms watchdog act, so it is safe at most ~0.75 s after the input.
STOP_ESCALATE_AFTER_S = 0.25


# Waits shorter than this are over: a float clock may not move for a wait of 1e-17 s.
TIME_RESOLUTION_S = 1e-6


class StopSource(StrEnum):
    REMOTE_KEY = "remote_key"  # the STOP key of the handheld remote (the board stopped already)
    TERMINAL = "terminal"  # Ctrl-C or `q` in the terminal
    MQTT = "mqtt"  # a stop command over MQTT
    SEAT_SENSOR = "seat_sensor"  # the occupant left the seat
    SUPERVISOR = "supervisor"  # a supervisor trip (a latched fault)
    SESSION_TIMER = "session_timer"  # the auto-off timer ran out
    BOARD = "board"  # the board shut down on its own and said so


class StopEnd(StrEnum):
    CONFIRMED = "confirmed"  # the board reported SHUTDOWN with every output safe
    ESCALATED = "escalated"  # no confirmation: the port was closed, the watchdog acts


@dataclass(frozen=True)
class StopOutcome:
    ended: StopEnd
    sources: tuple[StopSource, ...]  # the first started the stop; the rest joined it
    details: tuple[str, ...]
    requested_s: float  # host time of the first input
    written_s: float | None  # host time the first STOP bytes were written (None: write failed)
    confirmed_s: float | None
    stops_sent: int
    port_closed: bool
    confirmation: StatusReport | None = None
    error: str | None = None

    @property
    def write_latency_s(self) -> float | None:
        return None if self.written_s is None else self.written_s - self.requested_s

    @property
    def confirm_latency_s(self) -> float | None:
        return None if self.confirmed_s is None else self.confirmed_s - self.requested_s

    def summary(self) -> str:
        latency_s = self.confirm_latency_s
        if self.ended is StopEnd.CONFIRMED and latency_s is not None:
            return (f"confirmed safe after {latency_s * 1000:.1f} ms "
                    f"({self.stops_sent} STOP sent)")
        why = self.error or "no confirmation"
        return f"escalated: {why}; port closed after {self.stops_sent} STOP, board watchdog acts"


@dataclass
class _Attempt:
    source: StopSource
    detail: str
    requested_s: float
    future: asyncio.Future
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    sources: list[StopSource] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    written_s: float | None = None
    confirmed_s: float | None = None
    confirmation: StatusReport | None = None
    stops_sent: int = 0
    error: str | None = None
    task: asyncio.Task | None = None
    fault: bool = False  # a latched fault asked for this stop: the board latches it too


class StopPath:
    """See the module docstring. Feed it every message from the board (`on_message`)."""

    def __init__(
        self,
        port: BoardPort,
        log: FaultLog | None = None,
        *,
        repeat_interval_s: float = STOP_REPEAT_INTERVAL_S,
        escalate_after_s: float = STOP_ESCALATE_AFTER_S,
    ) -> None:
        self.port = port
        self.log = log if log is not None else FaultLog(None)
        self.repeat_interval_s = repeat_interval_s
        self.escalate_after_s = escalate_after_s
        self.last_outcome: StopOutcome | None = None
        self._active: _Attempt | None = None
        self._listeners: list[Callable[[StopSource, str], None]] = []

    def add_listener(self, callback: Callable[[StopSource, str], None]) -> Callable[[], None]:
        """Call `callback(source, detail)` on every stop request, after its STOP was written
        (the session follows stops that the supervisor or the board started). Returns the
        function that removes it: a chair's stop path outlives its sessions."""
        self._listeners.append(callback)

        def remove() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return remove

    @property
    def listener_count(self) -> int:
        return len(self._listeners)

    @property
    def stopping(self) -> bool:
        return self._active is not None

    def request(self, source: StopSource, detail: str = "", *,
                fault: bool = False) -> asyncio.Future[StopOutcome]:
        """Write STOP now and return a future for how the stop ends. Never raises.
        `fault`: the stop is for a latched fault, so the board is asked to latch it too."""
        loop = asyncio.get_running_loop()
        attempt = self._active
        if attempt is None:
            attempt = _Attempt(source, detail, loop.time(), loop.create_future(), fault=fault)
            self._active = attempt
            self._write(attempt, loop)
            attempt.task = loop.create_task(self._finish(attempt), name="safety-stop")
        else:
            if (source, detail) in zip(attempt.sources, attempt.details):
                return attempt.future  # the same input again: already written and logged
            upgrade = fault and not attempt.fault
            attempt.fault |= fault
            if attempt.confirmed_s is None or upgrade:
                self._write(attempt, loop)
        attempt.sources.append(source)
        attempt.details.append(detail)
        self.log.append(LogEvent.STOP, source, detail or "stop requested",
                        host_s=loop.time(), action="STOP sent" if attempt.error is None
                        else f"STOP not sent: {attempt.error}", outcome="requested")
        for callback in list(self._listeners):  # one may remove itself
            callback(source, detail)
        return attempt.future

    async def stop(self, source: StopSource, detail: str = "") -> StopOutcome:
        return await self.request(source, detail)

    def on_message(self, message: object, host_s: float) -> None:
        attempt = self._active
        if (attempt is not None and attempt.confirmed_s is None
                and isinstance(message, StatusReport) and message.state is DeviceState.SHUTDOWN
                and message.outputs_safe and host_s >= attempt.requested_s):
            attempt.confirmed_s = host_s
            attempt.confirmation = message
            attempt.wake.set()

    async def finished(self) -> StopOutcome | None:
        """Wait for the stop under way, if any (it is bounded in time); the last outcome."""
        if self._active is not None:
            await asyncio.shield(self._active.future)
        return self.last_outcome

    def _write(self, attempt: _Attempt, loop: asyncio.AbstractEventLoop) -> None:
        if attempt.error is not None:
            return
        try:
            cause = HostStopCause.FAULT if attempt.fault else HostStopCause.REQUESTED
            written = self.port.send_immediate(Stop(cause))
        except Exception as error:  # any failure to write means: escalate, never raise
            written, reason = False, str(error)
        else:
            reason = "the port is gone"
        if written is False:
            attempt.error = f"cannot write STOP: {reason}"
            attempt.wake.set()
            return
        attempt.stops_sent += 1
        if attempt.written_s is None:
            attempt.written_s = loop.time()

    async def _finish(self, attempt: _Attempt) -> None:
        loop = asyncio.get_running_loop()
        deadline_s = attempt.requested_s + self.escalate_after_s
        port_closed = False
        try:
            while attempt.confirmed_s is None and attempt.error is None:
                remaining_s = deadline_s - loop.time()
                if remaining_s <= TIME_RESOLUTION_S:
                    break
                try:
                    await asyncio.wait_for(attempt.wake.wait(),
                                           min(self.repeat_interval_s, remaining_s))
                except TimeoutError:
                    if loop.time() < deadline_s:
                        self._write(attempt, loop)
            if attempt.confirmed_s is None:
                port_closed = True
                try:
                    await self.port.close()
                except Exception as error:
                    attempt.error = (attempt.error or "") + f"; closing the port failed: {error}"
        finally:
            self._active = None
            outcome = StopOutcome(
                StopEnd.CONFIRMED if attempt.confirmed_s is not None else StopEnd.ESCALATED,
                tuple(attempt.sources), tuple(attempt.details), attempt.requested_s,
                attempt.written_s, attempt.confirmed_s, attempt.stops_sent, port_closed,
                attempt.confirmation, attempt.error,
            )
            self.last_outcome = outcome
            self.log.append(LogEvent.STOP, outcome.sources[0], ", ".join(outcome.details) or
                            "stop", host_s=loop.time(), action="STOP sent",
                            outcome=outcome.summary())
            if not attempt.future.done():
                attempt.future.set_result(outcome)
