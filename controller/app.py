"""`massagectl run` put together: profiles, the board, the session, its inputs and outputs.

    result = run_routine(RunOptions(routine="relax", speed=60))

Load and check everything first (routine, profiles, owner limits, the fault latch, compile and
admission), so a mistake is reported before any port is opened. Then connect (a real port, or
the built-in simulator), wire the inputs (remote keys, terminal keys, Ctrl-C) and outputs (the
terminal status, the remote's display, the trace recorder) around one Session, run it, and
save the trace. Every input that means "stop" goes to the chair's one stop path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from rich.console import Console

from massagectl.controller.config import Config
from massagectl.controller.frontends.keys import press_key
from massagectl.controller.frontends.remote_menu import RemoteMenu, display_size
from massagectl.controller.frontends.status import StatusDisplay
from massagectl.controller.frontends.terminal import StopSignals, TerminalKeys
from massagectl.controller.service.chair import Chair
from massagectl.controller.service.chair_files import ChairFiles
from massagectl.controller.service.connection import connect
from massagectl.controller.service.history import SessionHistory
from massagectl.controller.service.operations import (
    ChairSnapshot,
    ChairState,
    RoutineChoice,
    SessionSummary,
)
from massagectl.controller.service.traces import save_trace
from massagectl.controller.service.vocabulary import (
    ChangeIntensity,
    Discomfort,
    Pause,
    Resume,
    Stop,
    ToggleHeat,
)
from massagectl.controller.session.body_scan import scan_plan, scan_supported
from massagectl.controller.session.notes import plan_notes, timer_note
from massagectl.controller.session.preflight import preflight
from massagectl.controller.session.recorder import SessionRecorder
from massagectl.controller.session.session import Session, SessionOutcome
from massagectl.controller.session.state import SessionState, TransitionError
from massagectl.firmware_bridge.messages import KeyPress, ShowText
from massagectl.routines.device import DeviceProfile
from massagectl.routines.errors import FaultLatchedError, InputError, MassageError
from massagectl.routines.library import refuse_builtin_misfit, resolve_routine
from massagectl.routines.routine import Routine
from massagectl.routines.user import UserProfile, load_user
from massagectl.safety import chair_record
from massagectl.safety.chair_record import ChairRecord
from massagectl.safety.device_check import load_checked_device
from massagectl.safety.fault_log import FaultLog, read_fault_log
from massagectl.safety.faults import FaultLatch
from massagectl.safety.stop_path import StopSource
from massagectl.sim.physics.occupant import Occupant
from massagectl.sim.virtual_loop import VirtualTimeLoop

log = logging.getLogger(__name__)

SIMULATOR_PORT = "sim"  # --port sim: the built-in simulator, whatever the config says
RUN_ORIGIN = "run"  # who started a session in the history: `massagectl run`, not the service
REMOTE_REFRESH_S = 1.0  # the remote's clock shows seconds; more often would only load the line


@dataclass(frozen=True)
class RunOptions:
    routine: str
    config: Config = field(default_factory=Config)
    port: str | None = None  # None: the config's port; still None: the built-in simulator
    device: str | None = None
    user: Path | None = None
    intensity: int | None = None
    speed: float | None = 1.0  # simulator only: N times real time; None skips idle time
    body_scan: bool | None = None  # None: the config's choice
    sim_shoulder_mm: float | None = None  # the simulated occupant; None: the user's body map
    show_status: bool = True


@dataclass(frozen=True)
class RunResult:
    outcome: SessionOutcome
    trace: Path | None
    fault_log: Path
    port: str


@dataclass(frozen=True)
class Prepared:
    routine: Routine
    device: DeviceProfile
    user: UserProfile
    latch: FaultLatch
    fault_log: FaultLog
    notes: tuple[str, ...] = ()  # what safety changed or the device cannot do, said up front


def prepare(options: RunOptions) -> Prepared:
    """Everything that can fail without hardware fails here, with nothing connected."""
    config = options.config
    device = load_checked_device(options.device or config.device.profile)
    user = load_user(options.user or config.session.user_profile)
    routine = resolve_routine(options.routine)
    refuse_builtin_misfit(options.routine, device, user)
    port = chosen_port(options)
    simulator_only = [name for name, given in (("--speed", options.speed != 1.0),
                                               ("--sim-shoulder-mm", options.sim_shoulder_mm))
                      if given]
    if port is not None and simulator_only:
        where = "--port" if options.port else "the config file's [device] port"
        verb = "works" if len(simulator_only) == 1 else "work"
        raise InputError(f"{' and '.join(simulator_only)} {verb} with the built-in simulator "
                         f"only, and {where} names a chair ({port})",
                         f"add `--port {SIMULATOR_PORT}` to use the built-in simulator")
    admitted = preflight(routine, device, user, config.limits)  # names every violation
    # Before connecting, the one log that holds for every chair (controller.service.chair_files);
    # the chair's own folder is checked once its board has said its serial number.
    fault_log = FaultLog(config.logs.fault_log)
    latch = FaultLatch.restored(fault_log, read_fault_log(config.logs.fault_log))
    try:
        latch.raise_if_latched()
    except FaultLatchedError as error:
        if port is not None:
            raise
        # The top-level log is where earlier versions kept every chair's faults, not knowing
        # which chair: a fault latched there stops a simulated session too, which surprises
        # anyone who only wanted to try the simulator: say why.
        raise FaultLatchedError(
            f"{error.message}; it is in the fault log earlier versions kept for every chair "
            f"({config.logs.fault_log}), so the built-in simulator waits for the clear too",
            error.hint) from None
    notes = plan_notes(admitted)
    # The body scan is time on the chair too: the session timer counts it.
    scan_s = (scan_plan(device).plan.duration_s if wants_body_scan(options)
              and scan_supported(device) else 0.0)
    note = timer_note(admitted.plan.duration_s, admitted.auto_off_s, scan_s)
    return Prepared(routine, device, user, latch, fault_log,
                    tuple(notes + ([note] if note else [])))


def wants_body_scan(options: RunOptions) -> bool:
    """--no-scan, else the config's choice."""
    return options.config.session.body_scan if options.body_scan is None else options.body_scan


def chosen_port(options: RunOptions) -> str | None:
    """The chair's port: --port, else the config's; None (or --port sim): the simulator."""
    port = options.port or options.config.device.port
    return None if port == SIMULATOR_PORT else port


def run_routine(options: RunOptions, console: Console | None = None) -> RunResult:
    """Prepare, then run on a loop of the right speed; returns when the board is safe."""
    prepared = prepare(options)
    port = chosen_port(options)
    factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop
    if port is None:
        factory = partial(VirtualTimeLoop, speed=options.speed)
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(_run(options, prepared, port, console or Console(stderr=True)))


async def _run(options: RunOptions, prepared: Prepared, port: str | None,
               console: Console) -> RunResult:
    config = options.config
    device, user = prepared.device, prepared.user
    shoulder_mm = options.sim_shoulder_mm or user.shoulder_height_mm
    occupant = Occupant(shoulder_mm, user.back_length_mm)
    body_scan = wants_body_scan(options)
    for note in prepared.notes:  # before the session: the summary repeats them at the end
        console.print(f"note: {note}", highlight=False, soft_wrap=True)
    # The session records its own trace; the built-in board's per-sample rows would go unread.
    async with connect(device, port, baud=config.device.baud, occupant=occupant,
                       board_trace_samples=False) as connection:
        loop = asyncio.get_running_loop()
        identity = connection.link.identity
        serial = identity.serial_number if identity is not None else ""
        # The chair's own folder, the one the service uses too: its latch, traces, history.
        files = ChairFiles.of(config.logs, serial)
        fault_log, latch = files.restore_latch()
        latch.raise_if_latched()  # a fault the service (or an earlier run) latched on it
        record = chair_record_of(serial, device)
        limits, notes = record.remaining(config.limits, device, chair_record.wall_clock())
        for note in notes:
            console.print(f"note: {note}", highlight=False)
        chair = Chair(connection.link, device, fault_log, latch=latch, safety_limits=limits)
        recorder = SessionRecorder(device, connection.link, loop.time())
        recorder.routine = prepared.routine.name
        recorder.user = user.name
        chair.add_listener(recorder.on_message)
        session = Session(chair, prepared.routine, user, limits=limits,
                          intensity=options.intensity, body_scan=body_scan, recorder=recorder)
        remote = RemoteControl(chair, session, prepared.routine)
        session.on_change = remote.changed
        tasks = [loop.create_task(remote.keep_display(), name="remote display")]
        display = StatusDisplay(device, console)
        if options.show_status:
            tasks.append(loop.create_task(display.run(session.snapshot), name="status"))

        def on_key(key: str) -> None:
            answer = press_key(session, key)
            if answer:
                display.notice(answer)

        try:
            with StopSignals(lambda name: session.stop(StopSource.TERMINAL, f"{name} received")), \
                    TerminalKeys(on_key):
                outcome = await session.run()
                display.outcome = outcome  # the panel's last frame says how it ended
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            remote.close()
            await chair.close()
            keep_record(record, chair, console)
        trace = _save_trace(recorder, files.traces, prepared.routine.name, console)
        keep_summary(SessionHistory(files.sessions), recorder, outcome, user.name, trace)
        return RunResult(outcome, trace, files.fault_log, connection.name)


def keep_summary(history: SessionHistory, recorder: SessionRecorder, outcome: SessionOutcome,
                 user: str, trace: Path | None) -> None:
    """Add this session to the chair's session history, as the service does for its own."""
    history.add(SessionSummary(
        routine=outcome.routine, user=user, started=recorder.started,
        ended=datetime.now(UTC).isoformat(timespec="seconds"), ended_how=outcome.ended,
        detail=outcome.detail, massage_s=outcome.massage_s, origin=RUN_ORIGIN,
        trace=None if trace is None else str(trace)))


def chair_record_of(serial: str, device: DeviceProfile) -> ChairRecord:
    """The connected chair's safety record; a fault it holds latched refuses the session."""
    record = ChairRecord.load(serial or f"unnamed-{device.name}")
    if record.is_latched:
        first = record.latched[0]
        raise FaultLatchedError(
            f"chair {record.serial} has a latched fault ({first['cause']}, {first['time']}): "
            f"{first['detail']}",
            f"check the chair, then clear it with `massagectl faults --clear --chair "
            f"{record.serial}`")
    return record


def keep_record(record: ChairRecord, chair: Chair, console: Console) -> None:
    """Add what this session gave the chair's zones, and its latched faults, to its record."""
    now_s = chair_record.wall_clock()
    for channel_id, (kind, on_s, dose) in chair.supervisor.zone_use().items():
        record.add_use(channel_id, kind, on_s, dose, now_s)
    for fault in chair.latch.faults:
        record.latch(fault)
    try:
        record.save()
    except OSError as error:
        # Nothing left to stop; but the next session must not start from zero unknowingly.
        console.print(f"could not save the chair's safety record {record.path}: {error}; the "
                      "next session will not know this one's heat", style="bold red")


class RemoteControl:
    """The handheld remote during a session: its keys act on the session, its display shows it.

    The STOP key needs nothing from here: the board stops on its own at once and the supervisor
    sends it through the stop path; the menu's stop action only joins that stop.

    The display is drawn once the session has begun (the one-routine menu of `run` offers
    nothing to choose), and a change of the session is drawn once the loop's turn is over: a
    start passes through several states in one go (scanning, running, heat on), and rows that
    the next change replaces at once would only load the line (28 bytes each)."""

    def __init__(self, chair: Chair, session: Session, routine: Routine) -> None:
        self.chair = chair
        self.session = session
        identity = chair.link.identity  # known once connected; else the smallest layout
        info = identity.info if identity is not None else None
        rows, columns, _ = display_size(info.display_rows if info else None,
                                        info.display_cols if info else None)
        self.menu = RemoteMenu([RoutineChoice(routine.name, routine.duration_s, False)],
                               rows=rows, columns=columns)
        self._rows: tuple[str, ...] = ()
        self._redraw: asyncio.Handle | None = None
        self._remove = chair.add_listener(self._on_message)

    def view(self) -> ChairSnapshot:
        snap = self.session.snapshot()
        state = ChairState(snap.state) if snap.state is not SessionState.IDLE else (
            ChairState.FAULT if snap.faults else ChairState.IDLE)
        return ChairSnapshot(state, self.chair.device.name, snap.routine, snap.step,
                             snap.elapsed_s, snap.remaining_s, snap.intensity, snap.heat_on,
                             zones_off=snap.zones_off, faults=snap.faults)

    def _on_message(self, message: object, host_s: float) -> None:
        if not isinstance(message, KeyPress):
            return
        action = self.menu.press(message.key, self.view(), host_s)
        with contextlib.suppress(TransitionError, MassageError):
            match action:
                case Stop():
                    self.session.stop(StopSource.REMOTE_KEY, "STOP key on the remote")
                case Pause():
                    self.session.pause()
                case Resume():
                    self.session.resume()
                case ChangeIntensity(delta=delta):
                    self.session.change_intensity(delta)
                case ToggleHeat():
                    self.session.toggle_heat()
                case Discomfort():  # the one-session command lowers; the service also learns
                    self.session.change_intensity(-1)
        self.refresh()

    def refresh(self) -> None:
        """Send the display rows that changed (queued messages; the line is not in a hurry)."""
        rows = self.menu.rows(self.view())
        link = self.chair.link
        if not link.connected:
            return
        for index, text in enumerate(rows):
            if index >= len(self._rows) or self._rows[index] != text:
                with contextlib.suppress(MassageError):
                    link.send_nowait(ShowText(index, text))
        self._rows = rows

    def changed(self) -> None:
        """The session changed: draw it when this turn of the loop is over."""
        if self._redraw is None:
            self._redraw = asyncio.get_running_loop().call_soon(self._redraw_now)

    def _redraw_now(self) -> None:
        self._redraw = None
        self.refresh()

    async def keep_display(self) -> None:
        """The running screen's clock: once a second, once the session has drawn its rows."""
        while True:
            await asyncio.sleep(REMOTE_REFRESH_S)
            if self._rows:
                self.refresh()

    def close(self) -> None:
        if self._redraw is not None:
            self._redraw.cancel()
        self._remove()


def _save_trace(recorder: SessionRecorder, directory: Path, routine: str,
                console: Console) -> Path | None:
    try:
        return save_trace(recorder, directory, routine)
    except OSError as error:
        console.print(f"could not save the trace in {directory}: {error}")
        return None
