"""Messages <-> block payload bytes: one id byte, then the message's fixed-width fields.

Pure functions, no I/O. Encoding refuses values the wire cannot carry (ValueError: a bug in the
caller, never a wire condition). Decoding raises PayloadError, which the protocol endpoints turn
into a BadMessage event; it never yields NaN or infinity, because every value on the wire is an
integer (thousandths of the unit, see wire_types). The layouts are in host_layouts.py and
board_layouts.py; hardware.md lists every one.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from typing import Any

from massagectl.firmware_bridge import board_layouts as board
from massagectl.firmware_bridge import host_layouts as host
from massagectl.firmware_bridge import messages as m
from massagectl.firmware_bridge.wire import MAX_MESSAGES_PER_BLOCK
from massagectl.firmware_bridge.wire_types import PayloadError, from_counts, quantize, to_counts

__all__ = [
    "DEVICE_IDS", "IMMEDIATE_IDS", "MESSAGE_IDS", "QUEUED_IDS", "PayloadError",
    "decode_messages", "encode_message", "from_counts", "pack_payloads", "quantize", "to_counts",
]

Message = m.HostMessage | m.DeviceMessage
# An encoder takes a message of its own class only; a table keyed by class cannot say which, so
# the table's encoders take Any and encode_message looks each one up by its message's class.
Encoder = Callable[[Any], bytes]
Decoder = Callable[[bytes, int], tuple[Message, int]]


def _no_fields(cls: Callable[[], Message]) -> tuple[Encoder, Decoder]:
    instance = cls()
    return (lambda message: b""), (lambda payload, offset: (instance, offset))


# message class: (id, encoder, decoder)
_LAYOUTS: dict[type, tuple[int, Encoder, Decoder]] = {
    m.Identify: (0x01, *_no_fields(m.Identify)),
    m.ScheduleSegment: (0x02, host.encode_segment, host.decode_segment),
    m.Reset: (0x03, *_no_fields(m.Reset)),
    m.QueryStatus: (0x04, *_no_fields(m.QueryStatus)),
    m.ShowText: (0x05, host.encode_show_text, host.decode_show_text),
    m.ClearFault: (0x06, *_no_fields(m.ClearFault)),
    m.SetRiseLimit: (0x07, host.encode_rise_limit, host.decode_rise_limit),
    m.Stop: (0x10, host.encode_stop, host.decode_stop),
    m.SetIntensity: (0x11, host.encode_intensity, host.decode_intensity),
    m.SetChannelMask: (0x12, host.encode_mask, host.decode_mask),
    m.Heartbeat: (0x13, *_no_fields(m.Heartbeat)),
    m.KeepAlive: (0x14, *_no_fields(m.KeepAlive)),
    m.DeviceInfo: (0x81, board.encode_device_info, board.decode_device_info),
    m.ChannelInfo: (0x82, board.encode_channel_info, board.decode_channel_info),
    m.SensorInfo: (0x83, board.encode_sensor_info, board.decode_sensor_info),
    m.ClockReport: (0x84, board.encode_clock_report, board.decode_clock_report),
    m.SensorReport: (0x85, board.encode_sensor_report, board.decode_sensor_report),
    m.StatusReport: (0x86, board.encode_status, board.decode_status),
    m.KeyPress: (0x87, board.encode_key, board.decode_key),
    m.FaultReport: (0x88, board.encode_fault, board.decode_fault),
}

MESSAGE_IDS: dict[type, int] = {cls: layout[0] for cls, layout in _LAYOUTS.items()}
_ENCODERS = {cls: (bytes((message_id,)), encode) for cls, (message_id, encode, _) in
             _LAYOUTS.items()}
_DECODERS: dict[int, Decoder] = {message_id: decode for message_id, _, decode in
                                 _LAYOUTS.values()}

QUEUED_IDS = frozenset(MESSAGE_IDS[c] for c in (m.Identify, m.ScheduleSegment, m.Reset,
                                                  m.QueryStatus, m.ShowText, m.ClearFault,
                                                  m.SetRiseLimit))
IMMEDIATE_IDS = frozenset(MESSAGE_IDS[c] for c in m.IMMEDIATE_MESSAGES)
DEVICE_IDS = frozenset(i for i in MESSAGE_IDS.values() if i >= 0x80)


def encode_message(message: object) -> bytes:
    """One message: id byte plus fields. ValueError if a field does not fit the wire."""
    kind = type(message)
    try:
        message_id, encode = _ENCODERS[kind]
    except KeyError:
        raise ValueError(f"{kind.__name__} is not a protocol message") from None
    try:
        return message_id + encode(message)
    except struct.error as error:
        raise ValueError(f"{kind.__name__}: a field does not fit its wire type ({error})") from None


def decode_messages(payload: bytes, allowed_ids: frozenset[int]) -> list[Message]:
    """All messages of one block payload, or PayloadError: a block is used whole or not at all."""
    found: list[Message] = []
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
