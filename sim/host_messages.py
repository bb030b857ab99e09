"""What the simulated board does with each host message (mixed into SimBoard).

    ScheduleSegment  checked (sim.segments), then queued on its channel; a late one starts at
                     once on the plan's timeline and is reported (FaultReport LATE_SEGMENT, s)
    Stop             shutdown: every queue cleared, every output safe; a StatusReport; with
                     cause FAULT the shutdown is latched (HOST_FAULT)
    Reset            SHUTDOWN -> READY (queue empty, outputs safe) unless a fault is latched;
                     in READY it only ends POWER_ON; always a StatusReport
    ClearFault       ends a latched fault (the board stays in SHUTDOWN); a StatusReport
    SetIntensity     scale of the intensity-scaled channels, clamped to 0..1 (NaN counts as 0);
                     a rise is slewed at each channel's rise rate, a fall acts at once
    SetChannelMask   masked channels go safe at once; their schedules keep time; a channel
                     enabled again rises from safe at its rise rate
    Heartbeat        answered with a ClockReport
    KeepAlive        nothing more (like every message, it feeds the watchdog)
    Identify         answered with the device map
    QueryStatus      answered with a StatusReport
    ShowText         shown on the remote's display

Every message feeds the watchdog. Nothing a host sends can raise: a malformed field is refused
or treated as the safe choice.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any, ClassVar

from massagectl.firmware_bridge.identity import device_profile_map
from massagectl.firmware_bridge.messages import (
    ClearFault,
    ClockReport,
    DeviceState,
    FaultCode,
    Heartbeat,
    HostStopCause,
    Identify,
    KeepAlive,
    QueryStatus,
    Reset,
    ScheduleSegment,
    SetChannelMask,
    SetIntensity,
    ShowText,
    Stop,
    StopCause,
)
from massagectl.sim.clock import unwrap_clock, wrap_clock
from massagectl.sim.segments import QueuedSegment, segment_problem
from massagectl.sim.trace import SegmentOutcome


class HostMessageHandling:
    """The host side of SimBoard; the state it changes is SimBoard's."""

    def host_frame_received(self, now_s: float) -> None:
        """A valid frame arrived (any frame, an ack included): the host is alive."""
        if self.faults.unplugged:
            return
        self.advance(now_s)
        self._watchdog_armed = True
        self._last_frame_ticks = self._ticks

    def report_bad_message(self, reason: str, now_s: float) -> None:
        """A block whose payload broke the message rules arrived; nothing in it is acted on."""
        if self.faults.unplugged:
            return
        self.advance(now_s)
        self._fault(FaultCode.BAD_MESSAGE, -1, -1.0, reason=reason)

    def handle(self, message: object, now_s: float) -> None:
        """Act on one host message arriving at host time `now_s`."""
        if self.faults.unplugged:
            return
        self.host_frame_received(now_s)
        handler = self._HANDLERS.get(type(message))
        if handler is None:
            self._event("command", message=repr(message), ignored="unknown message")
            return
        if not isinstance(message, (ScheduleSegment, Heartbeat, KeepAlive)):
            self._event("command", message=repr(message))
        handler(self, message)
        # Anything now due at this very tick (a segment starting now) happens now.
        if self._next_event_ticks() <= self._ticks:
            self._advance_to(self._ticks)

    def _on_schedule(self, message: ScheduleSegment) -> None:
        arrival = self._ticks
        problem = segment_problem(
            message, self._channels, self._max_duration_ticks, self.clock_hz,
            check_range=not self.faults.no_clamp,
            check_duration=not self.faults.no_max_duration,
        )
        channel = message.channel if problem is None else _index_or(message.channel)
        if not 0 <= channel < len(self._channels):
            channel = -1  # FaultReport's index names only the board's own channels (4.7)
        planned = arrival
        if isinstance(message.start_clock, numbers.Integral):
            planned = unwrap_clock(int(message.start_clock), arrival)
        record = self.trace.add_segment(channel, planned, arrival, message)
        if problem is not None:
            self.trace.segment_outcome(record, SegmentOutcome.BAD_SEGMENT)
            self._fault(FaultCode.BAD_SEGMENT, channel, problem.value, reason=problem.reason)
            return
        if self.state is not DeviceState.READY:
            self.trace.segment_outcome(record, SegmentOutcome.SHUTDOWN)
            return
        if self.queue_free <= 0:
            self.trace.segment_outcome(record, SegmentOutcome.QUEUE_FULL)
            self._fault(FaultCode.QUEUE_FULL, channel, float(self.queue_capacity))
            return
        segment = QueuedSegment(
            planned, int(message.duration_ticks), float(message.start_value),
            float(message.end_value), float(message.amplitude), int(message.period_ticks), record,
        )
        if not self._schedules[channel].add(segment, arrival):
            if self._boundary_ticks is None or planned < self._boundary_ticks:
                self._boundary_ticks = planned
            return
        self.trace.segment_started(record, arrival)
        self.late_segments += 1
        self._fault(FaultCode.LATE_SEGMENT, channel, (arrival - planned) / self.clock_hz)
        self._update_boundary()
        self._refresh_outputs()

    def _on_stop(self, message: Stop) -> None:
        if self.faults.deaf_to_stop:
            return
        before = (self.state, self.latched_cause)
        # Anything but a plain request counts as a fault: the side that latches.
        fault = message.cause != HostStopCause.REQUESTED
        self._shut_down(StopCause.HOST_FAULT if fault else StopCause.HOST_STOP)
        if before == (self.state, self.latched_cause):
            self._send_status()  # confirmed again: the first confirmation may have been lost

    def _on_reset(self, message: Reset) -> None:
        if self.latched_cause is not None and self.faults.forgetful_latch:
            self.latched_cause = None  # the firmware bug the conformance check must catch
        if self.state is DeviceState.SHUTDOWN and self.latched_cause is None:
            self.state = DeviceState.READY
            self.stop_cause = StopCause.NONE
            self._event("state", state=self.state.name, cause=self.stop_cause.name)
        elif self.stop_cause is StopCause.POWER_ON:
            self.stop_cause = StopCause.NONE  # a host has taken charge since power on
        self._send_status()

    def _on_clear_fault(self, message: ClearFault) -> None:
        if self.latched_cause is not None:
            self._event("latch", cleared=self.latched_cause.name)
            self.latched_cause = None
        self._send_status()  # still SHUTDOWN: a Reset starts the board again

    def _on_intensity(self, message: SetIntensity) -> None:
        scale = float(message.scale) if isinstance(message.scale, numbers.Real) else 0.0
        # Never above 1.0; anything that is not a number counts as 0 (the safe side).
        scale = min(1.0, max(0.0, scale)) if scale == scale else 0.0
        rising = scale > self.intensity_scale
        self.intensity_scale = scale
        if rising:
            self._start_slews([i for i, rule in enumerate(self._output_rules) if rule.scaled])
        self._refresh_outputs()
        self._send_status()

    def _on_mask(self, message: SetChannelMask) -> None:
        before = self.enabled_mask
        if isinstance(message.enabled_mask, numbers.Integral):
            self.enabled_mask = int(message.enabled_mask) & self._all_channels_mask
        else:
            self.enabled_mask = 0
        enabled = self.enabled_mask & ~before
        self._start_slews([i for i in range(len(self._channels)) if enabled >> i & 1])
        self._refresh_outputs()
        self._send_status()

    def _on_heartbeat(self, message: Heartbeat) -> None:
        self.trace.heartbeat(self._ticks)
        self._send(ClockReport(wrap_clock(self._ticks)))

    def _on_keepalive(self, message: KeepAlive) -> None:
        self.trace.heartbeat(self._ticks)

    def _on_identify(self, message: Identify) -> None:
        identity = device_profile_map(
            self.profile, clock_hz=self.clock_hz, queue_capacity=self.queue_capacity,
            serial_number=self.serial_number, display_rows=self.display_rows,
            display_cols=self.display_cols,
        )
        for answer in identity.messages():
            self._send(answer)

    def _on_query(self, message: QueryStatus) -> None:
        self._send_status()

    def _on_text(self, message: ShowText) -> None:
        row = message.row if isinstance(message.row, numbers.Integral) else -1
        self.remote.show(int(row), str(message.text))

    _HANDLERS: ClassVar[dict[type, Callable[[Any, Any], None]]] = {
        ScheduleSegment: _on_schedule,
        Stop: _on_stop,
        Reset: _on_reset,
        ClearFault: _on_clear_fault,
        SetIntensity: _on_intensity,
        SetChannelMask: _on_mask,
        Heartbeat: _on_heartbeat,
        KeepAlive: _on_keepalive,
        Identify: _on_identify,
        QueryStatus: _on_query,
        ShowText: _on_text,
    }


def _index_or(value: object, default: int = -1) -> int:
    return int(value) if isinstance(value, numbers.Integral) else default
