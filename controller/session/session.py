"""One massage session on a connected chair: scan, run, pause, resume, stop, end safe.

    session = Session(chair, routine, user, limits=owner_limits, intensity=3)
    outcome = await session.run()        # returns when the board is safe again
    session.pause(); session.resume()    # from the remote, the terminal or MQTT
    session.change_intensity(-1); session.toggle_heat(); session.stop(StopSource.TERMINAL)

The run: compile at intensity level 5 -> admit -> (body scan -> compile and admit again with the
scanned shoulder line) -> stream the admitted plan ahead of the board's clock, every segment
checked by the supervisor first -> the plan's cool-down -> Stop, confirmed safe, Reset. The
owner's intensity level is the board's intensity scale over the level-5 plan, so intensity
changes act at once and can never exceed what admission accepted. Compiling and admitting run
in a worker thread (controller.session.off_loop), so a stop never waits behind them; a plan
admitted already (the chair service admits before it accepts a start) is not compiled again.

Every stop, whoever asks (the remote's STOP key, Ctrl-C, MQTT, the seat sensor, a supervisor
trip, the session timer), goes through the chair's one stop path; the session only follows it
to the end. A stop that comes before or while the session starts ends it there: the board stays
stopped (no Reset after the stop, no scan or plan sent after it). A pause makes the board safe
(Stop, confirmed, Reset) and remembers where the routine was; a resume admits the rest of it
behind a gentle ramp back in (controller.resume).
States and their transitions are in controller.state.

Time: every plan the session runs (the body scan, the routine, each rest of it after a pause) is
one supervisor session (`begin_session`, then `continue_session`), so its time on the chair,
its timer and the heat it has spent carry over and nothing a person presses resets them
(safety.chair_time). The session itself only tracks how far through the routine it is
(controller.session.routine_clock).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from massagectl.controller.service.chair import Chair
from massagectl.controller.session.body_scan import (
    ScanError,
    ScanResult,
    find_shoulder_line,
    scan_plan,
    scan_supported,
    scanned_user,
)
from massagectl.controller.session.notes import END_SLACK_S, plan_notes, timer_note
from massagectl.controller.session.off_loop import off_loop
from massagectl.controller.session.preflight import COMPILE_LEVEL, admit_or_raise, preflight
from massagectl.controller.session.recorder import SessionRecorder
from massagectl.controller.session.resume import rest_of_plan
from massagectl.controller.session.routine_clock import PlanOnBoard, step_at
from massagectl.controller.session.state import (
    SessionEvent,
    SessionState,
    TransitionError,
    next_state,
)
from massagectl.firmware_bridge.messages import SensorReport
from massagectl.firmware_bridge.streamer import anchor_after, wire_segments
from massagectl.routines.compiler import resolve_intensity
from massagectl.routines.device import ChannelKind, SensorKind, Zone
from massagectl.routines.errors import InputError, MassageError, RefusedError
from massagectl.routines.intensity import LEVELS
from massagectl.routines.plan import Plan
from massagectl.routines.routine import Routine
from massagectl.routines.user import UserProfile
from massagectl.safety.faults import Fault, FaultCause
from massagectl.safety.limits import DEFAULT_LIMITS, SafetyLimits
from massagectl.safety.stop_path import StopEnd, StopOutcome, StopSource
from massagectl.safety.supervisor import SegmentRefusedError
from massagectl.safety.verdicts import AdmittedPlan

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class SessionSnapshot:
    """What a display needs: the remote, the terminal, MQTT."""

    state: SessionState
    routine: str
    elapsed_s: float  # routine time reached (pauses and ramps back in excluded)
    duration_s: float
    step: str
    intensity: int
    heat_on: bool
    faults: tuple[str, ...]
    readings: dict[str, float] = field(default_factory=dict)
    zones_off: tuple[str, ...] = ()  # body zones the owner switched off
    heat_off: bool = False  # the owner switched heat off (it stays off until switched on)
    scan_elapsed_s: float = 0.0  # while the body scan runs: how far it is, and how long
    scan_duration_s: float = 0.0

    @property
    def remaining_s(self) -> float:
        return max(0.0, self.duration_s - self.elapsed_s)


@dataclass(frozen=True)
class SessionOutcome:
    routine: str
    # "finished"; "stopped" (a person or the timer); "fault" (a latched fault); "error" (it
    # could not go on: a failed body scan, or the scanned plan refused)
    ended: str
    detail: str
    massage_s: float  # routine time reached
    stop: StopOutcome | None = None
    faults: tuple[str, ...] = ()
    scan: ScanResult | None = None
    notes: tuple[str, ...] = ()
    chair_s: float = 0.0  # time on the chair: scan and ramps included, pauses not


class Session:
    """See the module docstring. One session, run once."""

    def __init__(
        self,
        chair: Chair,
        routine: Routine,
        user: UserProfile,
        *,
        limits: SafetyLimits = DEFAULT_LIMITS,
        intensity: int | None = None,
        body_scan: bool = True,
        recorder: SessionRecorder | None = None,
        on_change: Callable[[], None] | None = None,
        admitted: AdmittedPlan | None = None,
    ) -> None:
        self.chair = chair
        self.device = chair.device
        self.routine = routine
        self.user = user
        self.limits = limits
        self.level = resolve_intensity(routine, user, intensity)
        self.want_scan = body_scan
        self.recorder = recorder
        self.on_change = on_change or (lambda: None)
        self.state = SessionState.IDLE
        self.notes: list[str] = []
        self.scan: ScanResult | None = None
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._requests: deque[SessionEvent] = deque()
        self._stop_seen = False
        self._streaming: asyncio.Task | None = None
        self.plan: Plan | None = None  # the routine's plan, as admitted
        self._on_board: PlanOnBoard | None = None  # the plan the board runs now
        self._routine_s = 0.0  # routine time reached when the last plan of it stopped
        self._began = False  # the supervisor's session has begun (the rest continue it)
        self.anchor_clock: int | None = None
        self._heat_ids = [c.id for c in self.device.channels_of(ChannelKind.HEAT)]
        self.heat_on = False
        self._plan_heat_ids: list[str] = []  # heat channels the running plan uses
        # Channels the owner switched off (heat, zones): kept over a pause and a resume.
        self._owner_off: set[str] = set()
        self._zones_off: set[str] = set()  # zones switched off as a whole, by set_zone
        self._error: str | None = None  # why the session could not go on (refusal, scan)
        # The routine's plan as admitted by whoever prepared the session (the chair service
        # admits it before it accepts a start); None: run() compiles and admits it.
        self._admitted = admitted
        # The displays ask for the step at work every second: the answer holds from one segment
        # boundary to the next, (plan, from_s, until_s, step) of the last one worked out.
        self._step_span: tuple[Plan, float, float, str] | None = None
        self._zones = [str(z) for z in Zone if any(c.zone is z for c in self.device.channels)]
        # Removed when run() ends: the chair (and its stop path) outlives its sessions.
        self._remove_stop_listener = chair.stop_path.add_listener(self._on_stop)

    # --- requests (any source) ----------------------------------------------------------------

    def stop(self, source: StopSource, detail: str = "") -> None:
        """Stop now: STOP is written before this returns, the rest follows in `run`."""
        self.chair.stop_path.request(source, detail or f"stop from {source}")

    def pause(self) -> None:
        self._request(SessionEvent.PAUSE)

    def resume(self) -> None:
        self._request(SessionEvent.RESUME)

    def _request(self, event: SessionEvent) -> None:
        next_state(self.state, event)  # refuses a request the state does not accept
        self._requests.append(event)
        self._wake.set()

    def change_intensity(self, delta: int) -> int:
        """Intensity up or down by levels; acts on the board at once. Returns the new level."""
        level = min(max(self.level + delta, min(LEVELS)), max(LEVELS))
        if level != self.level and self.state is SessionState.RUNNING:
            self.chair.runtime.set_level(level)
            self._record("intensity", f"level {level}", scale=self.chair.runtime.scale)
        self.level = level
        self.on_change()
        return level

    def toggle_heat(self) -> bool:
        """Heat off (at once), or back on within what admission accepted. Before the routine
        runs (the body scan) or while paused, the choice holds from the next start on.
        Returns whether heat is wanted now."""
        if not self._heat_ids or self.state not in (
                SessionState.RUNNING, SessionState.SCANNING, SessionState.PAUSED):
            return self.heat_on
        wanted = set(self._owner_off)
        if self.heat_off():
            # Back on, except in zones the owner switched off as a whole.
            wanted.difference_update(
                i for i in self._heat_ids if str(self.device.channel(i).zone) not in
                self._zones_off)
        else:
            wanted.update(self._heat_ids)
        if self.state is not SessionState.RUNNING:
            self._owner_off = wanted  # applied when the routine runs
            self.on_change()
            return not self.heat_off()
        self._apply_owner_choices(wanted)
        self._record("channels", "heat " + ("on" if self.heat_on else "off"),
                     mask=self.chair.runtime.enabled_mask)
        self.on_change()
        return self.heat_on

    def heat_off(self) -> bool:
        """The owner switched heat off (every heater of the device is in the owner's off set)."""
        return bool(self._heat_ids) and all(i in self._owner_off for i in self._heat_ids)

    def set_zone(self, zone: Zone | str, on: bool) -> None:
        """Switch every channel of a body zone (its airbags, its heat) off at once, or back on
        within what admission accepted. Kept over a pause; the roller has no zone to switch."""
        try:
            zone = Zone(zone)
        except ValueError:
            raise InputError(f"unknown zone {zone!r}",
                             f"zones of the {self.device.name}: {', '.join(self.zones())}"
                             ) from None
        ids = [c.id for c in self.device.channels if c.zone is zone]
        if not ids:
            raise InputError(f"the {self.device.name} has nothing to switch in zone {zone}",
                             f"zones of the {self.device.name}: {', '.join(self.zones())}")
        wanted = set(self._owner_off)
        if on:
            wanted.difference_update(ids)
        else:
            wanted.update(ids)
        if self.state is not SessionState.RUNNING:
            self._owner_off = wanted  # applied when the session runs again
        else:
            self._apply_owner_choices(wanted)
            self._record("channels", f"{zone} {'on' if on else 'off'}",
                         mask=self.chair.runtime.enabled_mask)
        if on:
            self._zones_off.discard(str(zone))
        else:
            self._zones_off.add(str(zone))
        self.on_change()

    def zones(self) -> list[str]:
        """The zones `set_zone` can switch on this device, head to toe."""
        return list(self._zones)

    def zones_off(self) -> tuple[str, ...]:
        """Zones the owner switched off as a whole (heat switched off is not a zone off)."""
        zones_off = self._zones_off
        return tuple(z for z in self._zones if z in zones_off) if zones_off else ()

    def _apply_owner_choices(self, owner_off: set[str] | None = None) -> None:
        """Make the board's channel mask what admission allows minus what the owner switched
        off (`owner_off`, which becomes the owner's choice once the board took it). Only ever
        lowers what admission accepted (RuntimeLimits refuses anything else)."""
        if owner_off is not None:
            previous, self._owner_off = self._owner_off, owner_off
            try:
                self._apply_owner_choices()
            except MassageError:
                self._owner_off = previous  # refused: nothing changed
                self._apply_owner_choices()
                raise
            return
        runtime = self.chair.runtime
        off, on = [], []
        for index, channel in enumerate(self.device.channels):
            wanted = channel.id not in self._owner_off and runtime.admitted_mask >> index & 1
            if runtime.enabled(index) and not wanted:
                off.append(channel.id)
            elif wanted and not runtime.enabled(index):
                on.append(channel.id)
        if off:
            runtime.channels_off(off)
        if on:
            runtime.channels_on(on)
        self.heat_on = any(runtime.enabled(self.device.channel_index(i))
                           for i in self._plan_heat_ids)

    def _on_stop(self, source: StopSource, detail: str) -> None:
        if not self._stop_seen:
            self._routine_s = max(self._routine_s, self.elapsed_s())
        self._stop_seen = True
        self._cancel_streaming()
        self._record("stop", f"{source}: {detail}")
        self._wake.set()

    # --- what is happening --------------------------------------------------------------------

    def snapshot(self) -> SessionSnapshot:
        elapsed_s = self.elapsed_s()
        # Before the scan has placed it, the plan's length is the routine's.
        duration_s = self.plan.duration_s if self.plan is not None else self.routine.duration_s
        scan_elapsed_s = scan_duration_s = 0.0
        if self.state is SessionState.SCANNING and self._on_board is not None:
            scan_duration_s = self._on_board.plan.duration_s
            scan_elapsed_s = min(max(0.0, self._loop.time() - self._on_board.start_host_s),
                                 scan_duration_s)
        return SessionSnapshot(
            state=self.state, routine=self.routine.name, elapsed_s=elapsed_s,
            duration_s=duration_s, step=self.current_step(elapsed_s), intensity=self.level,
            heat_on=self.heat_on, faults=tuple(str(f) for f in self.chair.latch.faults),
            readings=dict(self.chair.readings), zones_off=self.zones_off(),
            heat_off=self.heat_off(), scan_elapsed_s=scan_elapsed_s,
            scan_duration_s=scan_duration_s,
        )

    def elapsed_s(self) -> float:
        """Routine time reached so far."""
        on_board = self._on_board
        if self.state is SessionState.RUNNING and on_board is not None and self.plan is not None:
            return min(on_board.routine_s(self._loop.time()), self.plan.duration_s)
        return self._routine_s

    def chair_s(self) -> float:
        """Time on the chair so far: what the session timer counts."""
        chair_time = self.chair.supervisor.chair_time
        return chair_time.on_chair_s(self._loop.time()) if self._began and chair_time else 0.0

    def current_step(self, elapsed_s: float) -> str:
        """The techniques at work now, e.g. "knead + heat" (parallel tracks joined)."""
        if self.state is SessionState.SCANNING:
            return "body scan"
        plan = self.plan
        if plan is None:
            return ""
        span = self._step_span
        if span is None or span[0] is not plan or not span[1] <= elapsed_s < span[2]:
            step, from_s, until_s = step_at(plan, elapsed_s)
            span = self._step_span = (plan, from_s, until_s, step)
        return span[3]

    # --- the run ------------------------------------------------------------------------------

    async def run(self) -> SessionOutcome:
        """Run the session to its end; the board is safe when this returns. A stop at any
        moment, from before this is called on, ends it in the stop path's safe state."""
        try:
            return await self._run()
        finally:
            self._remove_stop_listener()

    async def _run(self) -> SessionOutcome:
        self.chair.supervisor.latch.raise_if_latched()
        try:
            if self.chair.stop_path.stopping and not self._stop_seen:
                await self.chair.stop_path.finished()
            # A clean start: queue empty, READY, outputs safe. A stop asked for before or
            # during it is not undone by its Reset: the board stays stopped.
            if self._stop_seen or not await self.chair.link.hold_safe(
                    stay_stopped=lambda: self._stop_seen):
                return await self._end()
            admitted = self._admitted
            if admitted is None:
                admitted = await off_loop(preflight, self.routine, self.device, self.user,
                                          self.limits)
            if self._stop_seen:
                return await self._end()
        except MassageError:
            raise  # refused, or the link failed: the board is safe or its watchdog acts
        except BaseException as error:  # a bug, a cancelled task: the board ends stopped
            if not self._stop_seen:
                self.stop(StopSource.SUPERVISOR,
                          f"the session could not start: {type(error).__name__}: {error}")
            raise
        self.notes += plan_notes(admitted)
        self._set(SessionEvent.START)
        try:
            if self.want_scan:
                admitted = await self._scan_and_admit_again(admitted)
            if not self._stop_seen:
                self.plan = admitted.plan
                self._note_if_the_timer_ends_it(admitted)
                self._set(SessionEvent.SCANNED if self.scan is not None
                          else SessionEvent.SKIP_SCAN)
                self._start(admitted)
                await self._follow()
        except (RefusedError, ScanError) as error:
            self._error = str(error)
            if not self._stop_seen:
                self.stop(StopSource.SUPERVISOR, f"the session could not go on: {error}")
        except BaseException as error:
            # Whatever went wrong (a bug, a lost link, a cancelled task), the board ends safe
            # through the one stop path (below) before the error goes on.
            if not self._stop_seen:
                self.stop(StopSource.SUPERVISOR,
                          f"the session failed: {type(error).__name__}: {error}")
            raise
        finally:
            await self._finish_streaming()
            outcome = await self._end()
        return outcome

    def _note_if_the_timer_ends_it(self, admitted: AdmittedPlan) -> None:
        # The body scan counts: it is time on the chair.
        note = timer_note(admitted.plan.duration_s, admitted.auto_off_s,
                          self.chair_s() if self._began else 0.0)
        if note is not None:
            self.notes.append(note)

    async def _follow(self) -> None:
        """Wait for the end of the plan, a stop, or a request, and act on each."""
        while not self._stop_seen:
            if self._requests:
                event = self._requests.popleft()
                if event is SessionEvent.PAUSE and self.state is SessionState.RUNNING:
                    await self._pause()
                elif event is SessionEvent.RESUME and self.state is SessionState.PAUSED:
                    await self._resume()
                continue
            if self.state is SessionState.RUNNING:
                assert self._on_board is not None  # a running session has its plan on the board
                remaining_s = self._on_board.end_host_s - self._loop.time()
                if remaining_s <= END_SLACK_S:
                    self._routine_s = self.elapsed_s()
                    self._set(SessionEvent.FINISHED)
                    return
                await self._wait(remaining_s)
            else:
                await self._wait(None)

    async def _wait(self, timeout_s: float | None) -> None:
        self._wake.clear()
        if self._stop_seen or self._requests:
            return
        try:
            await asyncio.wait_for(self._wake.wait(), timeout_s)
        except TimeoutError:
            pass

    def _start(self, admitted: AdmittedPlan, ramp_s: float = 0.0, from_s: float = 0.0,
               level: int | None = None) -> None:
        """Supervise `admitted` as this session's next plan and stream it, starting a moment
        from now; its plan time `ramp_s` is routine time `from_s`."""
        link, supervisor = self.chair.link, self.chair.supervisor
        anchor = anchor_after(link)
        start_host_s = link.clock.host_time_at(link.clock.unwrap(anchor))
        if self._began:
            supervisor.continue_session(admitted, start_host_s, anchor_clock=anchor)
        else:
            supervisor.begin_session(admitted, start_host_s, anchor_clock=anchor)
            self._began = True
        self.chair.runtime.set_level(self.level if level is None else level)
        self._plan_heat_ids = [i for i in self._heat_ids if admitted.plan.channel_table(i).size]
        self._apply_owner_choices()
        self._on_board = PlanOnBoard(admitted.plan, start_host_s, ramp_s, from_s)
        self.anchor_clock = anchor  # the board clock at which the running plan's time 0 falls
        segments = wire_segments(admitted.plan, anchor, self.chair.clock_hz)
        self._streaming = self._loop.create_task(self._stream(segments), name="streaming")
        self._record("plan", admitted.plan.routine)
        self._record("intensity", f"level {self.level if level is None else level}",
                     scale=self.chair.runtime.scale)
        self._record("channels", "as admitted" + (", less the owner's choices"
                                                  if self._owner_off else ""),
                     mask=self.chair.runtime.enabled_mask)
        self.on_change()

    async def _stream(self, segments) -> None:
        link, supervisor = self.chair.link, self.chair.supervisor
        try:
            for segment in segments:
                supervisor.check_segment(segment)  # refuses, trips and stops on a violation
                await link.schedule(segment)
                if self.recorder is not None:
                    self.recorder.on_segment(segment)
        except SegmentRefusedError as error:
            log.warning("streaming ended: %s", error)
        except MassageError as error:  # the link refused it, or the link is gone
            self.stop(StopSource.SUPERVISOR, f"streaming failed: {error}")
        except Exception as error:  # a bug must not leave the board running out of segments
            log.exception("streaming failed")
            self.stop(StopSource.SUPERVISOR, f"streaming failed: {type(error).__name__}: {error}")

    @property
    def running_plan(self) -> Plan | None:
        """The plan on the board now: the routine's, the scan, or the rest after a pause."""
        return self._on_board.plan if self._on_board is not None else None

    async def _pause(self) -> None:
        self._routine_s = self.elapsed_s()
        self._set(SessionEvent.PAUSE)
        await self._finish_streaming()
        self.chair.supervisor.pause_session(self._loop.time())
        self._record("pause", f"at {self._routine_s:.1f} s")
        try:
            await self.chair.link.hold_safe()
        except MassageError as error:  # the board did not confirm: stop the hard way
            self.stop(StopSource.SUPERVISOR, f"pausing failed: {error}")

    async def _resume(self) -> None:
        drives = {c.id: self.chair.readings[s.id] for c in self.device.channels
                  if c.kind.holds_position
                  for s in self.device.sensors_of(SensorKind.POSITION, c.id)
                  if s.id in self.chair.readings}
        chair_time = self.chair.supervisor.chair_time
        assert self.plan is not None and chair_time is not None  # paused: it ran before
        rest = rest_of_plan(self.plan, self._routine_s, drives)
        # Judged against what the session has left of its heat budgets; where the rest would
        # go beyond them, heat ends early (adapt) rather than the session with an error.
        # A copy: the supervisor goes on counting on the loop while the thread reads it.
        spent = {index: replace(heat) for index, heat in chair_time.heat.items()}
        admitted = await off_loop(admit_or_raise, rest.plan, self.device, self.user,
                                  self.limits, mode="adapt", spent=spent)
        if self._stop_seen:
            return  # stopped while the rest was admitted: nothing starts
        for change in admitted.changes:  # one note per channel and reason, not per resume
            note = f"after a pause, {change.channel}: {change.after} ({change.why})"
            if note not in self.notes:
                self.notes.append(note)
        self._set(SessionEvent.RESUME)
        self._start(admitted, ramp_s=rest.ramp_s, from_s=rest.from_s)
        self._record("resume", f"from {rest.from_s:.1f} s, ramp {rest.ramp_s:.1f} s")

    async def _scan_and_admit_again(self, admitted: AdmittedPlan) -> AdmittedPlan:
        if not scan_supported(self.device):
            self.notes.append(f"no body scan: device {self.device.name!r} cannot feel the "
                              "back (no depth drive with a load sensor); using the profile's "
                              "shoulder height")
            return admitted
        scan = scan_plan(self.device)
        scan_admitted = await off_loop(admit_or_raise, scan.plan, self.device, self.user,
                                       self.limits)
        position = self.device.channels_of(ChannelKind.POSITION)[0]
        depth = self.device.channels_of(ChannelKind.DEPTH)[0]
        position_index = [s.id for s in self.device.sensors].index(
            self.device.sensors_of(SensorKind.POSITION, position.id)[0].id)
        load_index = [s.id for s in self.device.sensors].index(
            self.device.sensors_of(SensorKind.CURRENT, depth.id)[0].id)
        samples: list[tuple[float, float, float]] = []
        pending: dict[int, float] = {}

        def collect(message: object, host_s: float) -> None:
            if not isinstance(message, SensorReport):
                return
            for offset, value in enumerate(message.values):
                index = message.first_index + offset
                if index in (position_index, load_index):
                    pending[index] = value
            if len(pending) == 2:
                samples.append((host_s, pending[position_index], pending[load_index]))
                pending.clear()

        if self._stop_seen:
            return admitted
        remove = self.chair.add_listener(collect)
        try:
            # At full scale: the scan's depth is chosen for feeling the back, not for comfort.
            self._start(scan_admitted, level=COMPILE_LEVEL)
            on_board = self._on_board
            assert on_board is not None  # _start put it there
            end_s = on_board.end_host_s
            while not self._stop_seen and self._loop.time() < end_s - END_SLACK_S:
                await self._wait(end_s - self._loop.time())
                self._requests.clear()  # a pause cannot interrupt the scan; STOP can
        finally:
            remove()
            self.chair.supervisor.pause_session(self._loop.time())  # the routine follows
            await self._finish_streaming()
        if self._stop_seen:
            return admitted
        travel_from = on_board.start_host_s + scan.travel_from_s + DEPTH_SETTLE_S
        travel_to = on_board.start_host_s + scan.travel_to_s
        picked = np.array([(p, load) for t, p, load in samples if travel_from <= t <= travel_to])
        if len(picked) == 0:
            raise ScanError("no telemetry arrived during the body scan")
        self.scan = find_shoulder_line(picked[:, 0], picked[:, 1], scan.track_base_mm)
        self.user = scanned_user(self.user, self.scan)
        self._record("scan", f"shoulder line {self.scan.shoulder_height_mm:.1f} mm")
        return await off_loop(preflight, self.routine, self.device, self.user, self.limits)

    async def _end(self) -> SessionOutcome:
        """Bring the board to its safe state and say how the session ended."""
        supervisor = self.chair.supervisor
        supervisor.end_session()
        outcome: StopOutcome | None = None
        if self._stop_seen:
            self._set(SessionEvent.STOP)
            outcome = await self.chair.stop_path.finished()
        else:
            self._set(SessionEvent.STOP)
            try:
                await self.chair.link.hold_safe()
            except MassageError as error:  # the link died at the very end: stop the hard way
                self.stop(StopSource.SUPERVISOR, f"ending the session failed: {error}")
                outcome = await self.chair.stop_path.finished()
        if outcome is not None and outcome.ended is StopEnd.ESCALATED:
            # A board that does not confirm STOP may not be trusted with another session
            # until a person has looked at it.
            self.chair.latch.trip(
                Fault(FaultCause.STOP_UNCONFIRMED,
                      f"the board did not confirm STOP: {outcome.summary()}", self._loop.time()),
                str(outcome.sources[0]), "port closed; the board's watchdog stops it")
        faults = tuple(str(fault) for fault in self.chair.latch.faults)
        if self.chair.latch.latched:
            self._set(SessionEvent.FAULT)
            ended, detail = "fault", faults[0]
        elif self._error is not None:
            self._set(SessionEvent.SAFE)
            ended, detail = "error", self._error
        else:
            self._set(SessionEvent.SAFE)
            if outcome is None:
                ended, detail = "finished", "the routine ran to its end"
            else:
                ended = "stopped"
                detail = ", ".join(f"{s}: {d}" for s, d in zip(outcome.sources, outcome.details))
        self._routine_s = max(self._routine_s, self.elapsed_s())
        self.heat_on = False  # displays after the end show nothing on
        self._record("end", f"{ended}: {detail}")
        return SessionOutcome(self.routine.name, ended, detail, self._routine_s, outcome,
                              faults, self.scan, tuple(self.notes), chair_s=self.chair_s())

    # --- bookkeeping --------------------------------------------------------------------------

    def _set(self, event: SessionEvent | None) -> None:
        if event is None:
            return
        try:
            self.state = next_state(self.state, event)
        except TransitionError:
            log.debug("ignored %s while %s", event, self.state)
            return
        self.on_change()

    def _record(self, kind: str, detail: str, **values: float) -> None:
        if self.recorder is not None:
            self.recorder.event(self._loop.time(), kind, detail, **values)

    def _cancel_streaming(self) -> None:
        if self._streaming is not None and not self._streaming.done():
            self._streaming.cancel()

    async def _finish_streaming(self) -> None:
        """Cancel the streaming task and wait until it is gone: no segment may follow."""
        task, self._streaming = self._streaming, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)



# After the depth ramp the heads need a moment to settle on the back before the readings count.
DEPTH_SETTLE_S = 0.5
