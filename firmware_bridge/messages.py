"""Messages of the host <-> board protocol, as frozen dataclasses (no encoding here).

Values are in the unit of their channel or sensor (see routines.device); times on the wire are
device clock ticks (`*_clock`, `*_ticks`), never host or plan seconds. The byte layout of each
message is in hardware.md and firmware_bridge's codec.

Host -> board, queued (sequenced blocks, acked, retransmitted):
    Identify, ScheduleSegment, Reset, QueryStatus, ShowText, ClearFault, SetRiseLimit
Host -> board, immediate (bypass the queue, act on arrival, idempotent so they may be repeated):
    Stop, SetIntensity, SetChannelMask, Heartbeat, KeepAlive
Board -> host:
    DeviceInfo, ChannelInfo, SensorInfo   answers to Identify
    ClockReport                           answer to Heartbeat: the board's clock now
    SensorReport                          telemetry, periodic
    StatusReport                          state, periodic and on every state change
    KeyPress                              a key on the handheld remote
    FaultReport                           the board detected a fault (and acted on it)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from massagectl.routines.device import ChannelKind, SensorKind, Unit, Zone


class DeviceState(IntEnum):
    READY = 0  # outputs at safe defaults or running segments; accepts segments
    SHUTDOWN = 1  # queue cleared, outputs safe, segments refused until Reset (and ClearFault)


class StopCause(IntEnum):
    """Why the board entered SHUTDOWN (or NONE while READY)."""

    NONE = 0
    HOST_STOP = 1  # a Stop message
    REMOTE_STOP_KEY = 2  # the STOP key on the handheld remote, acted on locally
    WATCHDOG = 3  # no valid host frame for the watchdog period
    SENSOR_RANGE = 4  # a sensor read outside its valid range too many times in a row
    OVER_LIMIT = 5  # a measured value beyond the board's own hard limit
    MOTOR_STALL = 6  # a driven motor did not move
    POWER_ON = 7  # the board started and no host has stopped or reset it since
    HOST_FAULT = 8  # a Stop whose cause is FAULT: the host's supervisor tripped
    THERMAL_CUTOFF = 9  # the independent thermal cut-off of a heat zone opened


# Shutdowns caused by a fault: the board keeps them latched through Reset and power cycles
# until the host sends ClearFault (hardware.md, section 5, "The fault latch"). A person's stop,
# the end of a session and the watchdog (a host that went away) end with Reset.
LATCHING_CAUSES = frozenset({StopCause.SENSOR_RANGE, StopCause.OVER_LIMIT,
                             StopCause.MOTOR_STALL, StopCause.HOST_FAULT,
                             StopCause.THERMAL_CUTOFF})


class HostStopCause(IntEnum):
    """Why the host sends Stop: a request (a person, a pause, the end of a session) or a fault
    its supervisor latched, which the board then latches too."""

    REQUESTED = 0
    FAULT = 1


class RemoteKey(IntEnum):
    STOP = 0  # the board also stops locally, at once, before reporting it
    START_PAUSE = 1
    UP = 2
    DOWN = 3
    OK = 4
    BACK = 5
    INTENSITY_UP = 6
    INTENSITY_DOWN = 7
    HEAT = 8
    DISCOMFORT = 9  # "too much here": lower what is being worked now, and remember the spot
    MARK = 10  # "right there": remember the roller's place as a personal trigger point


class FaultCode(IntEnum):
    SENSOR_RANGE = 1
    OVER_LIMIT = 2
    MOTOR_STALL = 3
    LATE_SEGMENT = 4  # a segment arrived after its start clock and was executed late
    QUEUE_FULL = 5  # a segment was refused because the queue was full
    BAD_SEGMENT = 6  # a segment named an unknown channel or broke the channel's limits
    BAD_MESSAGE = 7  # a block with a good CRC held a message the board could not parse
    THERMAL_CUTOFF = 8  # a heat zone's thermal cut-off opened (index: the channel)


# --- host -> board, queued -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Identify:
    """Ask the board to describe itself (DeviceInfo, then a ChannelInfo and SensorInfo each)."""


@dataclass(frozen=True, slots=True)
class ScheduleSegment:
    """Run the segment formula (routines.plan) on one channel from `start_clock` on."""

    channel: int
    start_clock: int  # absolute device clock ticks (32-bit, wraps)
    duration_ticks: int
    start_value: float
    end_value: float
    amplitude: float = 0.0
    period_ticks: int = 0


@dataclass(frozen=True, slots=True)
class Reset:
    """Leave SHUTDOWN (outputs stay safe; the queue is empty)."""


@dataclass(frozen=True, slots=True)
class QueryStatus:
    """Ask for a StatusReport now."""


@dataclass(frozen=True, slots=True)
class ShowText:
    """Put text on one row of the handheld remote's display."""

    row: int
    text: str


@dataclass(frozen=True, slots=True)
class ClearFault:
    """End a latched fault (a person checked the chair); the board stays in SHUTDOWN until
    Reset."""


@dataclass(frozen=True, slots=True)
class SetRiseLimit:
    """Slew one channel no faster than `rise_per_s` (its unit per second) from now until the
    board powers on again: the rise the host admitted, where that is below the board's own
    (ChannelInfo.rise_per_s; a higher value counts as the board's own). Queued, so it acts
    before every segment sent after it."""

    channel: int
    rise_per_s: float  # > 0


# --- host -> board, immediate ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stop:
    """Clear the queue, put every output in its safe state, enter SHUTDOWN until Reset; with
    cause FAULT the shutdown is latched until ClearFault."""

    cause: HostStopCause = HostStopCause.REQUESTED


@dataclass(frozen=True, slots=True)
class SetIntensity:
    """Scale intensity-scaled channels toward their safe default: output = safe + (v - safe) * s."""

    scale: float  # 0.0 .. 1.0


@dataclass(frozen=True, slots=True)
class SetChannelMask:
    """Channels whose bit is 0 go to their safe state at once and ignore their segments."""

    enabled_mask: int


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Keep the board's watchdog fed; the board answers with a ClockReport."""


@dataclass(frozen=True, slots=True)
class KeepAlive:
    """Keep the board's watchdog fed; no answer (the frames between two Heartbeats)."""


# --- board -> host ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    protocol_version: int
    firmware_version: str
    clock_hz: int
    queue_capacity: int  # segments the board can hold scheduled ahead
    channel_count: int
    sensor_count: int
    serial_number: str = ""  # printable ASCII, stable per board: the chair's identity
    display_rows: int = 0  # the handheld remote's display (0 x 0: no display)
    display_cols: int = 0


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """One entry of the board's actuator map."""

    index: int
    kind: ChannelKind
    zone: Zone | None
    min: float
    max: float
    safe_default: float | None
    max_duration_ticks: int
    # Fastest the board moves the output away from its safe default (an intensity rise, a
    # channel enabled again, a segment that starts away from the output), unit per second; the
    # host may lower it with SetRiseLimit.
    rise_per_s: float = 0.0


@dataclass(frozen=True, slots=True)
class SensorInfo:
    index: int
    kind: SensorKind
    channel: int | None  # index of the observed channel
    valid_min: float
    valid_max: float
    unit: Unit | None = None  # speed sensors read in cycles/min or Hz; the map says which


@dataclass(frozen=True, slots=True)
class ClockReport:
    clock: int


@dataclass(frozen=True, slots=True)
class SensorReport:
    """Readings of sensors `first_index ..`, all sampled at `clock`."""

    clock: int
    first_index: int
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class StatusReport:
    clock: int
    state: DeviceState
    stop_cause: StopCause
    outputs_safe: bool  # every output at its safe state (drives stopped, vents open, heat off)
    queue_free: int
    intensity_scale: float
    enabled_mask: int
    late_segments: int  # segments executed after their start clock since power on
    fault_latched: bool = False  # a fault shutdown only ClearFault ends (Reset does not)


@dataclass(frozen=True, slots=True)
class KeyPress:
    clock: int
    key: RemoteKey


@dataclass(frozen=True, slots=True)
class FaultReport:
    clock: int
    code: FaultCode
    index: int  # sensor or channel index the fault concerns, or -1
    value: float  # the offending reading or value, in its unit


HostMessage = (
    Identify | ScheduleSegment | Reset | QueryStatus | ShowText | ClearFault | SetRiseLimit
    | Stop | SetIntensity | SetChannelMask | Heartbeat | KeepAlive
)
IMMEDIATE_MESSAGES = (Stop, SetIntensity, SetChannelMask, Heartbeat, KeepAlive)
DeviceMessage = (
    DeviceInfo | ChannelInfo | SensorInfo | ClockReport | SensorReport | StatusReport
    | KeyPress | FaultReport
)
