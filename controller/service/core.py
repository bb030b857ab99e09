"""The resident chair service: one board, sessions one after another, the operations for every
front-end, the per-chair state on disk.

    service = ChairService(ServiceOptions(config=config))
    await service.open(extensions) # connects (and keeps reconnecting), starts the extensions
    service.start("relax", Origin.REMOTE)  # or any operation of controller.service.operations
                                   # (admitted in a thread: a future says when it began)
    await service.close()          # a running session stops through the one stop path first

A board that goes away is reconnected forever (controller.service.reconnect). While idle, that
is all: the home screen is back once the board has confirmed its safe state in the handshake.
A session that was working on a person when its board went away ends through the stop path
(the board's watchdog has stopped it on its own), and what the supervisor saw (telemetry gone
stale, the link lost) stays latched: the fault screen asks a person to check the chair and
clear it, because from the host a pulled cable and a board that died look the same.

The latch and the fault log, the session history and the traces live in one folder per chair,
`chairs/<serial number>/` below the log folder (controller.service.chair_files, shared with
`massagectl run`, `faults` and `sessions`), so a latched fault survives a restart of the service
and a fault `run` latched blocks the service too. The safety layer's own per-chair record
(safety.chair_record: latched faults, dose and heat on-time across processes) is read as well.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from massagectl.controller.config import Config
from massagectl.controller.service.chair import Chair
from massagectl.controller.service.chair_files import ChairFiles
from massagectl.controller.service.connection import BuiltInBoard
from massagectl.controller.service.file_writer import FileWriter
from massagectl.controller.service.history import SessionHistory
from massagectl.controller.service.operations import (
    ChairEvent,
    ChairSnapshot,
    ChairState,
    ConnectionChanged,
    Extension,
    FaultLatched,
    KeyPressed,
    Listener,
    Origin,
    RoutineChoice,
    SessionSummary,
    StateChanged,
)
from massagectl.controller.service.owner_actions import OwnerActions
from massagectl.controller.service.reconnect import ReconnectLogic
from massagectl.controller.service.session_actions import PendingStart, SessionActions
from massagectl.controller.service.users import UserFolder
from massagectl.controller.session.recorder import SessionRecorder
from massagectl.controller.session.session import Session
from massagectl.controller.session.state import SessionState
from massagectl.firmware_bridge.link import Link
from massagectl.firmware_bridge.messages import KeyPress, RemoteKey, SensorReport, ShowText
from massagectl.routines.device import DeviceProfile, SensorKind, Zone, load_device
from massagectl.routines.errors import MassageError
from massagectl.routines.library import builtin_routine_names, load_builtin
from massagectl.routines.routine import Routine, load_routine
from massagectl.safety import chair_record
from massagectl.safety.chair_record import ChairRecord
from massagectl.sim.physics.occupant import Occupant

log = logging.getLogger(__name__)

DEFAULT_DISPLAY = (4, 20)  # laid out before a board said otherwise: the usual 20x4 LCD
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
    simulator_serial: int | str = 1  # the built-in simulator's serial number (SIM-chair-<this>)


class ChairService(SessionActions, OwnerActions):
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
        self._starting: PendingStart | None = None  # accepted, being admitted
        self.history: SessionHistory | None = None
        self.files: ChairFiles | None = None  # the connected chair's folder
        self.chair_id = self.device.name
        self.extensions: list[Extension] = []
        self.remote_start_allowed = config.session.allow_remote_start
        self.user_name = "default"
        self.next_intensity: int | None = None
        self.timer_min: int | None = None
        self.zones_off: set[str] = set()
        self.last_summary: SessionSummary | None = None
        self.record: ChairRecord | None = None
        self._recorded_use: dict[str, tuple[float, float]] = {}
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
        self._background: set[asyncio.Task] = set()
        self.files_writer = FileWriter()  # the chair's files, written off the loop in order
        self._traces_planned: set[Path] = set()  # named, not written yet
        self._board_clearing: asyncio.Task | None = None
        self._connected_event = asyncio.Event()

    # --- life -------------------------------------------------------------------------------

    async def open(self, extensions: Sequence[Extension[ChairService]] = ()) -> None:
        if self.port is None:
            self.simulator = BuiltInBoard(self.device, baud=self.config.device.baud,
                                          occupant=self.options.occupant,
                                          serial=self.options.simulator_serial)
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
        if self.session is not None or self._starting is not None:
            self.stop(Origin.SERVICE, "the service is shutting down")
        await self._wait_session()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.files_writer.close()  # the last session's record, trace and history
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
        starting = self._starting
        if starting is not None and starting.task is not None:
            await asyncio.gather(starting.task, return_exceptions=True)
        if self.session_task is not None:
            await asyncio.gather(self.session_task, return_exceptions=True)

    async def _connected(self, link: Link) -> None:
        serial = link.info.serial_number or None
        self.chair_id = serial or self.device.name
        self.files = ChairFiles.of(self.config.logs, serial or "")
        self.state_folder = self.files.folder
        fault_log, latch = self.files.restore_latch()
        self._faults_seen = len(latch.faults)
        self.history = SessionHistory(self.files.sessions)
        # The safety layer's record of this chair (latched faults, heat and cold the zones
        # carry), shared with `massagectl run` and every other process on this machine.
        self.record = ChairRecord.load(serial or f"unnamed-{self.device.name}")
        self._recorded_use = {}  # a new supervisor counts from zero
        if self.history.sessions and self.last_summary is None:
            self.last_summary = self.history.sessions[-1]
        self.chair = Chair(link, self.device, fault_log, latch=latch,
                           safety_limits=self.config.limits)
        self.chair.link_loss_is_fault = lambda: self.session is not None
        self.chair.add_listener(self._on_board_message)
        # Any stop (the remote's key, the seat, a trip) cancels a start being admitted.
        self.chair.stop_path.add_listener(self._on_stop_request)
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

    def _on_stop_request(self, source: object, detail: str) -> None:
        if self._starting is not None:
            self._starting.stopped = True

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
        if self._starting is not None:
            return ChairState.SCANNING  # admitted in a moment, then the scan or the routine
        clearing = self._board_clearing is not None and not self._board_clearing.done()
        if chair.latch.latched or chair.link.board_fault is not None or clearing \
                or (self.record is not None and self.record.is_latched):
            return ChairState.FAULT
        if chair.stop_path.stopping:
            return ChairState.STOPPING
        return ChairState.IDLE

    def snapshot(self) -> ChairSnapshot:
        chair, session = self.chair, self.session
        common: dict[str, Any] = dict(
            state=self.state(), chair_id=self.chair_id, timer_min=self.timer_min,
            user=self.user_name, remote_start_allowed=self.remote_start_allowed,
            model=self.device.name, last_session=self.last_summary,
            port=chair.link.name if chair is not None else (self.port or "built-in simulator"),
            connection_detail="" if chair is not None else (
                self._reconnect.last_error if self._reconnect is not None else ""),
        )
        if chair is not None:
            common["faults"] = self._faults(chair)
            common["seat_occupied"] = self._seat_occupied()
            common["firmware"] = chair.link.info.firmware_version
        if session is None:
            starting = self._starting.routine if self._starting is not None else None
            return ChairSnapshot(routine=starting, intensity=self._idle_intensity(),
                                 zones_off=tuple(sorted(self.zones_off)), **common)
        snap = session.snapshot()
        return ChairSnapshot(routine=snap.routine, step=snap.step, elapsed_s=snap.elapsed_s,
                             remaining_s=snap.remaining_s, intensity=snap.intensity,
                             heat_on=snap.heat_on, zones_off=snap.zones_off, **common)

    def _faults(self, chair: Chair) -> tuple[str, ...]:
        """The host's latched faults, and the board's own latch when the host holds none
        (a board that latched while another process or service had it)."""
        faults = tuple(str(f) for f in chair.latch.faults)
        if not faults and self.record is not None:
            faults = tuple(f"{entry['cause']}: {entry['detail']} (the chair's record, "
                           f"{entry['time']})" for entry in self.record.latched)
        board = chair.link.board_fault
        if not faults and board is not None:
            faults = (f"board_fault: the board holds a latched {board.name.lower()} stop",)
        return faults

    def keep_record(self) -> None:
        """Add what the sessions since the last call gave the chair's zones, and its latched
        faults, to the chair's safety record (the supervisor counts since it began)."""
        chair, record = self.chair, self.record
        if chair is None or record is None:
            return
        now_s = chair_record.wall_clock()
        for channel_id, (kind, on_s, dose) in chair.supervisor.zone_use().items():
            last_on_s, last_dose = self._recorded_use.get(channel_id, (0.0, 0.0))
            record.add_use(channel_id, kind, on_s - last_on_s, dose - last_dose, now_s)
            self._recorded_use[channel_id] = (on_s, dose)
        for fault in chair.latch.faults:
            record.latch(fault)
        self.save_record(record)

    def save_record(self, record: ChairRecord) -> None:
        """Save the chair's safety record as it is now, in the file writer's thread, after
        every file asked for before (a clear never lands before the session that latched)."""
        self.files_writer.write(copy.deepcopy(record).save,
                                f"the chair's safety record {record.path} (the next session "
                                "will not know this one's heat)")

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

    # --- the board's remote ---------------------------------------------------------------

    def display_size(self) -> tuple[int, int]:
        """The remote display's (rows, columns), as the board reported them in its identity
        (the remote menu lays out within sane bounds whatever a board says)."""
        if self.chair is None:
            return DEFAULT_DISPLAY
        info = self.chair.link.info
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

