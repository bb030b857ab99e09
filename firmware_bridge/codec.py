"""Messages <-> block payload bytes: one id byte, then fixed-width little-endian fields.

Pure functions, no I/O. Encoding refuses values the wire cannot carry (ValueError: a bug in the
caller, never a wire condition). Decoding raises PayloadError, which the protocol endpoints turn
into a BadMessage event; it never yields NaN or infinity, because every value on the wire is an
integer (thousandths of the unit, see wire.VALUE_SCALE). hardware.md lists every layout.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterable

from firmware_bridge import messages as m
from firmware_bridge.wire import (
    INT32_MAX,
    INT32_MIN,
    INTENSITY_SCALE_MAX_PERMILLE,
    MAX_CHANNELS,
    MAX_FIRMWARE_VERSION_BYTES,
    MAX_MESSAGES_PER_BLOCK,
    MAX_SENSOR_VALUES_PER_REPORT,
    MAX_SENSORS,
    MAX_TEXT_BYTES,
    UINT32_MAX,
    VALUE_SCALE,
)
from routines.device import ChannelKind, SensorKind, Unit, Zone


class PayloadError(ValueError):
    """A payload that breaks the message rules (reported as BadMessage, never raised out)."""


MESSAGE_IDS: dict[type, int] = {
    m.Identify: 0x01,
    m.ScheduleSegment: 0x02,
    m.Reset: 0x03,
    m.QueryStatus: 0x04,
    m.ShowText: 0x05,
    m.Stop: 0x10,
    m.SetIntensity: 0x11,
    m.SetChannelMask: 0x12,
    m.Heartbeat: 0x13,
    m.DeviceInfo: 0x81,
    m.ChannelInfo: 0x82,
    m.SensorInfo: 0x83,
    m.ClockReport: 0x84,
    m.SensorReport: 0x85,
    m.StatusReport: 0x86,
    m.KeyPress: 0x87,
    m.FaultReport: 0x88,
}
QUEUED_IDS = frozenset(MESSAGE_IDS[c] for c in (m.Identify, m.ScheduleSegment, m.Reset,
                                                  m.QueryStatus, m.ShowText))
IMMEDIATE_IDS = frozenset(MESSAGE_IDS[c] for c in m.IMMEDIATE_MESSAGES)
DEVICE_IDS = frozenset(i for i in MESSAGE_IDS.values() if i >= 0x80)

# Enum codes on the wire. Written out, not derived from enum order, so reordering an enum in
# Python can never change the protocol. NO_CODE stands for "none" (no zone, no channel, ...).
NO_CODE = 0xFF
CHANNEL_KIND_CODES = (ChannelKind.POSITION, ChannelKind.WIDTH, ChannelKind.DEPTH,
                      ChannelKind.KNEAD, ChannelKind.TAP, ChannelKind.AIRBAG, ChannelKind.HEAT,
                      ChannelKind.COOL)
ZONE_CODES = (Zone.NECK, Zone.SHOULDERS, Zone.UPPER_BACK, Zone.MID_BACK, Zone.LOWER_BACK,
              Zone.SEAT, Zone.ARMS, Zone.CALVES, Zone.FEET)
SENSOR_KIND_CODES = (SensorKind.POSITION, SensorKind.PRESSURE, SensorKind.TEMPERATURE,
                     SensorKind.SPEED, SensorKind.CURRENT, SensorKind.OCCUPANCY)
UNIT_CODES = (Unit.MM, Unit.MM_PER_S, Unit.KPA, Unit.CELSIUS, Unit.CYCLES_PER_MIN, Unit.HZ,
              Unit.AMPERE, Unit.OCCUPIED)

FLAG_HAS_SAFE_DEFAULT = 0x01  # ChannelInfo.flags
FLAG_OUTPUTS_SAFE = 0x01  # StatusReport.flags


# --- scalar conversions ----------------------------------------------------------------------


def to_counts(value: float, field: str) -> int:
    """A value in its unit -> signed 32-bit thousandths of the unit."""
    if not math.isfinite(value):
        raise ValueError(f"{field}: {value} is not a finite number")
    counts = round(value * VALUE_SCALE)
    if not INT32_MIN <= counts <= INT32_MAX:
        raise ValueError(f"{field}: {value} is outside the wire range of a value")
    return counts


def from_counts(counts: int) -> float:
    return counts / VALUE_SCALE


def quantize(value: float) -> float:
    """The value as it reads after a trip over the wire."""
    return from_counts(to_counts(value, "value"))


def _u32(value: int, field: str) -> int:
    if not 0 <= value <= UINT32_MAX:
        raise ValueError(f"{field}: {value} does not fit 32 bits unsigned")
    return value


def _clock(value: int, field: str) -> int:
    if value < 0:
        raise ValueError(f"{field}: a device clock is never negative, got {value}")
    return value & UINT32_MAX  # 32-bit on the wire; the host unwraps (clock.py)


def _code(value, table: tuple, field: str) -> int:
    if value is None:
        return NO_CODE
    try:
        return table.index(value)
    except ValueError:
        raise ValueError(f"{field}: {value!r} has no wire code") from None


def _lookup(code: int, table: tuple, field: str, optional: bool = False):
    if optional and code == NO_CODE:
        return None
    if code >= len(table):
        raise PayloadError(f"{field}: unknown code {code}")
    return table[code]


def _int_enum(enum: type, code: int, field: str):
    try:
        return enum(code)
    except ValueError:
        raise PayloadError(f"{field}: unknown code {code}") from None


def _text(text: str, limit: int, field: str) -> bytes:
    data = text.encode("utf-8")
    if len(data) > limit:
        raise ValueError(f"{field}: {len(data)} bytes of UTF-8, at most {limit} allowed")
    return bytes((len(data),)) + data


def _read_text(payload: bytes, offset: int, limit: int, field: str) -> tuple[str, int]:
    if offset >= len(payload):
        raise PayloadError(f"{field}: missing length")
    length = payload[offset]
    if length > limit:
        raise PayloadError(f"{field}: {length} bytes, at most {limit} allowed")
    end = offset + 1 + length
    if end > len(payload):
        raise PayloadError(f"{field}: cut short")
    try:
        return payload[offset + 1 : end].decode("utf-8"), end
    except UnicodeDecodeError:
        raise PayloadError(f"{field}: not valid UTF-8") from None


# --- layouts ---------------------------------------------------------------------------------

SEGMENT = struct.Struct("<BIIiiiI")
SHOW_TEXT = struct.Struct("<B")  # row; then the text
SET_INTENSITY = struct.Struct("<H")
SET_CHANNEL_MASK = struct.Struct("<I")
DEVICE_INFO = struct.Struct("<BIHBB")  # then the firmware version text
CHANNEL_INFO = struct.Struct("<BBBBiiiI")
SENSOR_INFO = struct.Struct("<BBBBii")
CLOCK_REPORT = struct.Struct("<I")
SENSOR_REPORT = struct.Struct("<IBB")  # then `count` int32 values
STATUS_REPORT = struct.Struct("<IBBBHHII")
KEY_PRESS = struct.Struct("<IB")
FAULT_REPORT = struct.Struct("<IBbi")
EMPTY = struct.Struct("<")

_Encoder = Callable[[object], bytes]


def _enc_segment(msg: m.ScheduleSegment) -> bytes:
    if not 0 <= msg.channel < MAX_CHANNELS:
        raise ValueError(f"ScheduleSegment.channel: {msg.channel} is not a channel index")
    return SEGMENT.pack(
        msg.channel,
        _clock(msg.start_clock, "ScheduleSegment.start_clock"),
        _u32(msg.duration_ticks, "ScheduleSegment.duration_ticks"),
        to_counts(msg.start_value, "ScheduleSegment.start_value"),
        to_counts(msg.end_value, "ScheduleSegment.end_value"),
        to_counts(msg.amplitude, "ScheduleSegment.amplitude"),
        _u32(msg.period_ticks, "ScheduleSegment.period_ticks"),
    )


def _enc_show_text(msg: m.ShowText) -> bytes:
    if not 0 <= msg.row <= 0xFF:
        raise ValueError(f"ShowText.row: {msg.row} is not a row index")
    return SHOW_TEXT.pack(msg.row) + _text(msg.text, MAX_TEXT_BYTES, "ShowText.text")


def _enc_intensity(msg: m.SetIntensity) -> bytes:
    if not (math.isfinite(msg.scale) and 0.0 <= msg.scale <= 1.0):
        raise ValueError(f"SetIntensity.scale: {msg.scale} is outside 0..1")
    return SET_INTENSITY.pack(round(msg.scale * INTENSITY_SCALE_MAX_PERMILLE))


def _enc_mask(msg: m.SetChannelMask) -> bytes:
    return SET_CHANNEL_MASK.pack(_u32(msg.enabled_mask, "SetChannelMask.enabled_mask"))


def _enc_device_info(msg: m.DeviceInfo) -> bytes:
    return DEVICE_INFO.pack(
        msg.protocol_version, _u32(msg.clock_hz, "DeviceInfo.clock_hz"), msg.queue_capacity,
        msg.channel_count, msg.sensor_count,
    ) + _text(msg.firmware_version, MAX_FIRMWARE_VERSION_BYTES, "DeviceInfo.firmware_version")


def _enc_channel_info(msg: m.ChannelInfo) -> bytes:
    has_default = msg.safe_default is not None
    return CHANNEL_INFO.pack(
        msg.index,
        _code(msg.kind, CHANNEL_KIND_CODES, "ChannelInfo.kind"),
        _code(msg.zone, ZONE_CODES, "ChannelInfo.zone"),
        FLAG_HAS_SAFE_DEFAULT if has_default else 0,
        to_counts(msg.min, "ChannelInfo.min"),
        to_counts(msg.max, "ChannelInfo.max"),
        to_counts(msg.safe_default, "ChannelInfo.safe_default") if has_default else 0,
        _u32(msg.max_duration_ticks, "ChannelInfo.max_duration_ticks"),
    )


def _enc_sensor_info(msg: m.SensorInfo) -> bytes:
    return SENSOR_INFO.pack(
        msg.index,
        _code(msg.kind, SENSOR_KIND_CODES, "SensorInfo.kind"),
        NO_CODE if msg.channel is None else msg.channel,
        _code(msg.unit, UNIT_CODES, "SensorInfo.unit"),
        to_counts(msg.valid_min, "SensorInfo.valid_min"),
        to_counts(msg.valid_max, "SensorInfo.valid_max"),
    )


def _enc_sensor_report(msg: m.SensorReport) -> bytes:
    count = len(msg.values)
    if count > MAX_SENSOR_VALUES_PER_REPORT:
        raise ValueError(
            f"SensorReport: {count} values, at most {MAX_SENSOR_VALUES_PER_REPORT} per report"
        )
    head = SENSOR_REPORT.pack(_clock(msg.clock, "SensorReport.clock"), msg.first_index, count)
    values = [to_counts(v, "SensorReport.values") for v in msg.values]
    return head + struct.pack(f"<{count}i", *values)


def _enc_status(msg: m.StatusReport) -> bytes:
    if not (math.isfinite(msg.intensity_scale) and 0.0 <= msg.intensity_scale <= 1.0):
        raise ValueError(f"StatusReport.intensity_scale: {msg.intensity_scale} is outside 0..1")
    return STATUS_REPORT.pack(
        _clock(msg.clock, "StatusReport.clock"), int(msg.state), int(msg.stop_cause),
        FLAG_OUTPUTS_SAFE if msg.outputs_safe else 0, msg.queue_free,
        round(msg.intensity_scale * INTENSITY_SCALE_MAX_PERMILLE),
        _u32(msg.enabled_mask, "StatusReport.enabled_mask"),
        _u32(msg.late_segments, "StatusReport.late_segments"),
    )


_ENCODERS: dict[type, _Encoder] = {
    m.Identify: lambda msg: b"",
    m.ScheduleSegment: _enc_segment,
    m.Reset: lambda msg: b"",
    m.QueryStatus: lambda msg: b"",
    m.ShowText: _enc_show_text,
    m.Stop: lambda msg: b"",
    m.SetIntensity: _enc_intensity,
    m.SetChannelMask: _enc_mask,
    m.Heartbeat: lambda msg: b"",
    m.DeviceInfo: _enc_device_info,
    m.ChannelInfo: _enc_channel_info,
    m.SensorInfo: _enc_sensor_info,
    m.ClockReport: lambda msg: CLOCK_REPORT.pack(_clock(msg.clock, "ClockReport.clock")),
    m.SensorReport: _enc_sensor_report,
    m.StatusReport: _enc_status,
    m.KeyPress: lambda msg: KEY_PRESS.pack(_clock(msg.clock, "KeyPress.clock"), int(msg.key)),
    m.FaultReport: lambda msg: FAULT_REPORT.pack(
        _clock(msg.clock, "FaultReport.clock"), int(msg.code), msg.index,
        to_counts(msg.value, "FaultReport.value"),
    ),
}


def encode_message(message: object) -> bytes:
    """One message: id byte plus fields. ValueError if a field does not fit the wire."""
    kind = type(message)
    try:
        encoder = _ENCODERS[kind]
    except KeyError:
        raise ValueError(f"{kind.__name__} is not a protocol message") from None
    try:
        return bytes((MESSAGE_IDS[kind],)) + encoder(message)
    except struct.error as error:
        raise ValueError(f"{kind.__name__}: a field does not fit its wire type ({error})") from None


# --- decoding --------------------------------------------------------------------------------


def _fixed(layout: struct.Struct, payload: bytes, offset: int, name: str) -> tuple:
    end = offset + layout.size
    if end > len(payload):
        raise PayloadError(f"{name}: cut short ({len(payload) - offset} of {layout.size} bytes)")
    return layout.unpack_from(payload, offset)


def _dec_segment(payload: bytes, offset: int):
    channel, start, duration, v0, v1, amplitude, period = _fixed(SEGMENT, payload, offset,
                                                                 "ScheduleSegment")
    if channel >= MAX_CHANNELS:
        raise PayloadError(f"ScheduleSegment.channel: {channel} is not a channel index")
    message = m.ScheduleSegment(channel, start, duration, from_counts(v0), from_counts(v1),
                                from_counts(amplitude), period)
    return message, offset + SEGMENT.size


def _dec_show_text(payload: bytes, offset: int):
    (row,) = _fixed(SHOW_TEXT, payload, offset, "ShowText")
    text, end = _read_text(payload, offset + SHOW_TEXT.size, MAX_TEXT_BYTES, "ShowText.text")
    return m.ShowText(row, text), end


def _dec_intensity(payload: bytes, offset: int):
    (permille,) = _fixed(SET_INTENSITY, payload, offset, "SetIntensity")
    if permille > INTENSITY_SCALE_MAX_PERMILLE:
        raise PayloadError(f"SetIntensity.scale: {permille / 1000} is above 1.0")
    return m.SetIntensity(permille / INTENSITY_SCALE_MAX_PERMILLE), offset + SET_INTENSITY.size


def _dec_mask(payload: bytes, offset: int):
    (mask,) = _fixed(SET_CHANNEL_MASK, payload, offset, "SetChannelMask")
    return m.SetChannelMask(mask), offset + SET_CHANNEL_MASK.size


def _dec_device_info(payload: bytes, offset: int):
    version, clock_hz, capacity, channels, sensors = _fixed(DEVICE_INFO, payload, offset,
                                                            "DeviceInfo")
    if channels > MAX_CHANNELS:
        raise PayloadError(f"DeviceInfo.channel_count: {channels}, at most {MAX_CHANNELS}")
    if sensors > MAX_SENSORS:
        raise PayloadError(f"DeviceInfo.sensor_count: {sensors}, at most {MAX_SENSORS}")
    firmware, end = _read_text(payload, offset + DEVICE_INFO.size, MAX_FIRMWARE_VERSION_BYTES,
                               "DeviceInfo.firmware_version")
    return m.DeviceInfo(version, firmware, clock_hz, capacity, channels, sensors), end


def _dec_channel_info(payload: bytes, offset: int):
    index, kind, zone, flags, low, high, default, max_ticks = _fixed(
        CHANNEL_INFO, payload, offset, "ChannelInfo")
    if index >= MAX_CHANNELS:
        raise PayloadError(f"ChannelInfo.index: {index}, at most {MAX_CHANNELS - 1}")
    message = m.ChannelInfo(
        index,
        _lookup(kind, CHANNEL_KIND_CODES, "ChannelInfo.kind"),
        _lookup(zone, ZONE_CODES, "ChannelInfo.zone", optional=True),
        from_counts(low),
        from_counts(high),
        from_counts(default) if flags & FLAG_HAS_SAFE_DEFAULT else None,
        max_ticks,
    )
    return message, offset + CHANNEL_INFO.size


def _dec_sensor_info(payload: bytes, offset: int):
    index, kind, channel, unit, low, high = _fixed(SENSOR_INFO, payload, offset, "SensorInfo")
    if index >= MAX_SENSORS:
        raise PayloadError(f"SensorInfo.index: {index}, at most {MAX_SENSORS - 1}")
    if channel != NO_CODE and channel >= MAX_CHANNELS:
        raise PayloadError(f"SensorInfo.channel: {channel} is not a channel index")
    message = m.SensorInfo(
        index,
        _lookup(kind, SENSOR_KIND_CODES, "SensorInfo.kind"),
        None if channel == NO_CODE else channel,
        from_counts(low),
        from_counts(high),
        _lookup(unit, UNIT_CODES, "SensorInfo.unit", optional=True),
    )
    return message, offset + SENSOR_INFO.size


def _dec_clock(payload: bytes, offset: int):
    (clock,) = _fixed(CLOCK_REPORT, payload, offset, "ClockReport")
    return m.ClockReport(clock), offset + CLOCK_REPORT.size


def _dec_sensor_report(payload: bytes, offset: int):
    clock, first, count = _fixed(SENSOR_REPORT, payload, offset, "SensorReport")
    if count > MAX_SENSOR_VALUES_PER_REPORT:
        raise PayloadError(f"SensorReport: {count} values, at most {MAX_SENSOR_VALUES_PER_REPORT}")
    if first + count > MAX_SENSORS:
        raise PayloadError(f"SensorReport: sensors {first}..{first + count - 1} do not exist")
    start = offset + SENSOR_REPORT.size
    end = start + 4 * count
    if end > len(payload):
        raise PayloadError("SensorReport: values cut short")
    values = struct.unpack_from(f"<{count}i", payload, start)
    return m.SensorReport(clock, first, tuple(from_counts(v) for v in values)), end


def _dec_status(payload: bytes, offset: int):
    clock, state, cause, flags, free, permille, mask, late = _fixed(
        STATUS_REPORT, payload, offset, "StatusReport")
    if permille > INTENSITY_SCALE_MAX_PERMILLE:
        raise PayloadError(f"StatusReport.intensity_scale: {permille / 1000} is above 1.0")
    message = m.StatusReport(
        clock,
        _int_enum(m.DeviceState, state, "StatusReport.state"),
        _int_enum(m.StopCause, cause, "StatusReport.stop_cause"),
        bool(flags & FLAG_OUTPUTS_SAFE),
        free,
        permille / INTENSITY_SCALE_MAX_PERMILLE,
        mask,
        late,
    )
    return message, offset + STATUS_REPORT.size


def _dec_key(payload: bytes, offset: int):
    clock, key = _fixed(KEY_PRESS, payload, offset, "KeyPress")
    return m.KeyPress(clock, _int_enum(m.RemoteKey, key, "KeyPress.key")), offset + KEY_PRESS.size


def _dec_fault(payload: bytes, offset: int):
    clock, code, index, value = _fixed(FAULT_REPORT, payload, offset, "FaultReport")
    message = m.FaultReport(clock, _int_enum(m.FaultCode, code, "FaultReport.code"), index,
                            from_counts(value))
    return message, offset + FAULT_REPORT.size


def _no_fields(cls: type):
    instance = cls()
    return lambda payload, offset: (instance, offset)


_DECODERS: dict[int, Callable[[bytes, int], tuple[object, int]]] = {
    MESSAGE_IDS[m.Identify]: _no_fields(m.Identify),
    MESSAGE_IDS[m.ScheduleSegment]: _dec_segment,
    MESSAGE_IDS[m.Reset]: _no_fields(m.Reset),
    MESSAGE_IDS[m.QueryStatus]: _no_fields(m.QueryStatus),
    MESSAGE_IDS[m.ShowText]: _dec_show_text,
    MESSAGE_IDS[m.Stop]: _no_fields(m.Stop),
    MESSAGE_IDS[m.SetIntensity]: _dec_intensity,
    MESSAGE_IDS[m.SetChannelMask]: _dec_mask,
    MESSAGE_IDS[m.Heartbeat]: _no_fields(m.Heartbeat),
    MESSAGE_IDS[m.DeviceInfo]: _dec_device_info,
    MESSAGE_IDS[m.ChannelInfo]: _dec_channel_info,
    MESSAGE_IDS[m.SensorInfo]: _dec_sensor_info,
    MESSAGE_IDS[m.ClockReport]: _dec_clock,
    MESSAGE_IDS[m.SensorReport]: _dec_sensor_report,
    MESSAGE_IDS[m.StatusReport]: _dec_status,
    MESSAGE_IDS[m.KeyPress]: _dec_key,
    MESSAGE_IDS[m.FaultReport]: _dec_fault,
}


def decode_messages(payload: bytes, allowed_ids: frozenset[int]) -> list:
    """All messages of one block payload, or PayloadError: a block is used whole or not at all."""
    found = []
    offset = 0
    while offset < len(payload):
        if len(found) == MAX_MESSAGES_PER_BLOCK:
            raise PayloadError(f"more than {MAX_MESSAGES_PER_BLOCK} messages in one block")
        message_id = payload[offset]
        if message_id not in allowed_ids:
            if message_id in _DECODERS:
                raise PayloadError(f"message id 0x{message_id:02X} is not allowed in this block")
            raise PayloadError(f"unknown message id 0x{message_id:02X}")
        message, offset = _DECODERS[message_id](payload, offset + 1)
        found.append(message)
    return found


def pack_payloads(encoded: Iterable[bytes], max_payload_bytes: int) -> list[bytes]:
    """Greedily pack encoded messages, in order, into as few block payloads as fit."""
    payloads: list[bytes] = []
    current = bytearray()
    count = 0
    for chunk in encoded:
        if current and (len(current) + len(chunk) > max_payload_bytes
                        or count == MAX_MESSAGES_PER_BLOCK):
            payloads.append(bytes(current))
            current.clear()
            count = 0
        if len(chunk) > max_payload_bytes:
            raise ValueError(f"a message of {len(chunk)} bytes does not fit one block")
        current += chunk
        count += 1
    if current:
        payloads.append(bytes(current))
    return payloads
