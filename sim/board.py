"""The simulated board: the chair's firmware behaviour on top of the physics, at message level.

    board = SimBoard(load_device("chair"), now_s=loop.time(), emit=send_to_host)
    board.handle(message, now_s)        a host message arrives (firmware_bridge.messages)
    board.host_frame_received(now_s)    any valid frame arrived (an ack, say): feeds the watchdog
    board.advance(now_s)                run the firmware and the physics up to now_s
    board.next_event_s()                when advance next has something to do
    board.remote.press(key, now_s)      a key on the handheld remote; board.remote.rows: display
    board.inject_fault(kind, target, now_s) / clear_fault(...)   see sim.faults
    board.occupant                      who sits in the chair (sim.physics.occupant.Occupant)
    board.outputs_safe()                see below
    board.serial_number                 "SIM-<name>-<serial>": set `serial=` to tell chairs apart
    board.trace                         what happened (sim.trace); with trace_samples=False it
                                        keeps segments and events but no per-sample rows;
                                        with bounded_trace=True only the newest of each kind

Device messages go to `emit`, or pile up in `board.outbox` when there is no emit callback.
Host seconds (`now_s`) are the event loop's clock; the board's own clock ticks from power-on.
What each host message does is in sim.host_messages; sim.driver runs a board on an event loop.

Firmware duties (hardware.md, section 5): a queue of segments per channel run on the board's
clock (sim.schedule); a channel no segment covers is in its safe state; a late segment starts on
arrival, on the plan's timeline, and is counted; Stop, SetIntensity, SetChannelMask, Heartbeat
and KeepAlive act on arrival; a watchdog shuts down after WATCHDOG_S without a valid host frame
(armed by the first frame after power-on: until a host has spoken, nothing can be on); segments
beyond a channel's limits are refused; values are clamped; sensors are checked (sim.sensors); a
driven linear motor that does not move for MOTOR_STALL_S is a fault; the remote's STOP key stops
locally first. Shutdown clears every queue and ends only on Reset; a fault shutdown
(messages.LATCHING_CAUSES) is latched in the board's non-volatile memory, survives Reset and
power cycles, and ends only on ClearFault. No output moves away from its safe default faster
than the channel's rise rate (the map's, or the lower one SetRiseLimit set until the next
power-on): an intensity rise, a channel enabled again, and a segment that starts away from where
the output is (a late one, one after a gap) are slewed from where the output is; a fall or a
disable acts at once. Power-on: READY, every output safe, cause POWER_ON
until the first Stop or Reset (SHUTDOWN with the latched cause instead, when a fault is latched).

`outputs_safe()` is true exactly when every channel is commanded to its safe state: a
position-like drive (position, width) is stopped (no target), and every other channel's command
equals its safe default (for the built-in profiles: depth retracting to 0, knead and tap motors
off, airbag pump off with the vent open, heater off). It is about what the board drives, not the
physics: a bag still deflating or a cooling heater is safe, a welded relay is invisible to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from massagectl.firmware_bridge.clock_wrap import wrap_clock
from massagectl.firmware_bridge.identity import DEFAULT_QUEUE_CAPACITY
from massagectl.firmware_bridge.messages import (
    LATCHING_CAUSES,
    DeviceMessage,
    DeviceState,
    FaultCode,
    FaultReport,
    KeyPress,
    RemoteKey,
    SensorReport,
    StatusReport,
    StopCause,
)
from massagectl.firmware_bridge.wire import MAX_SERIAL_NUMBER_BYTES
from massagectl.routines.device import ChannelKind, DeviceProfile
from massagectl.sim import host_messages, registry
from massagectl.sim.board_faults import FaultSwitches
from massagectl.sim.clock import DEFAULT_CLOCK_HZ, BoardClock
from massagectl.sim.element_relays import ElementRelays
from massagectl.sim.faults import FaultKind
from massagectl.sim.physics.occupant import Occupant
from massagectl.sim.physics.plant import Plant
from massagectl.sim.physics.thermal import AMBIENT_C
from massagectl.sim.remote import DISPLAY_COLUMNS, DISPLAY_ROWS, HandheldRemote
from massagectl.sim.schedule import ChannelSchedule
from massagectl.sim.segments import QueuedSegment, segment_value
from massagectl.sim.sensors import SensorBank, Trip
from massagectl.sim.trace import BOUNDED, SegmentOutcome, Trace

# Klipper-style host watchdog: half a second without a valid frame means the host is gone.
WATCHDOG_S = 0.5
# Telemetry rate: 20 Hz resolves a 50 mm/s carriage to 2.5 mm (a body scan needs < 10 mm),
# lets the host see an airbag's 8 kPa/s rise in 0.4 kPa steps, and sends the chair's 18 sensors
# in three short reports per tick (16 % of a 115200 baud line, board to host, with status).
TELEMETRY_HZ = 20
# Status: twice a second, so a host that missed a state-change report learns within 0.5 s.
STATUS_HZ = 2
# Segments held (pending or running) across all channels: the reference board's (hardware.md).
QUEUE_CAPACITY = DEFAULT_QUEUE_CAPACITY
# Rongtai's error table: a motor 10 s without position pulses is a fault.
MOTOR_STALL_S = 10.0
# Movement smaller than this is no encoder pulse.
STALL_PROGRESS_MM = 1.0
# Readings per SensorReport: a block of at most 7 + 8 x 3 + 5 = 36 bytes (hardware.md 5,
# telemetry). Half the wire's 17: on a line that damages 2 % of its bytes a 36-byte block
# arrives with probability 0.48 where a 63-byte one does 0.28, so a sensor goes a second
# without a reading (twenty lost in a row) once in days instead of every minute, for 14 % more
# telemetry bytes.
SENSOR_VALUES_PER_REPORT = 8
# FaultReport fields on the wire: value as signed 32-bit thousandths, index as a signed byte.
FAULT_VALUE_LIMIT = 2_000_000.0
FAULT_INDEX_MAX = 127


class _OutputRule(NamedTuple):
    """What the board applies to a channel's segment value: hard range, safe state, intensity
    (how fast it may rise away from the safe state is SimBoard.rise_per_s, which the host may
    lower)."""

    low: float
    high: float
    safe: float | None
    scaled: bool


def serial_number_for(name: str, serial: int | str) -> str:
    """A simulated board's serial number: printable ASCII from its name and a chosen value."""
    text = "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in f"{name}-{serial}")
    return ("SIM-" + text)[:MAX_SERIAL_NUMBER_BYTES]


_STOP_CAUSE_OF_TRIP = {Trip.SENSOR_RANGE: StopCause.SENSOR_RANGE,
                       Trip.OVER_LIMIT: StopCause.OVER_LIMIT}
_FAULT_CODE_OF_TRIP = {Trip.SENSOR_RANGE: FaultCode.SENSOR_RANGE,
                       Trip.OVER_LIMIT: FaultCode.OVER_LIMIT}


class SimBoard:
    """See the module docstring."""

    def __init__(
        self,
        profile: DeviceProfile,
        *,
        now_s: float = 0.0,
        emit: Callable[[DeviceMessage], None] | None = None,
        clock_hz: int = DEFAULT_CLOCK_HZ,
        clock_start_ticks: int = 0,
        drift_ppm: float = 0.0,
        seed: int = 0,
        occupant: Occupant | None = None,
        telemetry_hz: int = TELEMETRY_HZ,
        status_hz: int = STATUS_HZ,
        queue_capacity: int = QUEUE_CAPACITY,
        name: str | None = None,
        serial: int | str = 1,
        trace_samples: bool = True,
        bounded_trace: bool = False,
    ) -> None:
        self.profile = profile
        self.name = name or profile.name
        self.serial_number = serial_number_for(self.name, serial)
        self.display_rows = DISPLAY_ROWS
        self.display_cols = DISPLAY_COLUMNS
        self.emit = emit
        self.outbox: list[DeviceMessage] = []
        self.clock_hz = clock_hz
        self.queue_capacity = queue_capacity
        self._clock_start_ticks = clock_start_ticks
        self._drift_ppm = drift_ppm
        self.telemetry_period_ticks = clock_hz // telemetry_hz
        self.status_period_ticks = clock_hz // status_hz
        self.occupant = occupant or Occupant()
        self.plant = Plant(profile, self.occupant)
        self.sensors = SensorBank(profile, seed)
        # One size for what the board reports and what its display shows.
        self.remote = HandheldRemote(self._key_pressed, rows=self.display_rows,
                                     columns=self.display_cols)
        # A board that runs for days keeps only the newest records (sim.trace, BOUNDED).
        self.trace = Trace(
            profile.name, [c.id for c in profile.channels], [s.id for s in profile.sensors],
            clock_hz, keep=BOUNDED if bounded_trace else None,
        )
        # Twenty rows a second that only a saved trace or a test reads: a session whose host
        # records its own trace leaves them out.
        self.trace_samples = trace_samples
        channels = profile.channels
        self._channels = channels
        self._safe_outputs: list[float | None] = [c.safe_default for c in channels]
        self._outputs: list[float | None] = list(self._safe_outputs)
        # Channels whose running segment ramps or oscillates: (index, segment, output rule).
        self._varying: list[tuple[int, QueuedSegment, _OutputRule]] = []
        self._max_duration_ticks = [round(c.max_duration_s * clock_hz) for c in channels]
        self._output_rules = [
            _OutputRule(c.min, c.max, c.safe_default, c.kind.scaled_by_intensity)
            for c in channels
        ]
        # Each channel's rise rate as the map gives it (ChannelInfo): the fastest ever.
        self.own_rise_per_s = tuple(c.rise_per_s for c in channels)
        self.rise_per_s = list(self.own_rise_per_s)
        self._rise_per_tick = [rate / clock_hz for rate in self.rise_per_s]
        # Per channel, while the output is held back by the slew: (distance from the safe
        # default allowed at `ticks`, ticks). None: the output follows its segment.
        self._slews: list[tuple[float, int] | None] = [None] * len(channels)
        # The fault latch lives in non-volatile memory: a restart keeps it (hardware.md 5).
        self.latched_cause: StopCause | None = None
        self._all_channels_mask = (1 << len(channels)) - 1
        self._actual_readers = [self.plant.actual_reader(i) for i in range(len(channels))]
        # Heat and cool channels whose zone's thermal cut-off (sim.physics.thermal) has opened:
        # it stays open (the hardware needs service), whatever the firmware does, and the board,
        # which senses it, holds those channels safe.
        self.cutoff_open: set[int] = set()
        self.relays = ElementRelays(profile, self.plant)  # welded relays (sim.element_relays)
        self.faults = FaultSwitches(self)
        self.health = registry.BoardHealth(self.name, self._outputs, self._safe_outputs)
        registry.register(self, self.health)
        self.boots = 0  # power-ons so far: whoever speaks the protocol for the board restarts too
        self._power_on(now_s)

    # --- the firmware's state ---------------------------------------------------------------

    def _power_on(self, now_s: float) -> None:
        """Firmware start: everything the board keeps in RAM begins afresh."""
        self.boots += 1
        self.clock = BoardClock(now_s, self.clock_hz, self._clock_start_ticks, self._drift_ppm)
        self._ticks = self.clock.ticks_at(now_s)
        self._plant_ticks = self._ticks
        self._schedules = [ChannelSchedule() for _ in self._channels]
        self._boundary_ticks: int | None = None
        self._slews = [None] * len(self._channels)
        # SetRiseLimit lives in RAM: a restart is back at the map's rates (the host finds the
        # restart and sends its limits again, hardware.md 4.9).
        self.set_rise_rates(self.own_rise_per_s)
        if self.latched_cause is None:
            self.state = DeviceState.READY
            self.stop_cause = StopCause.POWER_ON
        else:
            self.state = DeviceState.SHUTDOWN
            self.stop_cause = self.latched_cause
        self.intensity_scale = 1.0
        self.enabled_mask = self._all_channels_mask
        self.late_segments = 0
        self._watchdog_ticks = self.clock.span_ticks(WATCHDOG_S)
        self._stall_ticks = self.clock.span_ticks(MOTOR_STALL_S)
        self._watchdog_armed = False
        self._last_frame_ticks = self._ticks
        self._next_telemetry_ticks = self._ticks + self.telemetry_period_ticks
        self._next_status_ticks = self._ticks + self.status_period_ticks
        self._stall_marks = {i: (d.position_mm, self._ticks) for i, d in self.plant.drives.items()}
        self.sensors.forget_runs()
        self.remote.clear()
        self._refresh_outputs()
        self._event("state", state=self.state.name, cause=self.stop_cause.name)
        self._send_status()

    def _reboot(self, now_s: float) -> None:
        """The board restarts (a brown-out, its own watchdog): RAM is lost, the hardware stays."""
        self._clear_queues()
        self._power_on(now_s)

    @property
    def ticks(self) -> int:
        """The board's clock now (unwrapped)."""
        return self._ticks

    @property
    def clock_now(self) -> int:
        """The board's clock now, as it travels on the wire (32 bits)."""
        return wrap_clock(self._ticks)

    @property
    def queue_free(self) -> int:
        """Free queue entries (pending and running segments use one each)."""
        return self.queue_capacity - sum(schedule.queued for schedule in self._schedules)

    def outputs_safe(self) -> bool:
        """Every channel commanded to its safe state (see the module docstring)."""
        return self._outputs == self._safe_outputs

    def output(self, channel_id: str) -> float | None:
        """The commanded value of a channel now (None: a stopped position-like drive)."""
        return self._outputs[self.profile.channel_index(channel_id)]

    @property
    def outputs(self) -> tuple[float | None, ...]:
        return tuple(self._outputs)

    # --- the host's messages (sim.host_messages) -----------------------------------------

    def handle(self, message: object, now_s: float) -> None:
        """Act on one host message arriving at host time `now_s`."""
        host_messages.handle(self, message, now_s)

    def host_frame_received(self, now_s: float) -> None:
        """A valid frame arrived (any frame, an ack included): the host is alive."""
        host_messages.host_frame_received(self, now_s)

    def report_bad_message(self, reason: str, now_s: float) -> None:
        """A block whose payload broke the message rules arrived; nothing in it is acted on."""
        host_messages.report_bad_message(self, reason, now_s)

    # --- time -------------------------------------------------------------------------------

    def advance(self, now_s: float) -> None:
        """Run firmware and physics up to host time `now_s` (never backwards)."""
        self._advance_to(self.clock.ticks_at(now_s))

    def _advance_to(self, target: int) -> None:
        while True:
            event = self._next_event_ticks()
            if event > target:
                break
            self._run_to(event)
            self._ticks = event
            self._on_events(event)
        # The firmware's clock moves on; the physics catches up lazily, the next time an output
        # changes or a sample is due (a heartbeat changes nothing the hardware does).
        if target > self._ticks:
            self._ticks = target

    def next_event_s(self) -> float:
        """Host time of the next thing the board will do on its own."""
        return self.clock.time_at(self._next_event_ticks())

    def _next_event_ticks(self) -> int:
        event = min(self._next_telemetry_ticks, self._next_status_ticks)
        if self._boundary_ticks is not None and self._boundary_ticks < event:
            event = self._boundary_ticks
        if self._watchdog_armed and self.state is DeviceState.READY and not self.faults.no_watchdog:
            deadline = self._last_frame_ticks + self._watchdog_ticks
            if deadline < event:
                event = deadline
        return event

    def _run_to(self, ticks: int) -> None:
        """Run the hardware up to `ticks` with the outputs as they were commanded."""
        if ticks > self._plant_ticks:
            self.plant.advance(self.clock.seconds(ticks - self._plant_ticks), self._outputs)
            self._plant_ticks = ticks

    def _on_events(self, ticks: int) -> None:
        """Everything due at `ticks`, in firmware order: queue, watchdog, telemetry, status."""
        if self._boundary_ticks is not None and self._boundary_ticks <= ticks:
            self.outputs_now()  # where each output is as its segment changes
            started: list[tuple[QueuedSegment, int]] = []
            begun = []
            for index, schedule in enumerate(self._schedules):
                running = schedule.running
                schedule.advance_to(ticks, started)
                if schedule.running not in (running, None):
                    begun.append(index)
            for segment, executed_ticks in started:
                self.trace.segment_started(segment.record, executed_ticks)
            # A segment that continues where the last one ended has caught up at once; one
            # that begins away from the output (after a gap, or after a segment that came too
            # late to run or was refused) rises to it at the rise rate.
            self._start_slews(begun)
            self._update_boundary()
            self._refresh_outputs()
        elif self._varying:
            self._refresh_varying_outputs()
        else:
            self._run_to(ticks)  # every output holds still: only the hardware moves on
        if (
            self._watchdog_armed
            and self.state is DeviceState.READY
            and ticks >= self._last_frame_ticks + self._watchdog_ticks
            and not self.faults.no_watchdog
        ):
            self._shut_down(StopCause.WATCHDOG)
        if ticks >= self._next_telemetry_ticks:
            self._next_telemetry_ticks += self.telemetry_period_ticks
            self._sample()
        if ticks >= self._next_status_ticks:
            self._next_status_ticks += self.status_period_ticks
            self._send_status()

    def _update_boundary(self) -> None:
        boundaries = [b for s in self._schedules if (b := s.next_boundary()) is not None]
        self._boundary_ticks = min(boundaries) if boundaries else None

    def _refresh_outputs(self) -> None:
        """Recompute every commanded output for the current tick (in place: health shares it)."""
        self._run_to(self._ticks)  # the old outputs drove the hardware until now
        outputs = self._outputs
        mask = self.enabled_mask
        varying = []
        slews = self._slews
        for index, (schedule, rule) in enumerate(zip(self._schedules, self._output_rules)):
            running = schedule.running
            if running is None or not mask >> index & 1 or index in self.cutoff_open:
                outputs[index] = rule.safe
                if running is not None:
                    slews[index] = None  # disabled: it rises again from safe when enabled
                continue
            outputs[index] = self._commanded(index, running, rule)
            if running.constant is None or slews[index] is not None:
                varying.append((index, running, rule))
        self._varying = varying

    def outputs_now(self) -> None:
        """Bring the outputs of ramps, oscillations and slews to the current tick (they are
        otherwise computed at each sample): a slew starts from where the output is at the
        moment something changes it."""
        if self._varying:
            self._refresh_varying_outputs()

    def _refresh_varying_outputs(self) -> None:
        """Recompute only the outputs of ramps and oscillations: between the events that
        refresh every output (a queue boundary, a late segment, a mask or intensity change, a
        shutdown) nothing else moves, and this runs at every sample."""
        self._run_to(self._ticks)  # the old outputs drove the hardware until now
        outputs = self._outputs
        for index, running, rule in self._varying:
            outputs[index] = self._commanded(index, running, rule)

    def _commanded(self, index: int, running: QueuedSegment, rule: _OutputRule) -> float:
        """A running segment's value now, within the channel's hard range, intensity applied,
        held back by the slew while one runs."""
        low, high, safe, scaled = rule
        value = running.constant
        if value is None:
            value = segment_value(
                running.planned_ticks, running.duration_ticks, running.start_value,
                running.end_value, running.amplitude, running.period_ticks, self._ticks,
            )
        if not self.faults.no_clamp:
            value = low if value < low else high if value > high else value
        if safe is None:
            return value  # a position-like drive: never scaled, never slewed (no safe value)
        if scaled:
            value = safe + (value - safe) * self.intensity_scale
        slew = self._slews[index]
        if slew is not None:
            allowed = slew[0] + self._rise_per_tick[index] * (self._ticks - slew[1])
            distance = value - safe
            if abs(distance) <= allowed:
                self._slews[index] = None  # caught up: the segment leads again
            else:
                value = safe + (allowed if distance > 0 else -allowed)
        return value

    def set_rise_rates(self, rates_per_s) -> None:
        """The rise rate each channel is slewed at from now on (call `outputs_now` first: a
        slew under way goes on from where its output is, at the new rate)."""
        self.rise_per_s = list(rates_per_s)
        self._rise_per_tick = [rate / self.clock_hz for rate in self.rise_per_s]
        for index, slew in enumerate(self._slews):
            if slew is not None:
                output, safe = self._outputs[index], self._safe_outputs[index]
                if output is not None and safe is not None:
                    self._slews[index] = (abs(output - safe), self._ticks)

    def _start_slews(self, channels: list[int]) -> None:
        """Hold these channels' outputs to their rise rate from where they are now (call
        `outputs_now` first, before anything changes them)."""
        if self.faults.no_slew:
            return
        for index in channels:
            safe = self._safe_outputs[index]
            output = self._outputs[index]
            if safe is None or output is None:
                continue  # a drive moves at its own speed from where it stopped
            self._slews[index] = (abs(output - safe), self._ticks)

    # --- telemetry and the board's own checks ------------------------------------------------

    def _sample(self) -> None:
        values = self.sensors.sample(self.plant.true_readings())
        trip = self.sensors.judge()
        clock = wrap_clock(self._ticks)
        for first in range(0, len(values), SENSOR_VALUES_PER_REPORT):
            chunk = tuple(values[first : first + SENSOR_VALUES_PER_REPORT])
            self._send(SensorReport(clock, first, chunk))
        if self.trace_samples:
            self.trace.add_sample(
                self.clock.time_at(self._ticks),
                self._ticks,
                self.state,
                self._outputs,  # None (a stopped drive) is stored as NaN
                [read() for read in self._actual_readers],
                values,
            )
        self._check_cutoffs()  # hardware: it acts in SHUTDOWN too (a welded relay)
        self._check_relays(values)  # likewise
        if self.state is not DeviceState.READY:
            return
        if trip is not None and not (trip[0] is Trip.SENSOR_RANGE and self.faults.no_range_check):
            kind, index, value = trip
            self._fault(_FAULT_CODE_OF_TRIP[kind], index, value)
            self._shut_down(_STOP_CAUSE_OF_TRIP[kind])
            return
        self._check_stalls()

    def _check_cutoffs(self) -> None:
        """A thermal cut-off that opened (the board senses its element's supply gone) is a
        fault even after a stop: the relay it saved the person from may be welded."""
        for index, zone in self.plant.zones.items():
            if zone.cutoff_open and index not in self.cutoff_open:
                module = [i for i, z in self.plant.zones.items() if z is zone]
                self.cutoff_open.update(module)
                self._refresh_outputs()
                # The channel whose direction ran away: the cold side opened below ambient.
                cold = zone.contact_c < AMBIENT_C
                reported = next((i for i in module if (self._channels[i].kind
                                                      is ChannelKind.COOL) == cold), index)
                self._fault(FaultCode.THERMAL_CUTOFF, reported, zone.contact_c)
                self._shut_down(StopCause.THERMAL_CUTOFF)

    def _check_relays(self, values: list[float]) -> None:
        """An element drawing current with its relay commanded open: the relay is welded."""
        welded = self.relays.judge(values, latched=self.latched_cause is not None)
        if welded is not None:
            self._fault(FaultCode.OVER_LIMIT, *welded, welded_relay=True)
            self._shut_down(StopCause.OVER_LIMIT)

    def _check_stalls(self) -> None:
        for index, drive in self.plant.drives.items():
            mark_mm, mark_ticks = self._stall_marks[index]
            if not drive.driving or abs(drive.position_mm - mark_mm) >= STALL_PROGRESS_MM:
                self._stall_marks[index] = (drive.position_mm, self._ticks)
            elif self._ticks - mark_ticks >= self._stall_ticks:
                self._fault(FaultCode.MOTOR_STALL, index, drive.position_mm)
                self._shut_down(StopCause.MOTOR_STALL)
                return

    # --- remote and faults ------------------------------------------------------------------

    def _key_pressed(self, key: RemoteKey, now_s: float) -> None:
        self.advance(now_s)
        self._event("key", key=key.name)
        if key is RemoteKey.STOP:
            # Locally and first: the host may be slow, hung or unplugged.
            self._shut_down(StopCause.REMOTE_STOP_KEY)
        self._send(KeyPress(wrap_clock(self._ticks), key))

    def inject_fault(self, kind: FaultKind | str, target: str | None = None, *,
                     now_s: float) -> None:
        """Switch a device fault on at host time `now_s` (see sim.faults)."""
        self.advance(now_s)
        self._run_to(self._ticks)
        self.faults.switch(FaultKind(kind), target, on=True, now_s=now_s)

    def clear_fault(self, kind: FaultKind | str, target: str | None = None, *,
                    now_s: float) -> None:
        self.advance(now_s)
        self._run_to(self._ticks)
        self.faults.switch(FaultKind(kind), target, on=False, now_s=now_s)

    # --- shutdown and reports ---------------------------------------------------------------

    def _shut_down(self, cause: StopCause) -> None:
        """Clear everything scheduled, make every output safe, enter SHUTDOWN. The first cause
        stays, except that a fault after a person's stop still latches (and becomes the cause)."""
        self._clear_queues()
        self._refresh_outputs()
        latching = cause in LATCHING_CAUSES
        if self.state is DeviceState.SHUTDOWN and (self.latched_cause is not None
                                                   or not latching):
            return
        self.state = DeviceState.SHUTDOWN
        self.stop_cause = cause
        if latching:
            self.latched_cause = cause
        self._event("state", state=self.state.name, cause=cause.name, latched=latching)
        self._send_status()

    def _clear_queues(self) -> None:
        self._slews = [None] * len(self._channels)
        for schedule in self._schedules:
            for segment in schedule.clear():
                self.trace.segment_outcome(segment.record, SegmentOutcome.CLEARED)
        self._boundary_ticks = None

    def _fault(self, code: FaultCode, index: int, value: float, **detail: object) -> None:
        self._event("fault", code=code.name, index=index, value=value, **detail)
        # The wire carries a fault's value as 32-bit thousandths and its index as one signed byte.
        value = max(-FAULT_VALUE_LIMIT, min(FAULT_VALUE_LIMIT, value)) if value == value else -1.0
        index = index if -1 <= index <= FAULT_INDEX_MAX else -1
        self._send(FaultReport(wrap_clock(self._ticks), code, index, value))

    def _send_status(self) -> None:
        self._send(
            StatusReport(
                clock=wrap_clock(self._ticks),
                state=self.state,
                stop_cause=self.stop_cause,
                outputs_safe=self.outputs_safe(),
                queue_free=self.queue_free,
                intensity_scale=self.intensity_scale,
                enabled_mask=self.enabled_mask,
                late_segments=self.late_segments,
                fault_latched=self.latched_cause is not None,
            )
        )

    def _send(self, message: DeviceMessage) -> None:
        if self.faults.unplugged:
            return  # the cable is out: nothing arrives
        if self.emit is None:
            self.outbox.append(message)
        else:
            self.emit(message)

    def take_messages(self) -> list[DeviceMessage]:
        """Empty the outbox (when there is no emit callback)."""
        messages, self.outbox = self.outbox, []
        return messages

    def _event(self, kind: str, **detail: object) -> None:
        self.trace.event(self.clock.time_at(self._ticks), self._ticks, kind, **detail)
