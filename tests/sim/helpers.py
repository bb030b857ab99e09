"""A tiny in-process host for simulator tests: it keeps time, feeds the watchdog, sends segments."""

from __future__ import annotations

from massagectl.firmware_bridge.clock_wrap import wrap_clock
from massagectl.firmware_bridge.messages import (
    DeviceState,
    Heartbeat,
    ScheduleSegment,
    StatusReport,
    Stop,
)
from massagectl.routines.device import DeviceProfile, SensorKind, load_device
from massagectl.sim.board import SimBoard

HEARTBEAT_S = 0.1  # well inside the board's 500 ms watchdog


def without_element_currents(device: str) -> DeviceProfile:
    """A built-in profile as a board without element current sensors has it (hardware.md
    5.1: the host then watches the surface's temperature alone)."""
    profile = load_device(device)
    kept = [s for s in profile.sensors if not (
        s.kind is SensorKind.CURRENT and s.channel is not None
        and profile.channel(s.channel).kind.name in ("HEAT", "COOL"))]
    return DeviceProfile.model_validate({**profile.model_dump(), "sensors": kept})


class Host:
    """Drives one board on an explicit timeline (host seconds), like a well-behaved host."""

    def __init__(self, device: str | DeviceProfile = "chair", **board_options) -> None:
        self.now_s = 0.0
        profile = device if isinstance(device, DeviceProfile) else load_device(device)
        self.board = SimBoard(profile, now_s=0.0, **board_options)
        self.profile = self.board.profile
        self.board.handle(Heartbeat(), 0.0)

    def send(self, message: object) -> None:
        self.board.handle(message, self.now_s)

    def wait(self, seconds: float, heartbeat_s: float | None = HEARTBEAT_S) -> None:
        """Let time pass; heartbeats keep the watchdog fed unless `heartbeat_s` is None."""
        end_s = self.now_s + seconds
        if heartbeat_s is not None:
            while self.now_s + heartbeat_s < end_s:
                self.now_s += heartbeat_s
                self.board.handle(Heartbeat(), self.now_s)
        self.now_s = end_s
        self.board.advance(end_s)

    def ticks_in(self, seconds: float) -> int:
        """The board's unwrapped clock `seconds` from now."""
        return self.board.clock.ticks_at(self.now_s + seconds)

    def segment(
        self,
        channel: str,
        start_in_s: float,
        duration_s: float,
        start_value: float,
        end_value: float | None = None,
        amplitude: float = 0.0,
        period_s: float = 0.0,
    ) -> ScheduleSegment:
        hz = self.board.clock_hz
        return ScheduleSegment(
            channel=self.profile.channel_index(channel),
            start_clock=wrap_clock(self.ticks_in(start_in_s)),
            duration_ticks=round(duration_s * hz),
            start_value=start_value,
            end_value=start_value if end_value is None else end_value,
            amplitude=amplitude,
            period_ticks=round(period_s * hz),
        )

    def schedule(self, channel: str, start_in_s: float, duration_s: float, *values, **kw) -> None:
        self.send(self.segment(channel, start_in_s, duration_s, *values, **kw))

    def stop(self) -> None:
        self.send(Stop())

    def messages(self, kind: type | None = None) -> list:
        taken = self.board.take_messages()
        return taken if kind is None else [m for m in taken if isinstance(m, kind)]

    def last_status(self) -> StatusReport:
        return [m for m in self.board.outbox if isinstance(m, StatusReport)][-1]

    @property
    def shut_down(self) -> bool:
        return self.board.state is DeviceState.SHUTDOWN

    def sensor(self, sensor_id: str) -> float:
        """The latest reported reading of a sensor."""
        return float(self.board.trace.sensor(sensor_id)[-1])

    def actual(self, channel_id: str) -> float:
        return float(self.board.trace.actual(channel_id)[-1])
