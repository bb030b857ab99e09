"""Byte layouts of the host's messages (hardware.md section 4.7): one encoder, one decoder each.

Each decoder takes the payload and the offset just after the id byte, and returns the message
and the offset after it.
"""

from __future__ import annotations

import struct

from massagectl.firmware_bridge import messages as m
from massagectl.firmware_bridge.wire import MAX_CHANNELS, MAX_TEXT_BYTES
from massagectl.firmware_bridge.wire_types import (
    PayloadError,
    check_u32,
    decode_fixed,
    decode_scale,
    decode_text,
    encode_scale,
    encode_text,
    from_counts,
    to_counts,
    wire_clock,
)

SEGMENT = struct.Struct("<BIIiiiI")  # channel, start_clock, duration, start, end, amplitude, period
SHOW_TEXT = struct.Struct("<B")  # row; then the text
SET_INTENSITY = struct.Struct("<H")
SET_CHANNEL_MASK = struct.Struct("<I")
STOP = struct.Struct("<B")  # cause
SET_RISE_LIMIT = struct.Struct("<Bi")  # channel, rise per s in thousandths of the unit


def encode_segment(msg: m.ScheduleSegment) -> bytes:
    if not 0 <= msg.channel < MAX_CHANNELS:
        raise ValueError(f"ScheduleSegment.channel: {msg.channel} is not a channel index")
    return SEGMENT.pack(
        msg.channel,
        wire_clock(msg.start_clock, "ScheduleSegment.start_clock"),
        check_u32(msg.duration_ticks, "ScheduleSegment.duration_ticks"),
        to_counts(msg.start_value, "ScheduleSegment.start_value"),
        to_counts(msg.end_value, "ScheduleSegment.end_value"),
        to_counts(msg.amplitude, "ScheduleSegment.amplitude"),
        check_u32(msg.period_ticks, "ScheduleSegment.period_ticks"),
    )


def decode_segment(payload: bytes, offset: int) -> tuple[m.ScheduleSegment, int]:
    channel, start, duration, v0, v1, amplitude, period = decode_fixed(
        SEGMENT, payload, offset, "ScheduleSegment")
    if channel >= MAX_CHANNELS:
        raise PayloadError(f"ScheduleSegment.channel: {channel} is not a channel index")
    message = m.ScheduleSegment(channel, start, duration, from_counts(v0), from_counts(v1),
                                from_counts(amplitude), period)
    return message, offset + SEGMENT.size


def encode_show_text(msg: m.ShowText) -> bytes:
    if not 0 <= msg.row <= 0xFF:
        raise ValueError(f"ShowText.row: {msg.row} is not a row index")
    return SHOW_TEXT.pack(msg.row) + encode_text(msg.text, MAX_TEXT_BYTES, "ShowText.text")


def decode_show_text(payload: bytes, offset: int) -> tuple[m.ShowText, int]:
    (row,) = decode_fixed(SHOW_TEXT, payload, offset, "ShowText")
    text, end = decode_text(payload, offset + SHOW_TEXT.size, MAX_TEXT_BYTES, "ShowText.text")
    return m.ShowText(row, text), end


def encode_intensity(msg: m.SetIntensity) -> bytes:
    return SET_INTENSITY.pack(encode_scale(msg.scale, "SetIntensity.scale"))


def decode_intensity(payload: bytes, offset: int) -> tuple[m.SetIntensity, int]:
    (permille,) = decode_fixed(SET_INTENSITY, payload, offset, "SetIntensity")
    message = m.SetIntensity(decode_scale(permille, "SetIntensity.scale"))
    return message, offset + SET_INTENSITY.size


def encode_mask(msg: m.SetChannelMask) -> bytes:
    return SET_CHANNEL_MASK.pack(check_u32(msg.enabled_mask, "SetChannelMask.enabled_mask"))


def decode_mask(payload: bytes, offset: int) -> tuple[m.SetChannelMask, int]:
    (mask,) = decode_fixed(SET_CHANNEL_MASK, payload, offset, "SetChannelMask")
    return m.SetChannelMask(mask), offset + SET_CHANNEL_MASK.size


def encode_stop(msg: m.Stop) -> bytes:
    return STOP.pack(int(m.HostStopCause(msg.cause)))


def decode_stop(payload: bytes, offset: int) -> tuple[m.Stop, int]:
    (cause,) = decode_fixed(STOP, payload, offset, "Stop")
    # Never refused: a Stop in a refused block would not stop. A cause the board does not know
    # counts as FAULT, the side that latches.
    known = cause == m.HostStopCause.REQUESTED
    return m.Stop(m.HostStopCause.REQUESTED if known else m.HostStopCause.FAULT), offset + STOP.size


def encode_rise_limit(msg: m.SetRiseLimit) -> bytes:
    if not 0 <= msg.channel < MAX_CHANNELS:
        raise ValueError(f"SetRiseLimit.channel: {msg.channel} is not a channel index")
    counts = to_counts(msg.rise_per_s, "SetRiseLimit.rise_per_s")
    if counts <= 0:
        raise ValueError(f"SetRiseLimit.rise_per_s: {msg.rise_per_s} is not above 0 (as "
                         "thousandths of the unit)")
    return SET_RISE_LIMIT.pack(msg.channel, counts)


def decode_rise_limit(payload: bytes, offset: int) -> tuple[m.SetRiseLimit, int]:
    channel, counts = decode_fixed(SET_RISE_LIMIT, payload, offset, "SetRiseLimit")
    if channel >= MAX_CHANNELS:
        raise PayloadError(f"SetRiseLimit.channel: {channel} is not a channel index")
    # 0 or less has no rate a board could slew at: no board reads it, whatever its map.
    if counts <= 0:
        raise PayloadError(f"SetRiseLimit.rise_per_s: {from_counts(counts)} is not above 0")
    return m.SetRiseLimit(channel, from_counts(counts)), offset + SET_RISE_LIMIT.size
