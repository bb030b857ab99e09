"""A fake port and a minimal fake board behind it: STOP, intensity and mask, and telemetry."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from massagectl.firmware_bridge.messages import (
    DeviceMessage,
    DeviceState,
    SensorReport,
    SetChannelMask,
    SetIntensity,
    StatusReport,
    Stop,
    StopCause,
)
from massagectl.routines.errors import PortError

CLOCK_HZ = 1_000_000


class FakeBoard:
    """Answers immediate messages like a board; `listener` gets its messages with host time.

    `answers=False` models a board (or line) that never confirms a STOP.
    `confirm_delay_s` is how long the STOP takes to come back as a StatusReport.
    """

    def __init__(self, answers: bool = True, confirm_delay_s: float = 0.002,
                 fail_writes: bool = False, clock_offset_s: float = 0.0) -> None:
        self.answers = answers
        self.clock_offset_s = clock_offset_s  # the board's clock runs this far ahead of the host
        self.confirm_delay_s = confirm_delay_s
        self.fail_writes = fail_writes
        self.listener: Callable[[DeviceMessage, float], None] | None = None
        self.sent: list[tuple[float, object]] = []
        self.closed = False
        self.state = DeviceState.READY
        self.cause = StopCause.NONE
        self.outputs_safe = True
        self.scale = 1.0
        self.mask = -1
        self.rise_limits: dict[int, float] = {}  # what SetRiseLimit told it last

    # --- the BoardPort interface ---------------------------------------------------------

    def send_immediate(self, message) -> None:
        if self.closed or self.fail_writes:
            raise PortError("port /dev/fake is closed")
        loop = asyncio.get_running_loop()
        self.sent.append((loop.time(), message))
        if isinstance(message, Stop):
            self.state, self.cause, self.outputs_safe = (DeviceState.SHUTDOWN,
                                                         StopCause.HOST_STOP, True)
            if self.answers:
                loop.call_later(self.confirm_delay_s, self.emit, self.status())
        elif isinstance(message, SetIntensity):
            self.scale = message.scale
        elif isinstance(message, SetChannelMask):
            self.mask = message.enabled_mask

    def set_rise_limits(self, rates_per_s) -> bool:
        if self.closed or self.fail_writes:
            raise PortError("port /dev/fake is closed")
        self.rise_limits = dict(rates_per_s)
        return True

    async def close(self) -> None:
        self.closed = True

    # --- the board's side ----------------------------------------------------------------

    def clock(self) -> int:
        board_s = asyncio.get_running_loop().time() + self.clock_offset_s
        return round(board_s * CLOCK_HZ) % (1 << 32)

    def status(self, **changes) -> StatusReport:
        fields = dict(clock=self.clock(), state=self.state, stop_cause=self.cause,
                      outputs_safe=self.outputs_safe, queue_free=32, intensity_scale=self.scale,
                      enabled_mask=self.mask & 0xFFFF, late_segments=0)
        fields.update(changes)
        return StatusReport(**fields)

    def emit(self, message: DeviceMessage) -> None:
        if self.listener is not None and not self.closed:
            self.listener(message, asyncio.get_running_loop().time())

    def report(self, values: dict[int, float] | list[float], first_index: int = 0) -> None:
        values = list(values.values()) if isinstance(values, dict) else list(values)
        self.emit(SensorReport(self.clock(), first_index, tuple(values)))

    def stops_sent(self) -> int:
        return sum(isinstance(m, Stop) for _, m in self.sent)


class Holding:
    """The detectors' context: a session runs and the set point stays at `value` (None: the
    channel is in its safe state)."""

    session_active = True

    def __init__(self, value: float | None, limits) -> None:
        self.value = value
        self.limits = limits

    def limits_for(self, index):
        return self.limits.channels[index]

    def commanded(self, index, board_s):
        return self.value
