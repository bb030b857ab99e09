"""A supervised session against the fake board, driven with synthetic telemetry in virtual time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from massagectl.firmware_bridge.messages import DeviceState
from massagectl.firmware_bridge.wire import MAX_SENSOR_VALUES_PER_REPORT
from massagectl.routines.device import ChannelKind, DeviceProfile, SensorKind
from massagectl.routines.plan import Plan
from massagectl.routines.user import UserProfile
from massagectl.safety.admission import admit
from massagectl.safety.fault_log import FaultLog
from massagectl.safety.limits import DEFAULT_LIMITS, SafetyLimits
from massagectl.safety.stop_path import StopOutcome, StopPath
from massagectl.safety.supervisor import Supervisor
from massagectl.safety.verdicts import AdmittedPlan
from tests.safety.fakes import CLOCK_HZ, FakeBoard
from tests.safety.plans import CHAIR

# The board reports at 20 Hz, as many values per SensorReport as the wire allows (17: the
# chair's 18 sensors in two).
REPORT_PERIOD_S = 0.05
VALUES_PER_REPORT = MAX_SENSOR_VALUES_PER_REPORT

# What a healthy chair at rest reads, per sensor id.
AT_REST = {
    "roller_position": 100.0, "roller_width": 100.0, "roller_depth": 0.0, "roller_load": 0.2,
    "knead_speed": 0.0, "knead_current": 0.1, "tap_rate": 0.0, "tap_current": 0.1,
    "pressure_shoulders": 0.0, "pressure_arms": 0.0, "pressure_seat": 0.0,
    "pressure_calves": 0.0, "pressure_feet": 0.0, "temp_lower_back": 25.0, "temp_calves": 25.0,
    "seat": 1.0, "heat_lower_back_current": 0.01, "heat_calves_current": 0.01,
    "cool_lower_back_current": 0.01,
}
# What a heat element draws while its thermostat has it on (22 W on 24 V), and a cooler.
ELEMENT_ON_A = 0.92
COOLER_ON_A = 1.25

Readings = dict[str, float] | Callable[[float], dict[str, float]]
# Sensors that read their channel's set point unless a test says otherwise.
FOLLOWING = {SensorKind.PRESSURE: {ChannelKind.AIRBAG},
             SensorKind.SPEED: {ChannelKind.KNEAD, ChannelKind.TAP}}


class Rig:
    def __init__(self, plan: Plan | None, user: UserProfile | None = None,
                 device: DeviceProfile = CHAIR, limits: SafetyLimits = DEFAULT_LIMITS,
                 **board_options) -> None:
        self.device = device
        self.board = FakeBoard(**board_options)
        self.log = FaultLog(None)
        self.stop_path = StopPath(self.board, self.log)
        self.supervisor = Supervisor(device, self.stop_path, clock_hz=CLOCK_HZ,
                                     safety_limits=limits)
        self.board.listener = self.supervisor.on_message
        self.admitted: AdmittedPlan | None = None
        self._reports = 0
        if plan is not None:
            verdict = admit(plan, device, user or UserProfile(), limits)
            assert isinstance(verdict, AdmittedPlan), str(verdict)
            self.admitted = verdict

    @property
    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def begin(self, send: bool = True) -> None:
        """Start the session now (plan time 0 = now) and pass every segment of the plan."""
        self.supervisor.begin_session(self.admitted, self.now, anchor_clock=self.board.clock())
        if send:
            for segment in self.admitted.plan.segments():
                self.supervisor.check_segment(segment)

    def report(
        self, readings: dict[str, float] | None = None, frozen: tuple[str, ...] = ()
    ) -> None:
        """One round of telemetry; every reading but the seat's and the `frozen` sensors'
        wobbles by one step of its sensor's resolution, as a live sensor's noise does."""
        values = dict(AT_REST)
        values.update(self._following())
        values.update(readings or {})
        for sensor_id, current_a in self._elements(values).items():
            if sensor_id not in (readings or {}):
                values[sensor_id] = current_a
        self._reports += 1
        wobble = 1 if self._reports % 2 else -1
        row = [values[sensor.id] + (0 if sensor.kind == "occupancy" or sensor.id in frozen
                                    else wobble * sensor.resolution / 2)
               for sensor in self.device.sensors]
        for first in range(0, len(row), VALUES_PER_REPORT):
            self.board.report(row[first:first + VALUES_PER_REPORT], first_index=first)

    def _following(self) -> dict[str, float]:
        """A healthy chair's airbags and motors do what they are told, at once."""
        board_s = self.supervisor.clock.seconds(self.board.clock())
        found = {}
        for sensor in self.device.sensors:
            if sensor.channel is None or sensor.kind not in FOLLOWING:
                continue
            index = self.device.channel_index(sensor.channel)
            if self.device.channels[index].kind not in FOLLOWING[sensor.kind]:
                continue
            commanded = self.supervisor.commanded(index, board_s)
            found[sensor.id] = 0.0 if commanded is None else commanded
        return found

    def _elements(self, values: dict[str, float]) -> dict[str, float]:
        """A healthy element draws while its thermostat has it on: the set point on and the
        surface below it (hardware.md 5)."""
        board_s = self.supervisor.clock.seconds(self.board.clock())
        found = {}
        for sensor in self.device.sensors:
            if sensor.kind is not SensorKind.CURRENT or sensor.channel is None:
                continue
            index = self.device.channel_index(sensor.channel)
            channel = self.device.channels[index]
            surface = next((s.id for s in self.device.sensors if s.channel == channel.id
                            and s.kind is SensorKind.TEMPERATURE), None)
            if channel.kind not in (ChannelKind.HEAT, ChannelKind.COOL):
                continue
            if surface is None:  # a cool channel: the zone's heat channel's sensor
                surface = next(s.id for s in self.device.sensors
                               if s.kind is SensorKind.TEMPERATURE and s.channel is not None
                               and self.device.channel(s.channel).zone is channel.zone)
            sign = -1.0 if channel.kind is ChannelKind.COOL else 1.0
            commanded = self.supervisor.commanded(index, board_s)
            on = commanded is not None and sign * (commanded - (channel.safe_default or 0.0)) > 0 \
                and sign * (commanded - values[surface]) > 0 \
                and not self.supervisor.stop_path.stopping \
                and self.board.state is not DeviceState.SHUTDOWN
            drawn_a = COOLER_ON_A if sign < 0 else ELEMENT_ON_A
            found[sensor.id] = drawn_a if on else AT_REST.get(sensor.id, 0.01)
        return found

    async def run(self, seconds: float, readings: Readings | None = None,
                  until: Callable[[], bool] | None = None, frozen: tuple[str, ...] = ()) -> float:
        """Report every REPORT_PERIOD_S for `seconds` (or until `until()`); returns time taken."""
        start_s = self.now
        while self.now - start_s < seconds and not (until and until()):
            current = readings(self.now - start_s) if callable(readings) else readings
            self.report(current, frozen)
            await asyncio.sleep(REPORT_PERIOD_S)
        return self.now - start_s

    def stop_seen(self) -> bool:
        """A stop was requested (it may already be confirmed)."""
        return self.stop_path.stopping or self.stop_path.last_outcome is not None

    async def stopped(self) -> StopOutcome:
        """The outcome of the stop under way (or the last one)."""
        outcome = await self.stop_path.finished()
        assert outcome is not None, "no stop happened"
        return outcome
