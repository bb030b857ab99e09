"""What the simulated board does with each host message (SimBoard.handle calls `handle`).

    ScheduleSegment  checked (sim.segments), then queued on its channel; a late one starts at
                     once on the plan's timeline and is reported (FaultReport LATE_SEGMENT, s),
                     its output rising from where it was at the channel's rise rate
    Stop             shutdown: every queue cleared, every output safe; a StatusReport; with
                     cause FAULT the shutdown is latched (HOST_FAULT)
    Reset            SHUTDOWN -> READY (queue empty, outputs safe) unless a fault is latched;
                     in READY it only ends POWER_ON; always a StatusReport
    ClearFault       ends a latched fault (the board stays in SHUTDOWN); a StatusReport
    SetRiseLimit     the channel's rise rate from now until power-on, in any state: the value
                     sent, or the map's own rate if that is lower; a slew under way goes on at
                     it; an unknown channel or a rate not above 0 is refused (BAD_SEGMENT)
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
from typing import TYPE_CHECKING, Any

from massagectl.firmware_bridge.clock_wrap import unwrap_clock, wrap_clock
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
    SetRiseLimit,
    ShowText,
    Stop,
    StopCause,
)
from massagectl.sim.segments import QueuedSegment, segment_problem
from massagectl.sim.trace import SegmentOutcome

if TYPE_CHECKING:
    from massagectl.sim.board import SimBoard


def host_frame_received(board: SimBoard, now_s: float) -> None:
    """A valid frame arrived (any frame, an ack included): the host is alive."""
    if board.faults.unplugged:
        return
    board.advance(now_s)
    board._watchdog_armed = True
    board._last_frame_ticks = board._ticks


def report_bad_message(board: SimBoard, reason: str, now_s: float) -> None:
    """A block whose payload broke the message rules arrived; nothing in it is acted on."""
    if board.faults.unplugged:
        return
    board.advance(now_s)
    board._fault(FaultCode.BAD_MESSAGE, -1, -1.0, reason=reason)


def handle(board: SimBoard, message: object, now_s: float) -> None:
    """Act on one host message arriving at host time `now_s`."""
    if board.faults.unplugged:
        return
    host_frame_received(board, now_s)
    handler = _HANDLERS.get(type(message))
    if handler is None:
        board._event("command", message=repr(message), ignored="unknown message")
        return
    if not isinstance(message, (ScheduleSegment, Heartbeat, KeepAlive)):
        board._event("command", message=repr(message))
    handler(board, message)
    # Anything now due at this very tick (a segment starting now) happens now.
    if board._next_event_ticks() <= board._ticks:
        board._advance_to(board._ticks)


def _on_schedule(board: SimBoard, message: ScheduleSegment) -> None:
    arrival = board._ticks
    problem = segment_problem(
        message, board._channels, board._max_duration_ticks, board.clock_hz,
        check_range=not board.faults.no_clamp,
        check_duration=not board.faults.no_max_duration,
    )
    channel = message.channel if problem is None else _index_or(message.channel)
    if not 0 <= channel < len(board._channels):
        channel = -1  # FaultReport's index names only the board's own channels (4.7)
    planned = arrival
    if isinstance(message.start_clock, numbers.Integral):
        planned = unwrap_clock(int(message.start_clock), arrival)
    record = board.trace.add_segment(channel, planned, arrival, message)
    if problem is not None:
        board.trace.segment_outcome(record, SegmentOutcome.BAD_SEGMENT)
        board._fault(FaultCode.BAD_SEGMENT, channel, problem.value, reason=problem.reason)
        return
    if board.state is not DeviceState.READY:
        board.trace.segment_outcome(record, SegmentOutcome.SHUTDOWN)
        return
    if board.queue_free <= 0:
        board.trace.segment_outcome(record, SegmentOutcome.QUEUE_FULL)
        board._fault(FaultCode.QUEUE_FULL, channel, float(board.queue_capacity))
        return
    segment = QueuedSegment(
        planned, int(message.duration_ticks), float(message.start_value),
        float(message.end_value), float(message.amplitude), int(message.period_ticks), record,
    )
    schedule = board._schedules[channel]
    if planned < arrival:
        board.outputs_now()  # where the output is as the late segment takes over
    if not schedule.add(segment, arrival):
        if board._boundary_ticks is None or planned < board._boundary_ticks:
            board._boundary_ticks = planned
        return
    board.trace.segment_started(record, arrival)
    board.late_segments += 1
    board._fault(FaultCode.LATE_SEGMENT, channel, (arrival - planned) / board.clock_hz)
    # On the plan's timeline, but never a jump (hardware.md 4.10): the output moves from where
    # it is toward the plan's value at no more than the channel's rise rate. One that had
    # already ended leaves the channel safe; its next segment rises from there the same way.
    if schedule.running is segment:
        board._start_slews([channel])
    board._update_boundary()
    board._refresh_outputs()


def _on_stop(board: SimBoard, message: Stop) -> None:
    if board.faults.deaf_to_stop:
        return
    before = (board.state, board.latched_cause)
    # Anything but a plain request counts as a fault: the side that latches.
    fault = message.cause != HostStopCause.REQUESTED
    board._shut_down(StopCause.HOST_FAULT if fault else StopCause.HOST_STOP)
    if before == (board.state, board.latched_cause):
        board._send_status()  # confirmed again: the first confirmation may have been lost


def _on_reset(board: SimBoard, message: Reset) -> None:
    if board.latched_cause is not None and board.faults.forgetful_latch:
        board.latched_cause = None  # the firmware bug the conformance check must catch
    if board.state is DeviceState.SHUTDOWN and board.latched_cause is None:
        board.state = DeviceState.READY
        board.stop_cause = StopCause.NONE
        board._event("state", state=board.state.name, cause=board.stop_cause.name)
    elif board.stop_cause is StopCause.POWER_ON:
        board.stop_cause = StopCause.NONE  # a host has taken charge since power on
    board._send_status()


def _on_clear_fault(board: SimBoard, message: ClearFault) -> None:
    if board.latched_cause is not None:
        board._event("latch", cleared=board.latched_cause.name)
        board.latched_cause = None
    board._send_status()  # still SHUTDOWN: a Reset starts the board again


def _on_rise_limit(board: SimBoard, message: SetRiseLimit) -> None:
    channel = _index_or(message.channel)
    rate = message.rise_per_s
    if not 0 <= channel < len(board._channels):
        board._fault(FaultCode.BAD_SEGMENT, -1, -1.0,
                     reason=f"SetRiseLimit: unknown channel index {message.channel!r}")
        return
    if not (isinstance(rate, numbers.Real) and rate > 0):  # NaN too: no rate to slew at
        board._fault(FaultCode.BAD_SEGMENT, channel, -1.0,
                     reason=f"SetRiseLimit: rate {rate!r} is not above 0")
        return
    if board.faults.ignores_rise_limit:
        return  # the firmware bug the conformance check must catch
    board.outputs_now()  # a slew under way goes on from where its output is now
    rates = list(board.rise_per_s)
    # Never above the board's own rate, which holds whatever the host sends (hardware.md 4.7).
    rates[channel] = min(float(rate), board.own_rise_per_s[channel])
    board.set_rise_rates(rates)
    board._refresh_outputs()


def _on_intensity(board: SimBoard, message: SetIntensity) -> None:
    scale = float(message.scale) if isinstance(message.scale, numbers.Real) else 0.0
    # Never above 1.0; anything that is not a number counts as 0 (the safe side).
    scale = min(1.0, max(0.0, scale)) if scale == scale else 0.0
    rising = scale > board.intensity_scale
    board.outputs_now()  # a rise is slewed from where the outputs are at this moment
    board.intensity_scale = scale
    if rising:
        board._start_slews([i for i, rule in enumerate(board._output_rules) if rule.scaled])
    board._refresh_outputs()
    board._send_status()


def _on_mask(board: SimBoard, message: SetChannelMask) -> None:
    before = board.enabled_mask
    board.outputs_now()
    if isinstance(message.enabled_mask, numbers.Integral):
        board.enabled_mask = int(message.enabled_mask) & board._all_channels_mask
    else:
        board.enabled_mask = 0
    enabled = board.enabled_mask & ~before
    board._start_slews([i for i in range(len(board._channels)) if enabled >> i & 1])
    board._refresh_outputs()
    board._send_status()


def _on_heartbeat(board: SimBoard, message: Heartbeat) -> None:
    board.trace.heartbeat(board._ticks)
    board._send(ClockReport(wrap_clock(board._ticks)))


def _on_keepalive(board: SimBoard, message: KeepAlive) -> None:
    board.trace.heartbeat(board._ticks)


def _on_identify(board: SimBoard, message: Identify) -> None:
    identity = device_profile_map(
        board.profile, clock_hz=board.clock_hz, queue_capacity=board.queue_capacity,
        serial_number=board.serial_number, display_rows=board.display_rows,
        display_cols=board.display_cols,
    )
    for answer in identity.messages():
        board._send(answer)


def _on_query(board: SimBoard, message: QueryStatus) -> None:
    board._send_status()


def _on_text(board: SimBoard, message: ShowText) -> None:
    row = message.row if isinstance(message.row, numbers.Integral) else -1
    board.remote.show(int(row), str(message.text))


_HANDLERS: dict[type, Callable[[SimBoard, Any], None]] = {
    ScheduleSegment: _on_schedule,
    Stop: _on_stop,
    Reset: _on_reset,
    ClearFault: _on_clear_fault,
    SetRiseLimit: _on_rise_limit,
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
