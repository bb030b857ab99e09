"""The resident chair service: one board, sessions one after another, the operations for every
front-end, the per-chair state on disk.

    service = ChairService(ServiceOptions(config=config))
    await service.open(extensions) # connects (and keeps reconnecting), starts the extensions
    service.start("relax", Origin.REMOTE)  # or any operation of controller.service.operations
    await service.close()          # a running session stops through the one stop path first

A board that goes away is reconnected forever (controller.service.reconnect). While idle, that
is all: the home screen is back once the board has confirmed its safe state in the handshake.
A session that was working on a person when its board went away ends through the stop path
(the board's watchdog has stopped it on its own), and what the supervisor saw (telemetry gone
stale, the link lost) stays latched: the fault screen asks a person to check the chair and
clear it, because from the host a pulled cable and a board that died look the same. The latch and the fault log, the session
history and the traces live in one folder per chair (`chairs/<serial>/` below the log folder
once the board reports a serial number; the log folder itself until then), so a latched fault
survives a restart of the service.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from massagectl.controller.config import Config
from massagectl.controller.service.chair import Chair
from massagectl.controller.service.connection import BuiltInBoard
from massagectl.controller.service.history import SessionHistory
from massagectl.controller.service.operations import (
    TIMER_CHOICES_MIN,
    ChairEvent,
    ChairSnapshot,
    ChairState,
    ConnectionChanged,
    Extension,
    FaultLatched,
    FaultsCleared,
    KeyPressed,
    Listener,
    OperationRefused,
    Origin,
    ProfileChanged,
    Refused,
    RoutineChoice,
    SessionEnded,
    SessionStarted,
    SessionSummary,
    StateChanged,
)
from massagectl.controller.service.reconnect import ReconnectLogic
from massagectl.controller.service.spots import (
    roller_pct,
    with_sensitive_spot,
    with_trigger_point,
    worked_now,
)
from massagectl.controller.service.traces import save_trace
from massagectl.controller.service.users import UserFolder
from massagectl.controller.session.recorder import SessionRecorder
from massagectl.controller.session.session import (
    COMPILE_LEVEL,
    Session,
    SessionOutcome,
    admit_or_raise,
)
from massagectl.controller.session.state import SessionState, TransitionError
from massagectl.firmware_bridge.link import Link
from massagectl.firmware_bridge.messages import KeyPress, RemoteKey, SensorReport, ShowText
from massagectl.routines.compiler import compile_routine
from massagectl.routines.device import (
    DeviceProfile, SensorKind, Zone, close_matches, load_device,
)
from massagectl.routines.errors import MassageError, UnknownNameError
from massagectl.routines.intensity import LEVELS
from massagectl.routines.library import builtin_routine_names, load_builtin
from massagectl.routines.routine import Routine, load_routine
from massagectl.routines.user import UserProfile
from massagectl.safety.fault_log import FaultLog, read_fault_log
from massagectl.safety.faults import FaultLatch
from massagectl.safety.stop_path import StopSource
from massagectl.sim.physics.occupant import Occupant

log = logging.getLogger(__name__)

DEFAULT_DISPLAY = (4, 20)  # laid out before a board said otherwise: the usual 20x4 LCD
_STOP_SOURCES = {
    Origin.REMOTE: StopSource.REMOTE_KEY, Origin.MQTT: StopSource.MQTT,
    Origin.SOCKET: StopSource.TERMINAL, Origin.TERMINAL: StopSource.TERMINAL,
    Origin.SERVICE: StopSource.TERMINAL,
}
_SESSION_STATES = {
    SessionState.IDLE: ChairState.SCANNING,  # admitted, about to start
    SessionState.SCANNING: ChairState.SCANNING, SessionState.RUNNING: ChairState.RUNNING,
    SessionState.PAUSED: ChairState.PAUSED, SessionState.STOPPING: ChairState.STOPPING,
    SessionState.FAULT: ChairState.FAULT,
}


@dataclass(frozen=True)
class ServiceOptions:
    config: Config = field(default_factory=Config)
    port: str | None = None  # None: the config's port; still None: the built-in simulator
    device: DeviceProfile | None = None  # None: the config's profile
    body_scan: bool | None = None  # None: the config's choice
    routine_folder: Path | None = None  # the owner's own routines (NAME.toml)
    user_folder: Path | None = None  # the owner's user profiles (NAME.toml)
    occupant: Occupant | None = None  # the built-in simulator's occupant


class ChairService:
    """See the module docstring; the operations are documented in controller.service.operations."""

    def __init__(self, options: ServiceOptions) -> None:
        self.options = options
        config = options.config
        self.config = config
        self.device = options.device or load_device(config.device.profile)
        self.port = options.port or config.device.port
        if self.port == "sim":
            self.port = None
        self.body_scan = config.session.body_scan if options.body_scan is None \
            else options.body_scan
        config_dir = config.logs.directory
        self.routine_folder = options.routine_folder or config_dir / "routines"
        self.user_folder = UserFolder(options.user_folder or config_dir / "users",
                                config.session.user_profile)
        self.simulator: BuiltInBoard | None = None
        self.chair: Chair | None = None
        self.session: Session | None = None
        self.session_task: asyncio.Task | None = None
        self.history: SessionHistory | None = None
        self.chair_id = self.device.name
        self.extensions: list[Extension] = []
        self.remote_start_allowed = config.session.allow_remote_start
        self.user_name = "default"
        self.next_intensity: int | None = None
        self.timer_min: int | None = None
        self.zones_off: set[str] = set()
        self.last_summary: SessionSummary | None = None
        self._listeners: list[Listener] = []
        self._reconnect: ReconnectLogic | None = None
        self._faults_seen = 0
        self._session_origin = Origin.SERVICE
        self._session_started = ""
        self._session_start_host_s = 0.0
        self._session_changes: list[str] = []
        self._timer_handle: asyncio.TimerHandle | None = None
        self._recorder: SessionRecorder | None = None
        self._closing = False
        self._warned_about: set[Path] = set()
        self._connected_event = asyncio.Event()

    # --- life -------------------------------------------------------------------------------

    async def open(self, extensions: list[Extension] = ()) -> None:
        if self.port is None:
            self.simulator = BuiltInBoard(self.device, baud=self.config.device.baud,
                                          occupant=self.options.occupant)
            open_link = self.simulator.open_link
            name = "the built-in simulator"
        else:
            port, baud = self.port, self.config.device.baud

            async def open_link() -> Link:
                return await Link.open(port, self.device, baud=baud)
            name = port
        self._reconnect = ReconnectLogic(open_link, self._connected, self._lost, name=name,
                                         port_path=self.port)
        await self._reconnect.start()
        for extension in extensions:
            await extension.start(self)
            self.extensions.append(extension)

    async def wait_connected(self) -> None:
        await self._connected_event.wait()

    async def close(self) -> None:
        """Stop a running session through the stop path and wait until the board is safe,
        then stop the extensions, the link and the simulator."""
        self._closing = True
        if self.session is not None:
            self.stop(Origin.SERVICE, "the service is shutting down")
        await self._wait_session()
        for extension in reversed(self.extensions):
            try:
                await extension.stop()
            except Exception:
                log.exception("stopping %s failed", extension.name)
        self.extensions.clear()
        if self._reconnect is not None:
            await self._reconnect.stop()
        await self._close_chair()
        if self.simulator is not None:
            await self.simulator.aclose()

    async def _wait_session(self) -> None:
        if self.session_task is not None:
            await asyncio.gather(self.session_task, return_exceptions=True)

    async def _connected(self, link: Link) -> None:
        serial = link.identity.info.serial_number or None
        self.chair_id = serial or self.device.name
        folder = self.config.logs.directory
        if serial:
            folder = folder / "chairs" / serial
        self.state_folder = folder
        fault_log = FaultLog(folder / "faults.jsonl")
        latch = FaultLatch.restored(fault_log, read_fault_log(folder / "faults.jsonl"))
        self._faults_seen = len(latch.faults)
        self.history = SessionHistory(folder / "sessions.json")
        if self.history.sessions and self.last_summary is None:
            self.last_summary = self.history.sessions[-1]
        self.chair = Chair(link, self.device, fault_log, latch=latch,
                           safety_limits=self.config.limits)
        self.chair.link_loss_is_fault = lambda: self.session is not None
        self.chair.add_listener(self._on_board_message)
        self._connected_event.set()
        self._emit(ConnectionChanged(True, link.name, self.chair_id))
        self._changed()

    async def _lost(self, link: Link, reason: str) -> None:
        self._connected_event.clear()
        await self._wait_session()
        await self._close_chair()
        if self.simulator is not None:
            await self.simulator.close_line()
        self._emit(ConnectionChanged(False, link.name, self.chair_id, reason))
        self._changed()

    async def _close_chair(self) -> None:
        chair, self.chair = self.chair, None
        if chair is not None:
            await chair.close()
            await chair.link.close()

    # --- events -----------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _emit(self, event: ChairEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("a listener failed on %s", type(event).__name__)

    def _changed(self) -> None:
        if self.chair is not None and len(self.chair.latch.faults) > self._faults_seen:
            for fault in self.chair.latch.faults[self._faults_seen:]:
                self._emit(FaultLatched(str(fault.cause), fault.detail))
            self._faults_seen = len(self.chair.latch.faults)
        self._emit(StateChanged(self.snapshot()))

    def _on_board_message(self, message: object, host_s: float) -> None:
        if isinstance(message, KeyPress):
            self._emit(KeyPressed(message.key.name))
        elif not isinstance(message, SensorReport) and self.chair is not None \
                and len(self.chair.latch.faults) != self._faults_seen:
            self._changed()

    # --- what is happening ------------------------------------------------------------------

    def state(self) -> ChairState:
        chair = self.chair
        if chair is None:
            return ChairState.DISCONNECTED
        if self.session is not None:
            return _SESSION_STATES[self.session.state]
        if chair.latch.latched:
            return ChairState.FAULT
        if chair.stop_path.stopping:
            return ChairState.STOPPING
        return ChairState.IDLE

    def snapshot(self) -> ChairSnapshot:
        chair, session = self.chair, self.session
        common = dict(
            state=self.state(), chair_id=self.chair_id, timer_min=self.timer_min,
            user=self.user_name, remote_start_allowed=self.remote_start_allowed,
            model=self.device.name, last_session=self.last_summary,
            port=chair.link.name if chair is not None else (self.port or "built-in simulator"),
            connection_detail="" if chair is not None else (
                self._reconnect.last_error if self._reconnect is not None else ""),
        )
        if chair is not None:
            common["faults"] = tuple(str(f) for f in chair.latch.faults)
            common["seat_occupied"] = self._seat_occupied()
            common["firmware"] = chair.link.identity.info.firmware_version
        if session is None:
            return ChairSnapshot(intensity=self._idle_intensity(),
                                 zones_off=tuple(sorted(self.zones_off)), **common)
        snap = session.snapshot()
        return ChairSnapshot(routine=snap.routine, step=snap.step, elapsed_s=snap.elapsed_s,
                             remaining_s=snap.remaining_s, intensity=snap.intensity,
                             heat_on=snap.heat_on, zones_off=snap.zones_off, **common)

    def _idle_intensity(self) -> int:
        if self.next_intensity is not None:
            return self.next_intensity
        try:
            return self.user_folder.load(self.user_name).preferred_intensity
        except MassageError:
            return 3

    def _seat_occupied(self) -> bool | None:
        sensors = [s.id for s in self.device.sensors if s.kind is SensorKind.OCCUPANCY]
        if not sensors or self.chair is None or sensors[0] not in self.chair.readings:
            return None
        return self.chair.readings[sensors[0]] >= 0.5

    def routines(self) -> list[RoutineChoice]:
        choices = [RoutineChoice(name, load_builtin(name).duration_s, True)
                   for name in builtin_routine_names()]
        for name, routine in self._own_routines().items():
            choices.append(RoutineChoice(name, routine.duration_s, False))
        return choices

    def _own_routines(self) -> dict[str, Routine]:
        found: dict[str, Routine] = {}
        if not self.routine_folder.is_dir():
            return found
        for path in sorted(self.routine_folder.glob("*.toml")):
            try:
                found[path.stem] = load_routine(path)
            except MassageError as error:
                if path not in self._warned_about:  # once, not at every menu refresh
                    self._warned_about.add(path)
                    log.warning("skipping %s: %s", path, error)
        return found

    def users(self) -> list[str]:
        return self.user_folder.names()

    def zones(self) -> list[str]:
        return [str(z) for z in Zone if any(c.zone is z for c in self.device.channels)]

    # --- operations -------------------------------------------------------------------------

    def _refuse(self, operation: str, origin: Origin, message: str,
                hint: str | None = None) -> Refused:
        error = Refused(operation, message, hint)
        log.info("%s from %s refused: %s", operation, origin, error)
        self._emit(OperationRefused(operation, str(error), origin))
        return error

    def start(self, routine: str, origin: Origin, *,
                      intensity: int | None = None) -> None:
        state = self.state()
        if state is ChairState.DISCONNECTED:
            raise self._refuse("start", origin, "the chair is not connected",
                               "check the cable and the chair's power; it reconnects by itself")
        if state is ChairState.FAULT:
            raise self._refuse("start", origin, "a fault is latched: "
                               + self.snapshot().faults[0],
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
        if intensity is not None and intensity not in LEVELS:
            raise self._refuse("start", origin, f"intensity {intensity} is not 1-5")
        try:
            chosen = self._routine(routine)
            user = self.user_folder.load(self.user_name)
            if self.timer_min is not None:
                user = user.model_copy(update={"limits": user.limits.model_copy(
                    update={"session_min": self.timer_min})})
            plan = compile_routine(chosen, self.device, user, intensity=COMPILE_LEVEL)
            admit_or_raise(plan, self.device, user, self.config.limits)
        except MassageError as error:
            raise self._refuse("start", origin, str(error.message), error.hint) from None
        self._begin(chosen, user, origin, intensity)

    def _routine(self, name: str) -> Routine:
        own = self._own_routines()
        if name in own:
            return own[name]
        builtin = builtin_routine_names()
        if name in builtin:
            return load_builtin(name)
        known = [*builtin, *own]
        raise UnknownNameError("routine", name, close_matches(name, known), known)

    def _begin(self, routine: Routine, user: UserProfile, origin: Origin,
               intensity: int | None) -> None:
        chair = self.chair
        loop = asyncio.get_running_loop()
        recorder = SessionRecorder(self.device, chair.link, loop.time())
        recorder.routine = routine.name
        remove = chair.add_listener(recorder.on_message)
        session = Session(chair, routine, user, limits=self.config.limits,
                          intensity=intensity or self.next_intensity, body_scan=self.body_scan,
                          recorder=recorder, on_change=self._changed)
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
            trace = self._save_trace(session)
            summary = SessionSummary(
                routine=session.routine.name, user=self.user_name,
                started=self._session_started,
                ended=datetime.now(UTC).isoformat(timespec="seconds"), ended_how=ended,
                detail=detail, massage_s=outcome.massage_s if outcome else 0.0,
                origin=str(self._session_origin), trace=trace,
                profile_changes=tuple(self._session_changes),
            )
            if self.history is not None:
                self.history.add(summary)
            self.last_summary = summary
            self.session = None
            self.session_task = None
            log.info("%s %s: %s", summary.routine, ended, detail)
            self._emit(SessionEnded(summary))
            self._changed()

    def _save_trace(self, session: Session) -> str | None:
        if self._recorder is None:
            return None
        folder = getattr(self, "state_folder", self.config.logs.directory) / "traces"
        try:
            return str(save_trace(self._recorder, folder, session.routine.name))
        except OSError as error:
            log.warning("could not save the trace in %s: %s", folder, error)
            return None

    def stop(self, origin: Origin, detail: str = "") -> None:
        source = _STOP_SOURCES[origin]
        detail = detail or f"stop from the {origin}"
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

    def choose_user(self, name: str, origin: Origin) -> None:
        if self.session is not None:
            raise self._refuse("user", origin, "the user can be changed between sessions only",
                               "stop the session first")
        try:
            self.user_folder.load(name)
        except MassageError as error:
            raise self._refuse("user", origin, error.message, error.hint) from None
        self.user_name = name
        self.next_intensity = None
        self._changed()

    def allow_remote_start(self, allowed: bool, origin: Origin) -> None:
        if origin is Origin.MQTT:
            raise self._refuse("settings", origin, "home automation cannot change who may "
                               "start the chair", "change it on the remote")
        self.remote_start_allowed = allowed
        self._changed()

    def clear_faults(self, origin: Origin) -> tuple[str, ...]:
        chair = self.chair
        if chair is None:
            raise self._refuse("clear", origin, "the chair is not connected",
                               "faults are cleared once it is back")
        if self.session is not None:
            raise self._refuse("clear", origin, "a session is still ending",
                               "wait until the chair has stopped")
        if not chair.latch.latched:
            return ()
        cleared = chair.supervisor.clear_faults(str(origin), asyncio.get_running_loop().time())
        self._faults_seen = 0
        causes = tuple(dict.fromkeys(str(f.cause) for f in cleared))
        log.warning("faults cleared from the %s: %s", origin, ", ".join(causes))
        self._emit(FaultsCleared(causes, origin))
        self._changed()
        return causes

    def discomfort(self, origin: Origin) -> str:
        session = self._session_or_refuse("discomfort", origin, "lower")
        if session.state is not SessionState.RUNNING:
            raise self._refuse("discomfort", origin, f"the session is {session.state}")
        plan = session.plan
        worked = worked_now(plan, session.elapsed_s(), session.level, dict(self.chair.readings),
                            session.user) if plan is not None else None
        if session.level > min(LEVELS):
            session.change_intensity(-1)  # an immediate message: felt at once
        elif worked is not None and worked.zone in self.zones():
            session.set_zone(worked.zone, False)
        if worked is None:
            change = "nothing was pressing; intensity lowered"
        else:
            try:
                profile = self.user_folder.update(self.user_name,
                                            lambda user: with_sensitive_spot(user, worked)[0])
                change = with_sensitive_spot(session.user, worked)[1]
                log.info("%s: %s", profile.name, change)
            except (MassageError, OSError, ValueError) as error:
                change = f"intensity lowered; the profile could not be saved: {error}"
                log.warning(change)
        self._learnt(change)
        return change

    def mark_spot(self, name: str | None, origin: Origin) -> str:
        session = self._session_or_refuse("mark", origin, "mark")
        pct = roller_pct(self.device, dict(self.chair.readings), session.user) \
            if self.chair is not None else None
        if pct is None:
            raise self._refuse("mark", origin, "the roller's position is not known",
                               "mark a spot while the roller works on the back")
        try:
            marked: list[str] = []

            def add(user: UserProfile) -> UserProfile:
                profile, chosen = with_trigger_point(user, pct, name)
                marked.append(chosen)
                return profile

            self.user_folder.update(self.user_name, add)
        except (MassageError, OSError, ValueError) as error:
            raise self._refuse("mark", origin, f"the spot could not be saved: {error}") \
                from None
        change = f"trigger point {marked[0]} at {pct:.0f} % down the back"
        self._learnt(change)
        return marked[0]

    def _learnt(self, change: str) -> None:
        self._session_changes.append(change)
        if self._recorder is not None:
            self._recorder.event(asyncio.get_running_loop().time(), "profile", change)
        self._emit(ProfileChanged(self.user_name, change))
        self._changed()

    def display_size(self) -> tuple[int, int]:
        """The remote display's (rows, columns), as the board reported them in its identity
        (the remote menu lays out within sane bounds whatever a board says)."""
        if self.chair is None:
            return DEFAULT_DISPLAY
        info = self.chair.link.identity.info
        return info.display_rows, info.display_cols

    def show_on_remote(self, row: int, text: str) -> bool:
        """Put a row on the remote's display (queued; False if the line has no room now or
        the board is away: the caller sends it again on its next refresh)."""
        if self.chair is None or not self.chair.link.connected:
            return False
        try:
            return self.chair.link.send_nowait(ShowText(row, text))
        except MassageError:
            return False

    def press_key(self, key: RemoteKey) -> None:
        """The built-in simulator's remote: press a key as the owner would (no-op without it)."""
        if self.simulator is not None and self.simulator.driver is not None:
            self.simulator.driver.press(key)

