"""The chair service's session operations: start, stop, pause, resume, intensity, heat,
timer and zones, each acting on the running session or refused in the owner's words.

A mixin of ChairService (controller.service.core), which holds the state these use
(declared in controller.service.parts).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from massagectl.controller.service.chair import Chair
from massagectl.controller.service.operations import (
    TIMER_CHOICES_MIN,
    ChairState,
    OperationRefused,
    Origin,
    Refused,
    SessionEnded,
    SessionStarted,
    SessionSummary,
)
from massagectl.controller.service.parts import ServiceParts
from massagectl.controller.service.traces import planned_trace_path, save_trace
from massagectl.controller.session.off_loop import off_loop
from massagectl.controller.session.preflight import preflight
from massagectl.controller.session.recorder import SessionRecorder
from massagectl.controller.session.session import Session, SessionOutcome
from massagectl.controller.session.state import SessionState, TransitionError
from massagectl.routines.device import close_matches
from massagectl.routines.errors import MassageError, UnknownNameError
from massagectl.routines.intensity import LEVELS
from massagectl.routines.library import builtin_routine_names, load_builtin
from massagectl.routines.routine import Routine
from massagectl.routines.user import UserProfile
from massagectl.safety import chair_record
from massagectl.safety.chair_record import ChairRecord
from massagectl.safety.limits import SafetyLimits
from massagectl.safety.stop_path import StopSource
from massagectl.safety.verdicts import AdmittedPlan

log = logging.getLogger(__name__)

_STOP_SOURCES = {
    Origin.REMOTE: StopSource.REMOTE_KEY, Origin.MQTT: StopSource.MQTT,
    Origin.SOCKET: StopSource.TERMINAL, Origin.TERMINAL: StopSource.TERMINAL,
    Origin.SERVICE: StopSource.TERMINAL,
}


@dataclass
class PendingStart:
    """A start accepted and being admitted (the chair shows it as scanning)."""

    routine: str
    origin: Origin
    chair: Chair  # the chair it was accepted on: if that goes, the start does too
    done: asyncio.Future[None]
    stopped: bool = False  # a stop came while it was admitted
    task: asyncio.Task | None = None


def _retrieved(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()  # the OperationRefused event said it; asyncio need not log it


class SessionActions(ServiceParts):
    """See the module docstring."""


    def _refuse(self, operation: str, origin: Origin, message: str,
                hint: str | None = None) -> Refused:
        error = Refused(operation, message, hint)
        log.info("%s from %s refused: %s", operation, origin, error)
        self._emit(OperationRefused(operation, str(error), origin))
        return error

    def start(self, routine: str, origin: Origin, *,
              intensity: int | None = None) -> asyncio.Future[None]:
        """Refuse at once what can be judged at once (raises Refused); then compile and admit
        the routine in a worker thread, so that a STOP arriving meanwhile acts at once, and
        begin the session. The future ends when the session has begun, or with Refused (also
        sent as an OperationRefused event) when admission refused it or a stop came first."""
        chair, record = self._refuse_a_start_now(origin)
        if intensity is not None and intensity not in LEVELS:
            raise self._refuse("start", origin, f"intensity {intensity} is not 1-5")
        try:
            chosen = self._routine(routine)
            user = self.user_folder.load(self.user_name)
            if self.timer_min is not None:
                user = user.model_copy(update={"limits": user.limits.model_copy(
                    update={"session_min": self.timer_min})})
            # The owner's budgets less the heat and cold the chair's zones still carry.
            limits, notes = record.remaining(self.config.limits, self.device,
                                             chair_record.wall_clock())
        except MassageError as error:
            raise self._refuse("start", origin, str(error.message), error.hint) from None
        for note in notes:
            log.info("%s", note)
        loop = asyncio.get_running_loop()
        pending = PendingStart(chosen.name, origin, chair, loop.create_future())
        pending.done.add_done_callback(_retrieved)  # awaiting it is the caller's choice
        self._starting = pending
        pending.task = loop.create_task(
            self._admit_and_begin(pending, chosen, user, intensity, limits),
            name=f"admitting {chosen.name}")
        self._changed()
        return pending.done

    def _refuse_a_start_now(self, origin: Origin) -> tuple[Chair, ChairRecord]:
        """Refused (raises) unless a routine may start now; the chair and its record."""
        state = self.state()
        chair, record = self.chair, self.record  # both set once a board is connected
        if state is ChairState.DISCONNECTED or chair is None or record is None:
            raise self._refuse("start", origin, "the chair is not connected",
                               "check the cable and the chair's power; it reconnects by itself")
        if state is ChairState.FAULT:
            faults = self.snapshot().faults
            if not faults:
                raise self._refuse("start", origin, "the board is still clearing its fault",
                                   "try again in a moment")
            raise self._refuse("start", origin, f"a fault is latched: {faults[0]}",
                               "check the chair, then clear the fault (OK on the remote)")
        if state is not ChairState.IDLE:
            raise self._refuse("start", origin, f"the chair is {state}",
                               "stop the session first")
        if origin is Origin.MQTT:
            if not self.remote_start_allowed:
                raise self._refuse("start", origin, "home automation may not start a routine",
                                   "allow it in the remote's settings")
            if self._seat_occupied() is not True:
                raise self._refuse("start", origin, "nobody is sitting in the chair",
                                   "a routine starts from home automation only with the "
                                   "seat occupied")
        return chair, record

    async def _admit_and_begin(self, pending: PendingStart, routine: Routine,
                               user: UserProfile, intensity: int | None,
                               limits: SafetyLimits) -> None:
        refused: Refused | None = None
        try:
            # What run admits, refused the same; off the loop (controller.session.off_loop).
            admitted = await off_loop(preflight, routine, self.device, user, limits)
        except MassageError as error:
            refused = self._refuse("start", pending.origin, str(error.message), error.hint)
        except Exception as error:  # a bug: refuse the start, keep the service
            log.exception("admitting %s failed", routine.name)
            refused = self._refuse("start", pending.origin,
                                   f"admitting the routine failed: {error}")
        self._starting = None
        if refused is None:
            if pending.stopped:
                refused = self._refuse("start", pending.origin,
                                       "stopped before the routine began")
            elif self.chair is not pending.chair or not pending.chair.link.connected:
                refused = self._refuse("start", pending.origin,
                                       "the chair went away before the routine began",
                                       "start it again once the chair is back")
            else:
                try:
                    self._refuse_a_start_now(pending.origin)  # a fault latched meanwhile
                except Refused as error:
                    refused = error
        if refused is None:
            self._begin(pending.chair, routine, user, pending.origin, intensity, limits,
                        admitted)
            if not pending.done.done():  # a caller that cancelled its wait cancelled this
                pending.done.set_result(None)
        else:
            self._changed()
            if not pending.done.done():
                pending.done.set_exception(refused)

    def _routine(self, name: str) -> Routine:
        own = self._own_routines()
        if name in own:
            return own[name]
        builtin = builtin_routine_names()
        if name in builtin:
            return load_builtin(name)
        known = [*builtin, *own]
        raise UnknownNameError("routine", name, close_matches(name, known), known)

    def _begin(self, chair: Chair, routine: Routine, user: UserProfile, origin: Origin,
               intensity: int | None, limits: SafetyLimits, admitted: AdmittedPlan) -> None:
        loop = asyncio.get_running_loop()
        recorder = SessionRecorder(self.device, chair.link, loop.time())
        recorder.routine = routine.name
        remove = chair.add_listener(recorder.on_message)
        session = Session(chair, routine, user, limits=limits,
                          intensity=intensity or self.next_intensity, body_scan=self.body_scan,
                          recorder=recorder, on_change=self._changed, admitted=admitted)
        for zone in self.zones_off:
            session.set_zone(zone, False)
        self.session, self._recorder = session, recorder
        self._session_origin = origin
        self._session_started = datetime.now(UTC).isoformat(timespec="seconds")
        self._session_start_host_s = loop.time()
        self._session_changes = []
        self.session_task = loop.create_task(self._run_session(session, remove),
                                             name=f"session {routine.name}")
        log.info("%s started from %s for %s", routine.name, origin, user.name)
        self._emit(SessionStarted(routine.name, self.user_name, origin))
        self._changed()

    async def _run_session(self, session: Session, remove: Callable[[], None]) -> None:
        outcome: SessionOutcome | None = None
        ended, detail = "error", ""
        try:
            outcome = await session.run()
            ended, detail = outcome.ended, outcome.detail
        except MassageError as error:
            detail = str(error)
        except Exception as error:
            log.exception("the session failed")
            detail = f"{type(error).__name__}: {error}"
        finally:
            remove()
            self._cancel_timer()
            self.keep_record()
            recorder, trace = self._recorder, self._plan_trace(session)
            summary = SessionSummary(
                routine=session.routine.name, user=self.user_name,
                started=self._session_started,
                ended=datetime.now(UTC).isoformat(timespec="seconds"), ended_how=ended,
                detail=detail, massage_s=outcome.massage_s if outcome else 0.0,
                origin=str(self._session_origin), trace=None if trace is None else str(trace),
                profile_changes=tuple(self._session_changes),
            )
            # Known at once (status, the remote, MQTT); on disk a moment later, in order.
            if self.history is not None:
                self.history.remember(summary)
            self.last_summary = summary
            self.session = None
            self.session_task = None
            log.info("%s %s: %s", summary.routine, ended, detail)
            self._emit(SessionEnded(summary))
            self._changed()
            self._write_session(summary, recorder, trace)

    def _plan_trace(self, session: Session) -> Path | None:
        """Where the session's trace will be saved (controller.service.traces)."""
        if self._recorder is None:
            return None
        folder = getattr(self, "state_folder", self.config.logs.directory) / "traces"
        try:
            trace = planned_trace_path(self._recorder, folder, session.routine.name,
                                       self._traces_planned)
        except OSError as error:
            log.warning("could not save the trace in %s: %s", folder, error)
            return None
        self._traces_planned.add(trace)
        return trace

    def _write_session(self, summary: SessionSummary, recorder: SessionRecorder | None,
                       trace: Path | None) -> None:
        """The trace, then the history, in the file writer's thread (after the chair's record,
        queued by keep_record): the loop goes on serving STOP meanwhile."""
        history = self.history

        def write() -> SessionSummary:
            saved = summary
            if recorder is not None and trace is not None:
                try:
                    path: str | None = str(save_trace(recorder, trace.parent, summary.routine))
                except OSError as error:
                    log.warning("could not save the trace in %s: %s", trace.parent, error)
                    path = None
                if path != summary.trace:  # another process took the name, or none was saved
                    saved = replace(summary, trace=path)
                    if history is not None:
                        history.replace(summary, saved)
            if history is not None:
                history.write()
            return saved

        def written(task: asyncio.Task[SessionSummary | None]) -> None:
            if trace is not None:
                self._traces_planned.discard(trace)
            saved = None if task.cancelled() or task.exception() else task.result()
            if saved is not None and saved is not summary and self.last_summary is summary:
                self.last_summary = saved

        task = self.files_writer.write(write, f"the trace and history of {summary.routine}")
        task.add_done_callback(written)

    def stop(self, origin: Origin, detail: str = "") -> None:
        source = _STOP_SOURCES[origin]
        detail = detail or f"stop from the {origin}"
        if self._starting is not None:
            self._starting.stopped = True  # the routine being admitted never begins
        if self.session is not None:
            self.session.stop(source, detail)
        elif self.chair is not None:
            self.chair.stop_path.request(source, detail)
        self._changed()

    def _session_or_refuse(self, operation: str, origin: Origin, what: str) -> Session:
        if self.session is None:
            raise self._refuse(operation, origin, f"nothing is running to {what}",
                               "start a routine first")
        return self.session

    def pause(self, origin: Origin) -> None:
        session = self._session_or_refuse("pause", origin, "pause")
        try:
            session.pause()
        except TransitionError as error:
            raise self._refuse("pause", origin, error.message, error.hint) from None

    def resume(self, origin: Origin) -> None:
        session = self._session_or_refuse("resume", origin, "resume")
        try:
            session.resume()
        except TransitionError as error:
            raise self._refuse("resume", origin, error.message, error.hint) from None

    def set_intensity(self, level: int, origin: Origin) -> int:
        if level not in LEVELS:
            raise self._refuse("intensity", origin, f"intensity {level} is not 1-5",
                               "choose a level from 1 (gentlest) to 5 (strongest)")
        if self.session is None:
            self.next_intensity = level
            self._changed()
            return level
        return self.session.change_intensity(level - self.session.level)

    def change_intensity(self, delta: int, origin: Origin) -> int:
        current = self.session.level if self.session is not None else self._idle_intensity()
        level = min(max(current + delta, min(LEVELS)), max(LEVELS))
        return self.set_intensity(level, origin)

    def set_heat(self, on: bool, origin: Origin) -> bool:
        session = self._session_or_refuse("heat", origin, "heat")
        if session.state is not SessionState.RUNNING:
            raise self._refuse("heat", origin, f"heat can be switched while a routine runs, "
                               f"not while it is {session.state}")
        if session.heat_on != on:
            session.toggle_heat()
        if on and not session.heat_on:
            raise self._refuse("heat", origin, "this routine uses no heat now")
        return session.heat_on

    def set_timer(self, minutes: int, origin: Origin) -> int:
        if minutes not in TIMER_CHOICES_MIN:
            raise self._refuse("timer", origin, f"{minutes} min is not a timer setting",
                               "choose " + ", ".join(map(str, TIMER_CHOICES_MIN)) + " min")
        if self._starting is not None:
            # The starting session's limits are fixed already: a shorter timer set now would
            # show and not count.
            raise self._refuse("timer", origin, "a routine is starting",
                               "set the timer again once it runs")
        if self.session is None:
            self.timer_min = minutes
            self._changed()
            return minutes
        if self.timer_min is not None and minutes >= self.timer_min:
            raise self._refuse("timer", origin, f"the timer is at {self.timer_min} min; during "
                               "a session it can only be shortened",
                               "stop the session and start another for more time")
        self.timer_min = minutes
        loop = asyncio.get_running_loop()
        due_s = self._session_start_host_s + minutes * 60.0
        self._cancel_timer()
        self._timer_handle = loop.call_at(max(due_s, loop.time()), self.stop, Origin.SERVICE,
                                          f"timer: {minutes} min are up")
        self._changed()
        return minutes

    def _cancel_timer(self) -> None:
        if self._timer_handle is not None:
            self._timer_handle.cancel()
            self._timer_handle = None

    def set_zone(self, zone: str, on: bool, origin: Origin) -> None:
        if zone not in self.zones():
            raise self._refuse("zone", origin, f"the {self.device.name} has no zone {zone!r}",
                               "zones: " + ", ".join(self.zones()))
        if self.session is not None:
            try:
                self.session.set_zone(zone, on)
            except MassageError as error:
                raise self._refuse("zone", origin, error.message, error.hint) from None
        if on:
            self.zones_off.discard(zone)
        else:
            self.zones_off.add(zone)
        self._changed()
