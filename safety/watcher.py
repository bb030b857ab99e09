"""The base of every telemetry detector: a sensor, its channel, and a confirm counter.

What a detector compares against comes from a `Context` (the supervisor): the set point the
board is running right now (after the run-time intensity scale and channel mask), the limits in
force, and whether a session runs.
"""

from __future__ import annotations

from typing import Protocol

from massagectl.routines.device import Sensor
from massagectl.safety.channel_limits import ChannelLimits
from massagectl.safety.faults import Fault, FaultCause

# A limit must be exceeded by this many readings in a row: one reading may be a noise spike;
# two at the board's 20 Hz is 0.1 s, still far inside any harm.
CONFIRM_READINGS = 2


class Context(Protocol):
    session_active: bool

    def limits_for(self, channel_index: int) -> ChannelLimits: ...

    def commanded(self, channel_index: int, board_s: float) -> float | None:
        """The effective set point at `board_s` (None: the channel is in its safe state)."""


class Watcher:
    """Base: the sensor, its channel and the confirm counter."""

    def __init__(self, sensor: Sensor, channel_index: int | None) -> None:
        self.sensor = sensor
        self.channel_index = channel_index
        self._count = 0

    def confirmed(self, condition: bool) -> bool:
        self._count = self._count + 1 if condition else 0
        return self._count >= CONFIRM_READINGS

    def fault(self, cause: FaultCause, detail: str, value: float, **extra) -> Fault:
        values = {self.sensor.id: (value, str(self.sensor.unit))}
        values.update(extra)
        return Fault(cause, f"{self.sensor.id}: {detail}", values=values)

    def update(self, value: float, board_s: float, ctx: Context) -> Fault | None:
        raise NotImplementedError


