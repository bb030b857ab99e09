"""Byte layouts of the board's messages (hardware.md section 4.7): one encoder, one decoder each.

Each decoder takes the payload and the offset just after the id byte, and returns the message
and the offset after it.
"""

from __future__ import annotations

import struct

from massagectl.firmware_bridge import messages as m
from massagectl.firmware_bridge.wire import (
    MAX_CHANNELS,
    MAX_FIRMWARE_VERSION_BYTES,
    MAX_SENSOR_VALUES_PER_REPORT,
    MAX_SENSORS,
    MAX_SERIAL_NUMBER_BYTES,
    READING_BYTES,
    READING_MAX,
    READING_MIN,
    VALUE_SCALE,
)
from massagectl.firmware_bridge.wire_types import (
    CHANNEL_KIND_CODES,
    NO_CODE,
    SENSOR_KIND_CODES,
    UNIT_CODES,
    ZONE_CODES,
    PayloadError,
    check_u32,
    decode_code,
    decode_fixed,
    decode_int_enum,
    decode_scale,
    decode_text,
    encode_code,
    encode_scale,
    encode_text,
    from_counts,
    to_counts,
    wire_clock,
)

DEVICE_INFO = struct.Struct("<BIHBBBB")  # then the firmware version and serial number texts
CHANNEL_INFO = struct.Struct("<BBBBiiiIi")
SENSOR_INFO = struct.Struct("<BBBBii")
CLOCK_REPORT = struct.Struct("<I")
SENSOR_REPORT = struct.Struct("<IBB")  # then `count` 24-bit readings
STATUS_REPORT = struct.Struct("<IBBBHHII")
KEY_PRESS = struct.Struct("<IB")
FAULT_REPORT = struct.Struct("<IBbi")

FLAG_HAS_SAFE_DEFAULT = 0x01  # ChannelInfo.flags
FLAG_OUTPUTS_SAFE = 0x01  # StatusReport.flags
FLAG_FAULT_LATCHED = 0x02  # StatusReport.flags
# A serial number is printable ASCII without spaces: it names the chair in files and topics.
_SERIAL_CHARACTERS = frozenset(range(0x21, 0x7F))


def _check_serial(serial_number: str, error: type[ValueError]) -> str:
    if not serial_number.isascii() or not set(serial_number.encode()) <= _SERIAL_CHARACTERS:
        raise error(f"DeviceInfo.serial_number: {serial_number!r} is not printable ASCII "
                    "without spaces")
    return serial_number


def encode_device_info(msg: m.DeviceInfo) -> bytes:
    head = DEVICE_INFO.pack(msg.protocol_version, check_u32(msg.clock_hz, "DeviceInfo.clock_hz"),
                            msg.queue_capacity, msg.channel_count, msg.sensor_count,
                            msg.display_rows, msg.display_cols)
    firmware = encode_text(msg.firmware_version, MAX_FIRMWARE_VERSION_BYTES,
                           "DeviceInfo.firmware_version")
    serial = encode_text(_check_serial(msg.serial_number, ValueError), MAX_SERIAL_NUMBER_BYTES,
                         "DeviceInfo.serial_number")
    return head + firmware + serial


def decode_device_info(payload: bytes, offset: int) -> tuple[m.DeviceInfo, int]:
    version, clock_hz, capacity, channels, sensors, rows, cols = decode_fixed(
        DEVICE_INFO, payload, offset, "DeviceInfo")
    if channels > MAX_CHANNELS:
        raise PayloadError(f"DeviceInfo.channel_count: {channels}, at most {MAX_CHANNELS}")
    if sensors > MAX_SENSORS:
        raise PayloadError(f"DeviceInfo.sensor_count: {sensors}, at most {MAX_SENSORS}")
    firmware, end = decode_text(payload, offset + DEVICE_INFO.size, MAX_FIRMWARE_VERSION_BYTES,
                                "DeviceInfo.firmware_version")
    serial, end = decode_text(payload, end, MAX_SERIAL_NUMBER_BYTES, "DeviceInfo.serial_number")
    _check_serial(serial, PayloadError)
    message = m.DeviceInfo(version, firmware, clock_hz, capacity, channels, sensors, serial,
                           rows, cols)
    return message, end


def encode_channel_info(msg: m.ChannelInfo) -> bytes:
    has_default = msg.safe_default is not None
    return CHANNEL_INFO.pack(
        msg.index,
        encode_code(msg.kind, CHANNEL_KIND_CODES, "ChannelInfo.kind"),
        encode_code(msg.zone, ZONE_CODES, "ChannelInfo.zone"),
        FLAG_HAS_SAFE_DEFAULT if has_default else 0,
        to_counts(msg.min, "ChannelInfo.min"),
        to_counts(msg.max, "ChannelInfo.max"),
        0 if msg.safe_default is None else to_counts(msg.safe_default, "ChannelInfo.safe_default"),
        check_u32(msg.max_duration_ticks, "ChannelInfo.max_duration_ticks"),
        to_counts(msg.rise_per_s, "ChannelInfo.rise_per_s"),
    )


def decode_channel_info(payload: bytes, offset: int) -> tuple[m.ChannelInfo, int]:
    index, kind, zone, flags, low, high, default, max_ticks, rise = decode_fixed(
        CHANNEL_INFO, payload, offset, "ChannelInfo")
    if index >= MAX_CHANNELS:
        raise PayloadError(f"ChannelInfo.index: {index}, at most {MAX_CHANNELS - 1}")
    message = m.ChannelInfo(
        index,
        decode_code(kind, CHANNEL_KIND_CODES, "ChannelInfo.kind"),
        decode_code(zone, ZONE_CODES, "ChannelInfo.zone", optional=True),
        from_counts(low),
        from_counts(high),
        from_counts(default) if flags & FLAG_HAS_SAFE_DEFAULT else None,
        max_ticks,
        from_counts(rise),
    )
    return message, offset + CHANNEL_INFO.size


def encode_sensor_info(msg: m.SensorInfo) -> bytes:
    return SENSOR_INFO.pack(
        msg.index,
        encode_code(msg.kind, SENSOR_KIND_CODES, "SensorInfo.kind"),
        NO_CODE if msg.channel is None else msg.channel,
        encode_code(msg.unit, UNIT_CODES, "SensorInfo.unit"),
        to_counts(msg.valid_min, "SensorInfo.valid_min"),
        to_counts(msg.valid_max, "SensorInfo.valid_max"),
    )


def decode_sensor_info(payload: bytes, offset: int) -> tuple[m.SensorInfo, int]:
    index, kind, channel, unit, low, high = decode_fixed(SENSOR_INFO, payload, offset,
                                                         "SensorInfo")
    if index >= MAX_SENSORS:
        raise PayloadError(f"SensorInfo.index: {index}, at most {MAX_SENSORS - 1}")
    if channel != NO_CODE and channel >= MAX_CHANNELS:
        raise PayloadError(f"SensorInfo.channel: {channel} is not a channel index")
    message = m.SensorInfo(
        index,
        decode_code(kind, SENSOR_KIND_CODES, "SensorInfo.kind"),
        None if channel == NO_CODE else channel,
        from_counts(low),
        from_counts(high),
        decode_code(unit, UNIT_CODES, "SensorInfo.unit", optional=True),
    )
    return message, offset + SENSOR_INFO.size


def encode_clock_report(msg: m.ClockReport) -> bytes:
    return CLOCK_REPORT.pack(wire_clock(msg.clock, "ClockReport.clock"))


def decode_clock_report(payload: bytes, offset: int) -> tuple[m.ClockReport, int]:
    (clock,) = decode_fixed(CLOCK_REPORT, payload, offset, "ClockReport")
    return m.ClockReport(clock), offset + CLOCK_REPORT.size


# Readings travel as three bytes each (hardware.md 4.5): packed as 32-bit words in one C call,
# then each word's top byte is dropped; decoding puts it back by sign extension.
_WORDS = tuple(struct.Struct(f"<{n}i") for n in range(MAX_SENSOR_VALUES_PER_REPORT + 1))
_SIGN_EXTENSION = bytes(0xFF if byte & 0x80 else 0x00 for byte in range(256))


def encode_sensor_report(msg: m.SensorReport) -> bytes:
    count = len(msg.values)
    if count > MAX_SENSOR_VALUES_PER_REPORT:
        raise ValueError(
            f"SensorReport: {count} values, at most {MAX_SENSOR_VALUES_PER_REPORT} per report"
        )
    head = SENSOR_REPORT.pack(wire_clock(msg.clock, "SensorReport.clock"), msg.first_index, count)
    try:
        counts = [round(v * VALUE_SCALE) for v in msg.values]
    except (ValueError, OverflowError, TypeError):
        counts = [to_counts(v, "SensorReport.values") for v in msg.values]  # names the bad one
    if counts and (min(counts) < READING_MIN or max(counts) > READING_MAX):
        counts = [min(max(c, READING_MIN), READING_MAX) for c in counts]  # saturate (wire.py)
    words = _WORDS[count].pack(*counts)
    readings = bytearray(READING_BYTES * count)
    for byte in range(READING_BYTES):
        readings[byte::READING_BYTES] = words[byte::4]
    return head + readings


def decode_sensor_report(payload: bytes, offset: int) -> tuple[m.SensorReport, int]:
    clock, first, count = decode_fixed(SENSOR_REPORT, payload, offset, "SensorReport")
    if count > MAX_SENSOR_VALUES_PER_REPORT:
        raise PayloadError(f"SensorReport: {count} values, at most {MAX_SENSOR_VALUES_PER_REPORT}")
    if first + count > MAX_SENSORS:
        raise PayloadError(f"SensorReport: sensors {first}..{first + count - 1} do not exist")
    start = offset + SENSOR_REPORT.size
    end = start + READING_BYTES * count
    if end > len(payload):
        raise PayloadError("SensorReport: values cut short")
    readings = payload[start:end]
    words = bytearray(4 * count)
    for byte in range(READING_BYTES):
        words[byte::4] = readings[byte::READING_BYTES]
    words[3::4] = readings[2::READING_BYTES].translate(_SIGN_EXTENSION)
    values = _WORDS[count].unpack(words)
    return m.SensorReport(clock, first, tuple([v / VALUE_SCALE for v in values])), end


def encode_status(msg: m.StatusReport) -> bytes:
    return STATUS_REPORT.pack(
        wire_clock(msg.clock, "StatusReport.clock"), int(msg.state), int(msg.stop_cause),
        (FLAG_OUTPUTS_SAFE if msg.outputs_safe else 0)
        | (FLAG_FAULT_LATCHED if msg.fault_latched else 0), msg.queue_free,
        encode_scale(msg.intensity_scale, "StatusReport.intensity_scale"),
        check_u32(msg.enabled_mask, "StatusReport.enabled_mask"),
        check_u32(msg.late_segments, "StatusReport.late_segments"),
    )


def decode_status(payload: bytes, offset: int) -> tuple[m.StatusReport, int]:
    clock, state, cause, flags, free, permille, mask, late = decode_fixed(
        STATUS_REPORT, payload, offset, "StatusReport")
    message = m.StatusReport(
        clock,
        decode_int_enum(m.DeviceState, state, "StatusReport.state"),
        decode_int_enum(m.StopCause, cause, "StatusReport.stop_cause"),
        bool(flags & FLAG_OUTPUTS_SAFE),
        free,
        decode_scale(permille, "StatusReport.intensity_scale"),
        mask,
        late,
        bool(flags & FLAG_FAULT_LATCHED),
    )
    return message, offset + STATUS_REPORT.size


def encode_key(msg: m.KeyPress) -> bytes:
    return KEY_PRESS.pack(wire_clock(msg.clock, "KeyPress.clock"), int(msg.key))


def decode_key(payload: bytes, offset: int) -> tuple[m.KeyPress, int]:
    clock, key = decode_fixed(KEY_PRESS, payload, offset, "KeyPress")
    message = m.KeyPress(clock, decode_int_enum(m.RemoteKey, key, "KeyPress.key"))
    return message, offset + KEY_PRESS.size


def encode_fault(msg: m.FaultReport) -> bytes:
    return FAULT_REPORT.pack(wire_clock(msg.clock, "FaultReport.clock"), int(msg.code), msg.index,
                             to_counts(msg.value, "FaultReport.value"))


def decode_fault(payload: bytes, offset: int) -> tuple[m.FaultReport, int]:
    clock, code, index, value = decode_fixed(FAULT_REPORT, payload, offset, "FaultReport")
    message = m.FaultReport(clock, decode_int_enum(m.FaultCode, code, "FaultReport.code"), index,
                            from_counts(value))
    return message, offset + FAULT_REPORT.size
