"""Field types on the wire: fixed-point values, clocks, ticks, enumeration codes and text.

Encoding helpers raise ValueError (the caller's bug: the value cannot be sent); decoding
helpers raise PayloadError (bytes from the wire that break the rules; reported, never raised out
of the protocol endpoints). hardware.md section 4.5 lists the same types and code tables.
"""

from __future__ import annotations

import math
import struct

from massagectl.firmware_bridge.wire import (
    INT32_MAX,
    INT32_MIN,
    INTENSITY_SCALE_MAX_PERMILLE,
    UINT32_MAX,
    VALUE_SCALE,
)
from massagectl.routines.device import ChannelKind, SensorKind, Unit, Zone


class PayloadError(ValueError):
    """A payload that breaks the message rules (reported as BadMessage, never raised out)."""


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


def check_u32(value: int, field: str) -> int:
    if not 0 <= value <= UINT32_MAX:
        raise ValueError(f"{field}: {value} does not fit 32 bits unsigned")
    return value


def wire_clock(value: int, field: str) -> int:
    """An absolute board clock, sent modulo 2**32."""
    if value < 0:
        raise ValueError(f"{field}: a device clock is never negative, got {value}")
    return value & UINT32_MAX  # 32-bit on the wire; the host unwraps (clock.py)


def encode_code(value, table: tuple, field: str) -> int:
    if value is None:
        return NO_CODE
    try:
        return table.index(value)
    except ValueError:
        raise ValueError(f"{field}: {value!r} has no wire code") from None


def decode_code(code: int, table: tuple, field: str, optional: bool = False):
    if optional and code == NO_CODE:
        return None
    if code >= len(table):
        raise PayloadError(f"{field}: unknown code {code}")
    return table[code]


def decode_int_enum(enum: type, code: int, field: str):
    try:
        return enum(code)
    except ValueError:
        raise PayloadError(f"{field}: unknown code {code}") from None


def encode_text(value: str, limit: int, field: str) -> bytes:
    """A byte count, then UTF-8."""
    data = value.encode("utf-8")
    if len(data) > limit:
        raise ValueError(f"{field}: {len(data)} bytes of UTF-8, at most {limit} allowed")
    return bytes((len(data),)) + data


def decode_text(payload: bytes, offset: int, limit: int, field: str) -> tuple[str, int]:
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


def encode_scale(value: float, field: str) -> int:
    """An intensity scale 0..1 as thousandths (u16)."""
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"{field}: {value} is outside 0..1")
    return round(value * INTENSITY_SCALE_MAX_PERMILLE)


def decode_scale(permille: int, field: str) -> float:
    if permille > INTENSITY_SCALE_MAX_PERMILLE:
        raise PayloadError(f"{field}: {permille / INTENSITY_SCALE_MAX_PERMILLE} is above 1.0")
    return permille / INTENSITY_SCALE_MAX_PERMILLE


def decode_fixed(layout: struct.Struct, payload: bytes, offset: int, name: str) -> tuple:
    """The fixed-width fields of one message, or PayloadError if the payload ends first."""
    if offset + layout.size > len(payload):
        raise PayloadError(f"{name}: cut short ({len(payload) - offset} of {layout.size} bytes)")
    return layout.unpack_from(payload, offset)
