"""What the chair service's action mixins use of ChairService, declared for the type checker.

SessionActions and OwnerActions are mixins of ChairService (controller.service.core), which
holds the state and the helpers they use. This base names them with their types, so that each
mixin is checked on its own and ChairService is checked against the same names. Nothing here
runs: ChairService sets every attribute in __init__ (state_folder once a board is connected)
and defines every method.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncio
    from pathlib import Path

    from massagectl.controller.config import Config
    from massagectl.controller.service.chair import Chair
    from massagectl.controller.service.chair_files import ChairFiles
    from massagectl.controller.service.file_writer import FileWriter
    from massagectl.controller.service.history import SessionHistory
    from massagectl.controller.service.operations import (
        ChairEvent,
        ChairSnapshot,
        ChairState,
        Origin,
        Refused,
        SessionSummary,
    )
    from massagectl.controller.service.session_actions import PendingStart
    from massagectl.controller.service.users import UserFolder
    from massagectl.controller.session.recorder import SessionRecorder
    from massagectl.controller.session.session import Session
    from massagectl.routines.device import DeviceProfile
    from massagectl.routines.routine import Routine
    from massagectl.safety.chair_record import ChairRecord


class ServiceParts:
    config: Config
    device: DeviceProfile
    body_scan: bool
    user_folder: UserFolder
    chair: Chair | None
    session: Session | None
    session_task: asyncio.Task | None
    history: SessionHistory | None
    files: ChairFiles | None
    remote_start_allowed: bool
    user_name: str
    next_intensity: int | None
    timer_min: int | None
    zones_off: set[str]
    last_summary: SessionSummary | None
    record: ChairRecord | None
    state_folder: Path
    _faults_seen: int
    _session_origin: Origin
    _session_started: str
    _session_start_host_s: float
    _session_changes: list[str]
    _timer_handle: asyncio.TimerHandle | None
    _recorder: SessionRecorder | None
    _background: set[asyncio.Task]
    _board_clearing: asyncio.Task | None
    _starting: PendingStart | None
    files_writer: FileWriter
    _traces_planned: set[Path]

    if TYPE_CHECKING:
        # ChairService's (core.py)
        def state(self) -> ChairState: ...
        def snapshot(self) -> ChairSnapshot: ...
        def zones(self) -> list[str]: ...
        def keep_record(self) -> None: ...
        def save_record(self, record: ChairRecord) -> None: ...
        def _emit(self, event: ChairEvent) -> None: ...
        def _changed(self) -> None: ...
        def _seat_occupied(self) -> bool | None: ...
        def _idle_intensity(self) -> int: ...
        def _own_routines(self) -> dict[str, Routine]: ...

        # SessionActions' (session_actions.py), which OwnerActions uses too
        def _refuse(self, operation: str, origin: Origin, message: str,
                    hint: str | None = None) -> Refused: ...
        def _session_or_refuse(self, operation: str, origin: Origin, what: str) -> Session: ...
