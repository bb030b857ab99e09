"""The chair service's owner operations: who is sitting, the remote-start setting, clearing
a fault, and what the chair learns from "too much here" and "right there".

A mixin of ChairService (controller.service.core), which holds the state these use
(declared in controller.service.parts).
"""

from __future__ import annotations

import asyncio
import logging

from massagectl.controller.service.operations import FaultsCleared, Origin, ProfileChanged
from massagectl.controller.service.parts import ServiceParts
from massagectl.controller.service.spots import (
    roller_pct,
    with_sensitive_spot,
    with_trigger_point,
    worked_now,
)
from massagectl.controller.session.state import SessionState
from massagectl.routines.errors import MassageError
from massagectl.routines.intensity import LEVELS
from massagectl.routines.user import UserProfile

log = logging.getLogger(__name__)


class OwnerActions(ServiceParts):
    """See the module docstring."""

    def choose_user(self, name: str, origin: Origin) -> None:
        if self.session is not None or self._starting is not None:
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
        if self.session is not None or self._starting is not None:
            raise self._refuse("clear", origin, "a session is starting or still ending",
                               "wait until the chair has stopped")
        if self._board_clearing is not None and not self._board_clearing.done():
            return ()  # the same clear, already under way
        board_cause = chair.link.board_fault
        record = self.record
        in_record = record is not None and record.is_latched
        if not chair.latch.latched and board_cause is None and not in_record:
            return ()
        cleared = chair.supervisor.clear_faults(str(origin), asyncio.get_running_loop().time())
        self._faults_seen = 0
        if self.files is not None:  # the old top-level log's latch is cleared with it
            cleared = [*cleared, *self.files.clear_old(str(origin))]
        causes = tuple(dict.fromkeys(str(f.cause) for f in cleared))
        if record is not None and in_record:
            causes += tuple(entry["cause"] for entry in record.clear()
                            if entry["cause"] not in causes)
            self.save_record(record)
        if board_cause is not None:
            causes += (f"board {board_cause.name.lower()}",)
            # The board's own latch ends only with ClearFault; the chair shows the fault
            # screen until the board confirms it is READY and safe again.
            task = asyncio.get_running_loop().create_task(self._clear_board(chair),
                                                          name="clearing the board's fault")
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            self._board_clearing = task  # the chair stays in FAULT until the board is READY
            task.add_done_callback(lambda _: self._changed())
        log.warning("faults cleared from the %s: %s", origin, ", ".join(causes))
        self._emit(FaultsCleared(causes, origin))
        self._changed()
        return causes

    async def _clear_board(self, chair) -> None:
        try:
            await chair.link.clear_board_fault()
        except MassageError as error:
            log.warning("the board did not clear its fault: %s", error)

    def discomfort(self, origin: Origin) -> str:
        session = self._session_or_refuse("discomfort", origin, "lower")
        if session.state is not SessionState.RUNNING:
            raise self._refuse("discomfort", origin, f"the session is {session.state}")
        plan = session.plan
        chair = self.chair
        worked = worked_now(plan, session.elapsed_s(), session.level, dict(chair.readings),
                            session.user) if plan is not None and chair is not None else None
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
