"""A minimal board on DeviceProtocol, enough to test the link (the real simulator lives in sim/).

It answers Identify from device_profile_map, Heartbeat with its clock, QueryStatus with its
state; records every accepted segment; Stop and its 500 ms watchdog clear the queue and latch
SHUTDOWN until Reset. It executes nothing: the physics is sim/'s business.
"""

from __future__ import annotations

import asyncio

from massagectl.firmware_bridge import messages as m
from massagectl.firmware_bridge.device_protocol import DeviceProtocol
from massagectl.firmware_bridge.events import NEED_DATA, HostFrame
from massagectl.firmware_bridge.identity import DEFAULT_CLOCK_HZ, DeviceIdentity, device_profile_map
from massagectl.firmware_bridge.transport import Transport
from massagectl.firmware_bridge.wire import CLOCK_MODULUS
from massagectl.routines.device import DeviceProfile
from massagectl.routines.errors import PortError

WATCHDOG_S = 0.5
STATUS_PERIOD_S = 0.5  # hardware.md: StatusReport at 2 Hz and on every change


class FakeBoard:
    def __init__(
        self,
        transport: Transport,
        profile: DeviceProfile,
        *,
        identity: DeviceIdentity | None = None,
        clock_start: int = 0,
        clock_hz: int = DEFAULT_CLOCK_HZ,
        answer_identify: bool = True,
    ) -> None:
        self.transport = transport
        self.identity = identity or device_profile_map(profile, clock_hz=clock_hz)
        self.clock_hz = clock_hz
        self.answer_identify = answer_identify
        self.protocol = DeviceProtocol()
        self._loop = asyncio.get_running_loop()
        self._clock_origin_s = self._loop.time() - clock_start / clock_hz
        self.received: list[m.ScheduleSegment] = []  # accepted segments, in arrival order
        self.arrival_clocks: list[int] = []  # the board clock when each of them arrived
        self.queue: list[m.ScheduleSegment] = []  # segments not cleared by a stop
        self.host_messages: list[object] = []
        self.watchdog_trips: list[float] = []
        self.frames = 0
        self.frame_times: list[float] = []  # when each valid host block fed the watchdog
        self.state = m.DeviceState.READY
        self.stop_cause = m.StopCause.POWER_ON
        self.intensity = 1.0
        self.mask = (1 << len(profile.channels)) - 1
        self._watchdog: asyncio.TimerHandle | None = None
        self._status_timer = self._loop.call_later(STATUS_PERIOD_S, self._periodic_status)
        self._task = self._loop.create_task(self._run(), name="fake board")

    def _periodic_status(self) -> None:
        self._emit(self.status())
        self._status_timer = self._loop.call_later(STATUS_PERIOD_S, self._periodic_status)

    def clock(self) -> int:
        return round((self._loop.time() - self._clock_origin_s) * self.clock_hz) % CLOCK_MODULUS

    @property
    def outputs_safe(self) -> bool:
        return self.state is m.DeviceState.SHUTDOWN or not self.queue

    def power_on(self) -> None:
        """The board restarts: clock from 0, sequence from 0, READY with cause POWER_ON."""
        self._clock_origin_s = self._loop.time()
        self.protocol.power_on()
        self.queue.clear()
        self.state, self.stop_cause = m.DeviceState.READY, m.StopCause.POWER_ON
        self._emit(self.status())

    def status(self) -> m.StatusReport:
        return m.StatusReport(
            clock=self.clock(), state=self.state, stop_cause=self.stop_cause,
            outputs_safe=self.outputs_safe, queue_free=self.identity.info.queue_capacity,
            intensity_scale=self.intensity, enabled_mask=self.mask, late_segments=0,
        )

    def hang(self) -> None:
        """The firmware hangs: it reads nothing and sends nothing any more."""
        self._task.cancel()
        self._status_timer.cancel()
        if self._watchdog is not None:
            self._watchdog.cancel()

    async def close(self) -> None:
        self._status_timer.cancel()
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        if self._watchdog is not None:
            self._watchdog.cancel()
        await self.transport.close()

    def _emit(self, *messages: object) -> None:
        if self.transport.closed:
            return
        try:
            self.transport.write(self.protocol.send_all(messages))
        except PortError:
            pass  # unplugged: the host hears nothing

    def _shutdown(self, cause: m.StopCause) -> None:
        self.queue.clear()
        self.state, self.stop_cause = m.DeviceState.SHUTDOWN, cause
        self._emit(self.status())

    def _trip(self) -> None:
        self._watchdog = None
        self.watchdog_trips.append(self._loop.time())
        self._shutdown(m.StopCause.WATCHDOG)

    async def _run(self) -> None:
        while True:
            try:
                data = await self.transport.read()
            except PortError:
                return
            self.protocol.receive_data(data)
            try:
                self.transport.write(self.protocol.data_to_send())
            except PortError:
                return
            while (event := self.protocol.next_event()) is not NEED_DATA:
                self._handle(event)

    def _handle(self, event: object) -> None:
        if isinstance(event, HostFrame):
            self.frames += 1
            self.frame_times.append(self._loop.time())
            if self._watchdog is not None:
                self._watchdog.cancel()
            self._watchdog = self._loop.call_later(WATCHDOG_S, self._trip)
            return
        if not isinstance(event, m.HostMessage):
            return  # frame errors and bad messages: counted by the protocol
        self.host_messages.append(event)
        if isinstance(event, m.Identify):
            if self.answer_identify:
                self._emit(*self.identity.messages())
        elif isinstance(event, m.Heartbeat):
            self._emit(m.ClockReport(self.clock()))
        elif isinstance(event, m.ScheduleSegment):
            if self.state is m.DeviceState.READY:
                self.received.append(event)
                self.arrival_clocks.append(self.clock())
                self.queue.append(event)
        elif isinstance(event, m.Stop):
            self._shutdown(m.StopCause.HOST_STOP)
        elif isinstance(event, m.Reset):
            self.state, self.stop_cause = m.DeviceState.READY, m.StopCause.NONE
            self._emit(self.status())
        elif isinstance(event, m.QueryStatus):
            self._emit(self.status())
        elif isinstance(event, m.SetIntensity):
            self.intensity = event.scale
        elif isinstance(event, m.SetChannelMask):
            self.mask = event.enabled_mask


