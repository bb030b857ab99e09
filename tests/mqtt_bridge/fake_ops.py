"""A stand-in for the chair service's operations, recording what the bridge asked for.

It keeps the rules the bridge relies on the service for (remote start needs the owner's
permission and an occupied seat; stop is never refused), and nothing more.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace

from massagectl.controller.service.operations import (
    TIMER_CHOICES_MIN,
    ChairEvent,
    ChairSnapshot,
    ChairState,
    ConnectionChanged,
    Listener,
    Origin,
    Refused,
    RoutineChoice,
    StateChanged,
)


class FakeOperations:
    def __init__(self, serial: str = "SN-0042", *, remote_start: bool = True,
                 seat_occupied: bool = True, board: bool = True) -> None:
        self._snapshot = ChairSnapshot(ChairState.IDLE, chair_id=serial, model="chair",
                                       firmware="1.2.0", remote_start_allowed=remote_start,
                                       seat_occupied=seat_occupied)
        if not board:  # the service started with the chair unplugged: the profile's name
            self._snapshot = replace(self._snapshot, state=ChairState.DISCONNECTED,
                                     chair_id="chair", firmware="")
        self._listeners: list[Listener] = []
        self.calls: list[tuple[str, object]] = []
        self.stop_times_ns: list[int] = []
        # Set it to make `start` return it: the session begins (or is refused) when it ends.
        self.admission: asyncio.Future[None] | None = None

    def snapshot(self) -> ChairSnapshot:
        return self._snapshot

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def emit(self, event: ChairEvent) -> None:
        for listener in list(self._listeners):
            listener(event)

    def _change(self, **changes: object) -> None:
        self._snapshot = replace(self._snapshot, **changes)
        self.emit(StateChanged(self._snapshot))

    def unplug(self) -> None:
        """The board goes away (the service keeps the last board's id, as it does)."""
        self._snapshot = replace(self._snapshot, state=ChairState.DISCONNECTED, firmware="")
        self.emit(ConnectionChanged(False, "sim", self._snapshot.chair_id, "unplugged"))
        self.emit(StateChanged(self._snapshot))

    def plug_in(self, serial: str) -> None:
        """A board with this serial number connects and identifies itself."""
        self._snapshot = replace(self._snapshot, state=ChairState.IDLE, chair_id=serial,
                                 firmware="1.2.0")
        self.emit(ConnectionChanged(True, "sim", serial))
        self.emit(StateChanged(self._snapshot))

    def routines(self) -> list[RoutineChoice]:
        return [RoutineChoice("relax", 600, True), RoutineChoice("deep_tissue", 900, True)]

    def users(self) -> list[str]:
        return ["default"]

    def zones(self) -> list[str]:
        return ["shoulders", "calves", "feet"]

    def start(self, routine: str, origin: Origin, *,
              intensity: int | None = None) -> asyncio.Future[None] | None:
        self.calls.append(("start", routine))
        if self.admission is not None:  # judged later, as the service admits off the loop
            return self.admission
        if origin is Origin.MQTT and not self._snapshot.remote_start_allowed:
            raise Refused("start", "starting from home automation is not allowed",
                          "allow it on the remote's settings page")
        if origin is Origin.MQTT and not self._snapshot.seat_occupied:
            raise Refused("start", "nobody is sitting in the chair")
        if self._snapshot.state is not ChairState.IDLE:
            raise Refused("start", f"a session is {self._snapshot.state}")
        self._change(state=ChairState.RUNNING, routine=routine, remaining_s=600.0)

    def stop(self, origin: Origin, detail: str = "") -> None:
        self.stop_times_ns.append(time.perf_counter_ns())
        self.calls.append(("stop", detail))
        if self._snapshot.state is not ChairState.IDLE:
            self._change(state=ChairState.IDLE, routine=None, remaining_s=0.0)

    def pause(self, origin: Origin) -> None:
        self.calls.append(("pause", None))
        if self._snapshot.state is not ChairState.RUNNING:
            raise Refused("pause", f"nothing to pause while {self._snapshot.state}")
        self._change(state=ChairState.PAUSED)

    def resume(self, origin: Origin) -> None:
        self.calls.append(("resume", None))
        if self._snapshot.state is not ChairState.PAUSED:
            raise Refused("resume", f"nothing to resume while {self._snapshot.state}")
        self._change(state=ChairState.RUNNING)

    def set_intensity(self, level: int, origin: Origin) -> int:
        self.calls.append(("intensity", level))
        self._change(intensity=level)
        return level

    def change_intensity(self, delta: int, origin: Origin) -> int:
        return self.set_intensity(self._snapshot.intensity + delta, origin)

    def set_heat(self, on: bool, origin: Origin) -> bool:
        self.calls.append(("heat", on))
        self._change(heat_on=on)
        return on

    def set_timer(self, minutes: int, origin: Origin) -> int:
        self.calls.append(("timer", minutes))
        if minutes not in TIMER_CHOICES_MIN:
            raise Refused("timer", f"{minutes} min is not a timer choice")
        self._change(timer_min=minutes)
        return minutes

    def set_zone(self, zone: str, on: bool, origin: Origin) -> None:
        self.calls.append(("zone", (zone, on)))
        off = set(self._snapshot.zones_off) - {zone} | (set() if on else {zone})
        self._change(zones_off=tuple(sorted(off)))

    def choose_user(self, name: str, origin: Origin) -> None:
        self.calls.append(("user", name))

    def allow_remote_start(self, allowed: bool, origin: Origin) -> None:
        self._change(remote_start_allowed=allowed)

    def clear_faults(self, origin: Origin) -> tuple[str, ...]:
        return ()

    def discomfort(self, origin: Origin) -> str:
        return ""

    def mark_spot(self, name: str | None, origin: Origin) -> str:
        return name or ""
