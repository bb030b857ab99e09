"""The supervisor: the second safety tier, between the session and the link.

    supervisor = Supervisor(device, stop_path, clock_hz=link.identity.clock_hz)
    link.add_listener(lambda message: supervisor.on_message(message, loop.time()))
    supervisor.begin_session(admitted, loop.time())   # raises FaultLatchedError while latched
    for each segment to send:
        supervisor.check_segment(segment)              # raises SegmentRefusedError (and stops)
        await link.schedule(segment)
    supervisor.poll(loop.time())                       # on a timer (or run `watch()` as a task)
    supervisor.link_lost("no heartbeat answer", loop.time())

Every reading is judged by the telemetry detectors (safety.detectors) and by the measured rise
check (safety.rise_check): no bag fills, no head presses, faster than its admitted rise rate,
whatever the board was told (an intensity rise or a zone switched on again, which the board
must slew) and whatever it does.

It is fed the segments as they are sent (with their device clock), not the plan, and keeps
what the board holds (`safety.committed`): every check and every "what was commanded" refers to
what really reached the board. Every trip latches a fault, logs it and stops through the one
stop path; a latched fault refuses every segment and every new session until `clear_faults`.

Keep one supervisor per connected board, not one per session: the detectors' state carries
over, so the thermal dose of back-to-back sessions adds up (skin recovers, but how fast is not
known), and a fault seen between sessions (a heater stuck on, a stuck valve) still trips.
"""

from __future__ import annotations

import asyncio
import math
from typing import NoReturn

from massagectl.firmware_bridge.messages import (
    ClockReport,
    DeviceState,
    FaultCode,
    FaultReport,
    KeyPress,
    RemoteKey,
    ScheduleSegment,
    SensorReport,
    StatusReport,
    StopCause,
)
from massagectl.firmware_bridge.wire import TELEMETRY_STALE_S
from massagectl.routines.device import ChannelKind, DeviceProfile, SensorKind
from massagectl.routines.errors import MassageError, SafetyError
from massagectl.routines.plan import Segment
from massagectl.routines.user import DEFAULT_USER
from massagectl.safety.chair_time import ChairTime
from massagectl.safety.channel_limits import ChannelLimits, PlanLimits, plan_limits
from massagectl.safety.committed import BoardClock, CommittedSchedule, Sent
from massagectl.safety.detectors import ElementWatch, TemperatureWatch, watchers_for
from massagectl.safety.element_current import element_current_watchers_for, welded_relay_reported
from massagectl.safety.fault_log import LogEvent
from massagectl.safety.faults import Fault, FaultCause, FaultLatch
from massagectl.safety.limits import DEFAULT_LIMITS, SafetyLimits
from massagectl.safety.plausibility import SeatCheck
from massagectl.safety.reached_safe import ReachedSafe
from massagectl.safety.rise_check import rise_watchers_for
from massagectl.safety.runtime_limits import RuntimeLimits, admitted_rise
from massagectl.safety.segment_guard import SegmentGuard
from massagectl.safety.stop_path import StopPath, StopSource
from massagectl.safety.verdicts import AdmittedPlan, Violation, ViolationKind

# How often `watch()` runs the time-based checks when nothing arrives from the board.
POLL_PERIOD_S = 0.1
# An occupancy reading this high or higher says someone sits (the seat checks' own threshold).
SEAT_OCCUPIED_FROM = 0.5
# Shutdown causes that are the board protecting itself: a fault, not a person's stop.
BOARD_FAULT_CAUSES = {StopCause.WATCHDOG, StopCause.SENSOR_RANGE, StopCause.OVER_LIMIT,
                      StopCause.MOTOR_STALL}
BOARD_FAULT_CODES = {FaultCode.SENSOR_RANGE, FaultCode.OVER_LIMIT, FaultCode.MOTOR_STALL,
                     FaultCode.BAD_SEGMENT}
# Not yet worked out, in the memo of `commanded` (where None means "safe state"): an object of
# its own, told apart by identity, never a value the schedule gives.
_UNKNOWN = float("nan")
# What the board holding a last value too long breaks (SegmentGuard.overdue).
OVERDUE_CAUSES = {ViolationKind.HOLD: FaultCause.PRESSURE_HELD,
                  ViolationKind.HEAT_TIME: FaultCause.HEAT_TIMEOUT,
                  ViolationKind.THERMAL_DOSE: FaultCause.THERMAL_DOSE}


class SegmentRefusedError(SafetyError):
    """An outgoing segment broke a limit; it was not sent, and the board was stopped."""

    def __init__(self, violations: list[Violation] | str) -> None:
        self.violations = [] if isinstance(violations, str) else list(violations)
        text = violations if isinstance(violations, str) else "; ".join(map(str, violations))
        super().__init__(f"segment refused: {text}")


class Supervisor:
    """See the module docstring."""

    def __init__(
        self,
        device: DeviceProfile,
        stop_path: StopPath,
        *,
        clock_hz: int,
        latch: FaultLatch | None = None,
        runtime: RuntimeLimits | None = None,
        safety_limits: SafetyLimits = DEFAULT_LIMITS,
        # A sensor without a reading for TELEMETRY_STALE_S (1 s, the link's own silence limit:
        # twenty samples lost in a row) means telemetry is not arriving; a shorter gap is a
        # damaged line the session rides through (hardware.md 4.4).
        stale_after_s: float = TELEMETRY_STALE_S,
    ) -> None:
        self.device = device
        self.stop_path = stop_path
        self.latch = latch if latch is not None else FaultLatch(stop_path.log)
        self.runtime = runtime if runtime is not None else RuntimeLimits(stop_path.port, device)
        self.clock = BoardClock(clock_hz)
        self.schedule = CommittedSchedule(device)
        # Outside a session the default occupant's limits apply (nothing should be running).
        self.baseline = plan_limits(device, DEFAULT_USER, safety_limits)
        self.limits: PlanLimits = self.baseline
        self.guard = SegmentGuard(self.baseline, self.schedule)
        self._index_of = {channel.id: i for i, channel in enumerate(device.channels)}
        self.watchers = _watchers_for(device)
        self.readings: list[float] = [math.nan] * len(device.sensors)
        # The seat switch's latest word (None: no reading yet, or no switch on this device):
        # the heat watch starts again when someone sits down or gets up.
        self._seat_index = next((i for i, s in enumerate(device.sensors)
                                 if s.kind is SensorKind.OCCUPANCY), None)
        self.occupied: bool | None = None
        self.seat_check: SeatCheck | None = SeatCheck(device)
        if not self.seat_check.useful:
            self.seat_check = None
        self.reached = ReachedSafe(device)  # after a shutdown, each output's hardware follows
        position = self.schedule.position_index
        self._position_sensor = next(
            (i for i, w in enumerate(self.watchers) if position is not None
             and w[0].channel_index == position and w[0].sensor.kind is SensorKind.POSITION), None)
        self.stale_after_s = stale_after_s
        self.session_active = False
        self.board_state: DeviceState | None = None
        # The board's own word (StatusReport, 2 Hz) that every output is safe: then nothing
        # pumps or turns, whatever the host's schedule says (the plausibility checks ask).
        self.outputs_safe = False  # until the board says so
        self.board_s: float | None = None  # the latest device clock seen, in board seconds
        self._plan_origin_s = 0.0
        # The session's timer and heat spent: kept over a pause, new with each session.
        self.chair_time: ChairTime | None = None
        self._board_seen: tuple[float, float] | None = None  # (board_s, host_s) of the latest
        self._overdue_checked_s = -math.inf
        self._last_seen: list[float | None] = [None] * len(device.sensors)
        # Set points already worked out for the report being judged: several detectors of one
        # sensor ask the same question, and the seat check asks again in the next report of the
        # same reading. At the report's own time (most questions) by channel in a list, at other
        # times (a second before, ...) by (channel, board_s). They are kept while nothing they
        # depend on changed (`_memo_key`: the reading's time, the schedule's version, the
        # intensity scale and the channel mask), and emptied on every stop. Outside a report
        # `_memo_s` is NaN, which equals no time, and `_commanded_memo` is None: no memo.
        self._memo_s = math.nan
        self._memo_now: list[float | None] = [_UNKNOWN] * len(device.channels)
        self._memo_later: dict[tuple[int, float], float | None] = {}
        self._memo_key: tuple[float, int, float, int] | None = None
        self._commanded_memo: dict[tuple[int, float], float | None] | None = None
        self._tripped: set[tuple[str, str]] = set()
        self._generation = self.latch.generation

    # --- session -----------------------------------------------------------------------------

    def begin_session(self, admitted: AdmittedPlan, host_s: float,
                      anchor_clock: int | None = None) -> None:
        """Start supervising a new session with its first plan, `admitted`, whose time 0
        falls at `host_s` (and on the device clock at `anchor_clock`, which maps plan seconds
        for `Segment` inputs). The session timer starts then, from zero (safety.chair_time)."""
        self._admit_plan(admitted)
        self.chair_time = ChairTime(admitted.auto_off_s)
        self._run_plan(admitted, self.chair_time, host_s, anchor_clock)

    def continue_session(self, admitted: AdmittedPlan, host_s: float,
                         anchor_clock: int | None = None) -> None:
        """The same session goes on with another plan (the routine after the body scan, the
        rest of it after a pause): its time on the chair, heat on-time and dose carry on; the
        plan's limits apply (the scanned body map), its timer only if shorter."""
        if self.chair_time is None:
            raise SafetyError("no session to continue", "begin a session first")
        self._admit_plan(admitted)
        self.chair_time.auto_off_s = min(self.chair_time.auto_off_s, admitted.auto_off_s)
        self._run_plan(admitted, self.chair_time, host_s, anchor_clock)

    def pause_session(self, host_s: float) -> None:
        """The session pauses at `host_s`: no segment passes and its timer stands still until
        `continue_session`. The caller makes the board safe."""
        self._end_session()
        if self.chair_time is not None:
            self.chair_time.halt(host_s)

    def _admit_plan(self, admitted: AdmittedPlan) -> None:
        self._rearm_if_cleared()
        self.latch.raise_if_latched()
        if self.stop_path.stopping:
            raise SafetyError("a stop is under way", "wait until the board confirms it is safe")
        if admitted.limits.device != self.device:
            raise SafetyError(f"the plan was admitted for device {admitted.limits.device.name!r}, "
                              f"not {self.device.name!r}")

    def _run_plan(self, admitted: AdmittedPlan, chair_time: ChairTime, host_s: float,
                  anchor_clock: int | None) -> None:
        self.limits = admitted.limits
        self.schedule.clear()
        self.guard = SegmentGuard(self.limits, self.schedule, chair_time.heat)
        self._plan_origin_s = 0.0 if anchor_clock is None else self.clock.seconds(anchor_clock)
        self._last_seen = [host_s] * len(self.device.sensors)
        chair_time.run(host_s)
        self.runtime.begin(admitted_rise=admitted_rise(self.limits))
        if self.seat_check is not None:
            self.seat_check.slewed_at(self.runtime.rise_limits)
        self.session_active = True

    def end_session(self, host_s: float | None = None) -> None:
        """The session is over (its plan ended, or the caller ends it): the timer stops."""
        self._end_session()
        if self.chair_time is not None:
            if host_s is None:
                host_s = self._now_host()
            # Outside an event loop, the last message's arrival is the latest time known.
            if host_s is None and self._board_seen is not None:
                host_s = self._board_seen[1]
            if host_s is not None:
                self.chair_time.halt(host_s)

    def _end_session(self) -> None:
        # The detectors keep the session's limits: a zone the user allowed to 44 C cools down
        # after the session, and must not trip against the default occupant's cap meanwhile.
        # No segment passes outside a session anyway.
        self.session_active = False

    # --- outgoing segments ------------------------------------------------------------------

    def check_segment(self, segment: ScheduleSegment | Segment) -> None:
        """Pass a segment about to be sent, or refuse it: trip, stop, and raise."""
        self._rearm_if_cleared()
        if self.latch.latched or self.stop_path.stopping:
            raise SegmentRefusedError("a fault is latched or a stop is under way")
        try:
            index, sent = self._as_sent(segment)
        except (MassageError, ValueError, TypeError, OverflowError) as error:
            self._refuse(f"not a segment this device can run: {error}")
        channel = self.device.channels[index].id if 0 <= index < len(self.device.channels) \
            else f"channel {index}"
        label = f"segment on {channel} at {sent.start_s - self._plan_origin_s:.3f} s"
        if not self.session_active:
            self._refuse(f"{label}: no admitted session is running")
        try:
            violations = self.guard.check(index, sent, label)
        except Exception as error:  # a check that cannot be made is a refusal
            self._refuse(f"{label}: the check failed: {type(error).__name__}: {error}")
        if violations:
            self._refuse(violations)
        self.guard.commit(index, sent)

    def _refuse(self, why: list[Violation] | str) -> NoReturn:
        """Trip (which stops the board) and raise: the segment is not sent."""
        if isinstance(why, str):
            detail = why
        else:
            detail = str(why[0]) + (f" (and {len(why) - 1} more)" if len(why) > 1 else "")
        self._trip(Fault(FaultCause.SEGMENT_REFUSED, detail, self._now_host()))
        raise SegmentRefusedError(why)

    def _as_sent(self, segment: ScheduleSegment | Segment) -> tuple[int, Sent]:
        if isinstance(segment, ScheduleSegment):
            hz = self.clock.clock_hz
            return segment.channel, Sent(
                self.clock.seconds(segment.start_clock), segment.duration_ticks / hz,
                float(segment.start_value), float(segment.end_value), float(segment.amplitude),
                segment.period_ticks / hz)
        if isinstance(segment, Segment):
            index = self._index_of.get(segment.channel)
            if index is None:
                index = self.device.channel_index(segment.channel)  # raises, naming close matches
            return index, Sent(
                self._plan_origin_s + segment.start_s, segment.duration_s, segment.start_value,
                segment.end_value, segment.amplitude, segment.period_s)
        raise TypeError(f"{type(segment).__name__} is not a segment")

    # --- messages from the board ------------------------------------------------------------

    def on_message(self, message: object, host_s: float) -> None:
        """Every message the board sends, with the host time it arrived (anything else is
        ignored). Never raises: an error in the supervisor itself is a fault, and stops the
        board."""
        self.stop_path.on_message(message, host_s)
        try:
            self._on_message(message, host_s)
        except Exception as error:
            self._failed(error, host_s)

    def _failed(self, error: Exception, host_s: float) -> None:
        """A supervisor that cannot judge must not let work go on: trip and stop."""
        self._trip(Fault(FaultCause.SUPERVISOR_ERROR, f"{type(error).__name__}: {error}", host_s))

    def _on_message(self, message: object, host_s: float) -> None:
        self._rearm_if_cleared()
        if isinstance(message, SensorReport):
            self._on_sensors(message, host_s)
        elif isinstance(message, StatusReport):
            self._on_status(message, host_s)
        elif isinstance(message, KeyPress):
            self._saw_clock(message.clock, host_s)
            if message.key is RemoteKey.STOP:
                self._stop(StopSource.REMOTE_KEY, "STOP key on the remote")
        elif isinstance(message, FaultReport):
            self._on_fault_report(message, host_s)
        elif isinstance(message, ClockReport):
            self._saw_clock(message.clock, host_s)
        self.poll(host_s)

    def _on_sensors(self, report: SensorReport, host_s: float) -> None:
        board_s = self._saw_clock(report.clock, host_s)
        schedule, runtime = self.schedule, self.runtime
        schedule.prune(board_s)
        key = (board_s, schedule.version, runtime.scale, runtime.enabled_mask)
        if key != self._memo_key:
            self._memo_key = key
            self._forget_memo()
        self._commanded_memo = self._memo_later
        self._memo_s = board_s
        try:
            self._judge(report, board_s, host_s)
        finally:
            self._commanded_memo = None
            self._memo_s = math.nan

    def _judge(self, report: SensorReport, board_s: float, host_s: float) -> None:
        first = report.first_index  # a u8 on the wire: never negative
        values = report.values[:max(0, len(self.watchers) - first)] if first >= 0 else ()
        last_seen, watchers, reached = self._last_seen, self.watchers, self.reached
        position = self.schedule.position_index
        for index, value in enumerate(values, first):
            last_seen[index] = host_s
            if index == self._seat_index:
                self.occupied = value >= SEAT_OCCUPIED_FROM
            for watcher in watchers[index]:
                fault = watcher.update(value, board_s, self)
                if fault is not None:
                    self._trip(_stamped(fault, host_s, report.clock),
                               StopSource.SEAT_SENSOR if fault.cause is FaultCause.SEAT_VACATED
                               else StopSource.SUPERVISOR, key=watcher.sensor.id)
            if index == self._position_sensor and position is not None:
                self.schedule.observe_position(position, value)
            problem = reached.judge(index, value, board_s, self) if reached.armed else None
            if problem is not None:
                self._trip(Fault(FaultCause.NOT_SAFE_AFTER_STOP, problem, host_s, report.clock),
                           key=self.device.sensors[index].id)
        if values and self.seat_check is not None:
            readings = self.readings
            readings[first:first + len(values)] = values
            back = self.limits.back_map
            fault = self.seat_check.update(readings, board_s, self,
                                           None if back is None else back.bands_mm)
            if fault is not None:
                self._trip(_stamped(fault, host_s, report.clock), key="seat")

    def _on_status(self, status: StatusReport, host_s: float) -> None:
        board_s = self._saw_clock(status.clock, host_s)
        previous, self.board_state = self.board_state, status.state
        self.outputs_safe = status.outputs_safe
        if status.stop_cause is StopCause.POWER_ON:
            self._board_restarted()
        if status.stop_cause is StopCause.POWER_ON and self.session_active:
            self.board_restarted("it reported power on", host_s, status.clock)
        if status.state is not DeviceState.SHUTDOWN:
            return
        self.guard.after_stop(safe_from_s=board_s)  # heat sent for later never ran
        self.schedule.clear()
        if previous is DeviceState.SHUTDOWN:
            return
        self.reached.shut_down(board_s)
        cause = status.stop_cause
        if cause is StopCause.THERMAL_CUTOFF:
            self._cutoff_opened(-1, math.nan, host_s, status.clock)
        elif cause in BOARD_FAULT_CAUSES:
            self._trip(Fault(FaultCause.BOARD_SHUTDOWN, f"the board shut down: "
                             f"{cause.name.lower()}", host_s, status.clock), StopSource.BOARD)
        elif cause is StopCause.REMOTE_STOP_KEY:
            self._stop(StopSource.REMOTE_KEY, "STOP key on the remote")
        elif self.session_active and not self.stop_path.stopping:
            self._stop(StopSource.BOARD, f"the board shut down: {cause.name.lower()}")
        self.end_session(host_s)

    def _on_fault_report(self, report: FaultReport, host_s: float) -> None:
        board_s = self._saw_clock(report.clock, host_s)
        if report.code is FaultCode.LATE_SEGMENT and self.seat_check is not None:
            self.seat_check.catching_up(report.index, board_s)
        what = f"{report.code.name.lower()} at index {report.index}, value {report.value:g}"
        if report.code is FaultCode.THERMAL_CUTOFF:
            self._cutoff_opened(report.index, report.value, host_s, report.clock)
        elif (welded := welded_relay_reported(self.device, report)) is not None:
            self._trip(_stamped(welded, host_s, report.clock), StopSource.BOARD,
                       key=self.device.sensors[report.index].id)
        elif report.code in BOARD_FAULT_CODES:
            self._trip(Fault(FaultCause.BOARD_FAULT, f"the board reports {what}", host_s,
                             report.clock, {"value": (report.value, "")}), StopSource.BOARD,
                       key=f"{report.code.name}:{report.index}")
        else:
            self.stop_path.log.append(LogEvent.NOTICE, "board", report.code.name.lower(),
                                      host_s=host_s, device_clock=report.clock, action=what)

    def _cutoff_opened(self, index: int, contact_c: float, host_s: float, clock: int) -> None:
        """The board's thermal cut-off ended a heat that nothing else could: a welded relay.
        Reported twice (FaultReport and StatusReport), latched once."""
        channels = self.device.channels
        channel = channels[index] if 0 <= index < len(channels) else None
        cold = channel is not None and channel.kind is ChannelKind.COOL
        zone = channel.id if channel is not None else "a heat zone"
        at = "" if math.isnan(contact_c) else f" at {contact_c:.1f} C"
        self._trip(Fault(FaultCause.COOLER_STUCK_ON if cold else FaultCause.HEATER_STUCK_ON,
                         f"{zone}: the thermal cut-off opened{at}: "
                         f"{'cooling' if cold else 'heat'} cannot be switched off by the chair. "
                         "Get up from the chair and unplug it; it needs service", host_s, clock),
                   StopSource.BOARD, key="cut-off")

    # --- time and the link ------------------------------------------------------------------

    def poll(self, host_s: float) -> None:
        """Time-based checks: the session timer, stale telemetry, and budgets the board breaks
        by holding a last value with nothing scheduled after it. Cheap; call it often."""
        if not self.session_active:
            return
        if self.chair_time is not None and host_s >= self.chair_time.deadline_s():
            minutes = self.chair_time.auto_off_s / 60
            self._stop(StopSource.SESSION_TIMER, f"auto-off after {minutes:g} min on the chair")
            return
        # The rest runs at most every POLL_PERIOD_S: poll() is called for every message, and
        # a fifth of the stale-telemetry time is soon enough to look again.
        if host_s - self._overdue_checked_s < POLL_PERIOD_S:
            return
        self._overdue_checked_s = host_s
        for index, seen_s in enumerate(self._last_seen):
            if seen_s is not None and host_s - seen_s > self.stale_after_s:
                sensor = self.device.sensors[index]
                self._trip(Fault(FaultCause.STALE_TELEMETRY, f"no reading of {sensor.id} for "
                                 f"{host_s - seen_s:.2f} s", host_s), key=sensor.id)
                return
        if self._board_seen is not None:
            board_now_s = self._board_seen[0] + (host_s - self._board_seen[1])
            for violation in self.guard.overdue(board_now_s):
                cause = OVERDUE_CAUSES[violation.kind]
                self._trip(Fault(cause, str(violation), host_s), key=violation.channel or "")
                return

    async def watch(self, period_s: float = POLL_PERIOD_S) -> None:
        """Run `poll` forever on the event loop's clock (run it as a task; cancel to end)."""
        loop = asyncio.get_running_loop()
        timer: asyncio.TimerHandle | None = None

        def tick() -> None:
            # A plain timer rather than a sleeping task: half the loop rounds per poll, which
            # counts when a whole session runs in virtual time.
            nonlocal timer
            try:
                self.poll(loop.time())
            except Exception as error:
                self._failed(error, loop.time())
            finally:
                timer = loop.call_later(period_s, tick)

        tick()
        try:
            await loop.create_future()  # until cancelled
        finally:
            if timer is not None:
                timer.cancel()

    def board_restarted(self, how: str, host_s: float, clock: int | None = None) -> None:
        """The board restarted (a POWER_ON report, or the link saw its clock jump): one trip,
        however many ways it showed."""
        self._trip(Fault(FaultCause.BOARD_RESET, f"the board restarted: {how}", host_s, clock),
                   StopSource.BOARD)

    def link_lost(self, detail: str, host_s: float) -> None:
        """The caller found the link dead (no heartbeat answer, port gone)."""
        self._trip(Fault(FaultCause.LINK_LOST, detail, host_s))

    def clear_faults(self, by: str, host_s: float | None = None) -> list[Fault]:
        """A person checked the chair: clear the latch so a new session may start."""
        cleared = self.latch.clear(by, host_s)
        self._rearm_if_cleared()
        return cleared

    def zone_use(self) -> dict[str, tuple[str, float, float]]:
        """What every heat and cool channel gave the occupant since this supervisor began:
        (kind, seconds on, measured thermal dose), by channel id (what a chair's record keeps)."""
        flat = _flat(self.watchers)
        doses = {w.channel_index: w.dose.dose for w in flat if isinstance(w, TemperatureWatch)}
        return {self.device.channels[w.channel_index].id:
                (str(w.kind), w.on_s, doses.get(w.channel_index, 0.0))
                for w in flat if isinstance(w, ElementWatch)}

    # --- the Context the detectors read -----------------------------------------------------

    def limits_for(self, channel_index: int) -> ChannelLimits:
        return self.limits.channels[channel_index]

    def commanded(self, channel_index: int, board_s: float) -> float | None:
        # Called about thirty times per report (every detector, the seat check): one lookup.
        if board_s == self._memo_s:  # the report's own time: a list, no key to build
            value = self._memo_now[channel_index]
            if value is _UNKNOWN:
                value = self._memo_now[channel_index] = self._effective_at(channel_index,
                                                                           board_s)
            return value
        key = (channel_index, board_s)
        memo = self._commanded_memo
        if memo is not None:
            value = memo.get(key, _UNKNOWN)
            if value is not _UNKNOWN:
                return value
        value = self._effective_at(channel_index, board_s)
        if memo is not None:
            memo[key] = value
        return value

    def _effective_at(self, channel_index: int, board_s: float) -> float | None:
        value = self.schedule.commanded(channel_index, board_s)
        if value is not None:
            value = self.runtime.effective(channel_index, value)
        return value

    def _forget_memo(self) -> None:
        now = self._memo_now
        now[:] = [_UNKNOWN] * len(now)
        self._memo_later.clear()

    # --- trips and stops --------------------------------------------------------------------

    def _trip(self, fault: Fault, source: StopSource = StopSource.SUPERVISOR,
              key: str = "") -> None:
        tag = (str(fault.cause), key)
        if tag in self._tripped:
            return  # already latched and stopped for this; do not flood the log
        self._tripped.add(tag)
        self.latch.trip(fault, source, "STOP sent")
        self._stop(source, str(fault), fault=True)

    def _stop(self, source: StopSource, detail: str, fault: bool = False) -> None:
        self._forget_memo()
        self._memo_key = None
        self.guard.after_stop()
        self.schedule.clear()
        self.end_session()
        self.stop_path.request(source, detail, fault=fault)

    def _board_restarted(self) -> None:
        """A new board clock from 0: fresh unwrapping and watchers; the skin's dose and the
        zones' on-time stay."""
        doses = [w.dose.dose for w in _flat(self.watchers) if isinstance(w, TemperatureWatch)]
        on_times = [w.on_s for w in _flat(self.watchers) if isinstance(w, ElementWatch)]
        self.clock = BoardClock(self.clock.clock_hz)
        self._board_seen = None
        self.schedule.clear()
        self.watchers = _watchers_for(self.device)
        if self.seat_check is not None:
            self.seat_check = SeatCheck(self.device)
        self.reached.forget()
        heat_watchers = [w for w in _flat(self.watchers) if isinstance(w, TemperatureWatch)]
        for heat_watcher, dose in zip(heat_watchers, doses):
            heat_watcher.dose.dose = dose
        zone_watchers = [w for w in _flat(self.watchers) if isinstance(w, ElementWatch)]
        for zone_watcher, on_s in zip(zone_watchers, on_times, strict=True):
            zone_watcher.on_s = on_s

    def _saw_clock(self, clock: int, host_s: float) -> float:
        board_s = self.clock.seconds(clock)
        self.board_s = board_s
        self._board_seen = (board_s, host_s)
        return board_s

    def _rearm_if_cleared(self) -> None:
        if self.latch.generation != self._generation:
            self._generation = self.latch.generation
            self._tripped.clear()

    def _now_host(self) -> float | None:
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:
            return None


def _watchers_for(device: DeviceProfile):
    """Every sensor's watchers: the detectors', the measured rise check, and the element
    current check (safety.element_current)."""
    return [detectors + rise + current for detectors, rise, current in zip(
        watchers_for(device), rise_watchers_for(device), element_current_watchers_for(device),
        strict=True)]


def _flat(watchers):
    return [watcher for per_sensor in watchers for watcher in per_sensor]


def _stamped(fault: Fault, host_s: float, clock: int) -> Fault:
    return Fault(fault.cause, fault.detail, host_s, clock, fault.values)
