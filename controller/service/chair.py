"""A connected chair or pad: the link with the safety layer wrapped around it, one per board.

    chair = Chair(link, device, fault_log)       # supervisor, stop path, latch, run-time limits
    chair.add_listener(callback)                 # every board message, after the supervisor saw it
    chair.readings["pressure_calves"]            # the latest value of every sensor
    await chair.close()

The supervisor lives as long as the connection, not as long as a session: its detectors' state
(a thermal dose, a heater that kept rising after the last session) carries over from one
session to the next. The latch is restored from the fault log, so a fault that was never
cleared still blocks a new session after a restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from massagectl.firmware_bridge.link import Link, LinkState
from massagectl.firmware_bridge.messages import SensorReport
from massagectl.routines.device import DeviceProfile
from massagectl.safety.fault_log import FaultLog
from massagectl.safety.faults import FaultLatch
from massagectl.safety.limits import DEFAULT_LIMITS, SafetyLimits
from massagectl.safety.runtime_limits import admitted_rise, board_rise_limits
from massagectl.safety.stop_path import StopPath
from massagectl.safety.supervisor import Supervisor

Listener = Callable[[object, float], None]


class Chair:
    """See the module docstring."""

    def __init__(
        self,
        link: Link,
        device: DeviceProfile,
        fault_log: FaultLog,
        *,
        latch: FaultLatch | None = None,
        safety_limits: SafetyLimits = DEFAULT_LIMITS,
    ) -> None:
        self.link = link
        self.device = device
        self.fault_log = fault_log
        self.safety_limits = safety_limits
        self.stop_path = StopPath(link, fault_log)
        self.latch = latch if latch is not None else FaultLatch(fault_log)
        self.supervisor = Supervisor(
            device, self.stop_path, clock_hz=link.info.clock_hz, latch=self.latch,
            safety_limits=safety_limits,
        )
        self.runtime = self.supervisor.runtime
        # The board slews at the owner's rise limits from now on, also after a reconnect (the
        # link sends them after every handshake: a restarted board is back at its own rates);
        # each session tells it its own admitted rates before its first segment.
        link.set_rise_limits(board_rise_limits(device, admitted_rise(self.supervisor.baseline)))
        self.readings: dict[str, float] = {}
        self._sensor_ids = [sensor.id for sensor in device.sensors]
        self._listeners: list[Listener] = []
        self._loop = asyncio.get_running_loop()
        # Whether losing the link is a fault: yes while a session may be working on a person
        # (always, by default); a resident service idling between sessions only reconnects.
        self.link_loss_is_fault: Callable[[], bool] = lambda: True
        self._remove = link.add_listener(self._on_message)
        self._tasks = [
            self._loop.create_task(self.supervisor.watch(), name="supervisor timer"),
            self._loop.create_task(self._watch_link(), name="link watch"),
        ]

    @property
    def clock_hz(self) -> int:
        return self.link.info.clock_hz

    def add_listener(self, callback: Listener) -> Callable[[], None]:
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback)

    def _on_message(self, message: object) -> None:
        host_s = self._loop.time()
        # Safety first: the supervisor (and through it the stop path) sees every message
        # before anything else reacts to it.
        self.supervisor.on_message(message, host_s)
        if isinstance(message, SensorReport):
            first = message.first_index  # zip ends with the profile's sensors
            self.readings.update(zip(self._sensor_ids[first:], message.values, strict=False))
        for callback in list(self._listeners):
            callback(message, host_s)

    async def _watch_link(self) -> None:
        reason = await self.link.wait_lost()
        if self.link.state is LinkState.LOST and self.link_loss_is_fault():
            if self.link.board_restarted:  # one event, one cause (hardware.md 4.9)
                self.supervisor.board_restarted(self.link.restart_detail, self._loop.time())
            else:
                self.supervisor.link_lost(reason, self._loop.time())

    async def close(self) -> None:
        """Stop watching; a stop still under way is waited for (it is bounded in time)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.stop_path.finished()
        self._remove()
