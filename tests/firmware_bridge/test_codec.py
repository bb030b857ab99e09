"""Message codec: exact round trips, every split point, and bad payloads reported, not raised."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from massagectl.firmware_bridge import messages as m
from massagectl.firmware_bridge.codec import (
    DEVICE_IDS,
    MESSAGE_IDS,
    PayloadError,
    decode_messages,
    encode_message,
    quantize,
)
from massagectl.firmware_bridge.crc import crc16, crc16_bitwise
from massagectl.firmware_bridge.device_protocol import DeviceProtocol
from massagectl.firmware_bridge.events import BadMessage, HostFrame
from massagectl.firmware_bridge.framing import encode_block
from massagectl.firmware_bridge.host_protocol import HostProtocol
from massagectl.firmware_bridge.wire import (
    MAX_MESSAGES_PER_BLOCK,
    MAX_SENSOR_VALUES_PER_REPORT,
    MAX_TEXT_BYTES,
    READING_MAX,
    READING_MIN,
    BlockKind,
)
from massagectl.routines.device import READING_LIMIT, Sensor, load_device
from tests.firmware_bridge.wire_helpers import device_messages, events_of, host_messages


@given(st.binary(max_size=80))
def test_table_crc_equals_the_bitwise_definition(data):
    assert crc16(data) == crc16_bitwise(data)


def test_every_message_class_has_an_id_and_ids_are_unique():
    assert len(set(MESSAGE_IDS.values())) == len(MESSAGE_IDS) == 20
    assert all(MESSAGE_IDS[c] < 0x80 for c in m.IMMEDIATE_MESSAGES)


@given(host_messages)
def test_host_message_reaches_the_board_whole_at_every_split_point(message):
    kind = BlockKind.IMMEDIATE if isinstance(message, m.IMMEDIATE_MESSAGES) else BlockKind.DATA
    wire = encode_block(kind, 0, encode_message(message))
    for cut in range(len(wire)):
        board = DeviceProtocol()
        board.receive_data(wire[:cut])
        assert events_of(board) == []
        board.receive_data(wire[cut:])
        [frame, received] = events_of(board)
        assert isinstance(frame, HostFrame)
        assert received == message


@given(st.lists(device_messages, min_size=1, max_size=6), st.data())
def test_board_messages_reach_the_host_in_any_chunking(batch, data):
    board = DeviceProtocol()
    wire = board.send_all(batch)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=8)))
    host = HostProtocol()
    received = []
    for start, end in zip([0, *cuts], [*cuts, len(wire)]):
        host.receive_data(wire[start:end], now_s=0.0)
        received += events_of(host)
    assert received == batch


@given(st.lists(device_messages, min_size=1, max_size=4))
def test_byte_at_a_time(batch):
    wire = DeviceProtocol().send_all(batch)
    host = HostProtocol()
    received = []
    for byte in wire:
        host.receive_data(bytes((byte,)), now_s=0.0)
        received += events_of(host)
    assert received == batch


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-2e6, max_value=2e6))
def test_values_quantise_to_thousandths(value):
    assert abs(quantize(value) - value) <= 0.0005 + 1e-9 * abs(value)


@pytest.mark.parametrize(
    "message, field",
    [
        (m.SetIntensity(1.5), "SetIntensity.scale"),
        (m.SetIntensity(math.nan), "SetIntensity.scale"),
        (m.ScheduleSegment(3, 0, 1000, math.inf, 0.0), "start_value"),
        (m.ScheduleSegment(3, 0, 1000, 3e6, 0.0), "start_value"),
        (m.ScheduleSegment(40, 0, 1000, 0.0, 0.0), "channel"),
        (m.ScheduleSegment(3, -1, 1000, 0.0, 0.0), "start_clock"),
        (m.ShowText(0, "x" * (MAX_TEXT_BYTES + 1)), "ShowText.text"),
        (m.SensorReport(0, 0, (0.0,) * (MAX_SENSOR_VALUES_PER_REPORT + 1)), "SensorReport"),
        (m.SetRiseLimit(32, 3.0), "SetRiseLimit.channel"),
        (m.SetRiseLimit(8, 0.0), "SetRiseLimit.rise_per_s"),
        (m.SetRiseLimit(8, -3.0), "SetRiseLimit.rise_per_s"),
        (m.SetRiseLimit(8, 0.0004), "SetRiseLimit.rise_per_s"),  # 0 in thousandths
        (m.SetRiseLimit(8, math.nan), "SetRiseLimit.rise_per_s"),
    ],
)
def test_encoding_refuses_what_the_wire_cannot_carry(message, field):
    with pytest.raises(ValueError, match=field):
        encode_message(message)


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12))
def test_a_reading_beyond_24_bits_arrives_as_the_nearest_limit_still_a_broken_sensor(value):
    report = m.SensorReport(7, 3, (1.5, value, -2.25))
    [decoded] = decode_messages(encode_message(report), DEVICE_IDS)
    limit = READING_MAX / 1000 if value > 0 else READING_MIN / 1000
    expected = quantize(value) if READING_MIN <= round(value * 1000) <= READING_MAX else limit
    assert decoded == m.SensorReport(7, 3, (1.5, expected, -2.25))


def test_one_sensor_report_carries_a_whole_chair_in_one_block():
    report = m.SensorReport(2**32 - 1, 0, tuple(float(i) - 8.5 for i in range(16)))
    block = DeviceProtocol().send_all([report])
    assert len(block) == 5 + 7 + 3 * 16 <= 64
    host = HostProtocol()
    host.receive_data(block, now_s=0.0)
    assert events_of(host) == [report]


def test_clocks_are_sent_modulo_two_to_the_32():
    wire = encode_message(m.ScheduleSegment(0, 2**32 + 5, 1, 0.0, 0.0))
    [decoded] = decode_messages(wire, frozenset({0x02}))
    assert decoded.start_clock == 5


def _bad(payload: bytes, kind=BlockKind.DATA) -> str:
    """Feed a well-framed host block with this payload; return the BadMessage reason."""
    board = DeviceProtocol()
    board.receive_data(encode_block(kind, 0, payload))
    events = events_of(board)
    assert not any(isinstance(e, m.HostMessage) for e in events), "nothing may be acted on"
    [bad] = [e for e in events if isinstance(e, BadMessage)]
    return bad.reason


@pytest.mark.parametrize(
    "payload, reason",
    [
        (b"\x7f", "unknown message id 0x7F"),
        (b"\x10", "not allowed in this block"),  # Stop inside a DATA block
        (b"\x02\x03\x00", "cut short"),
        (b"\x05\x00\x29" + b"a" * 41, "at most 40"),
        (b"\x05\x00\x02\xff\xfe", "not valid UTF-8"),
        (b"\x02" + struct.pack("<BIIiiiI", 40, 0, 1, 0, 0, 0, 0), "not a channel index"),
        (b"\x01" * (MAX_MESSAGES_PER_BLOCK + 1), "more than 16 messages"),
        (b"", "no message"),
        (b"\x01\x7f", "unknown message id"),  # a good message before a bad one: none is used
        (b"\x07" + struct.pack("<Bi", 32, 3000), "SetRiseLimit.channel"),
        (b"\x07" + struct.pack("<Bi", 8, 0), "not above 0"),
        (b"\x07" + struct.pack("<Bi", 8, -3000), "not above 0"),
        (b"\x07" + struct.pack("<Bi", 8, -(2**31)), "not above 0"),
        (b"\x07\x08\xb8\x0b\x00", "SetRiseLimit: cut short"),
    ],
)
def test_bad_payloads_are_reported_and_nothing_is_acted_on(payload, reason):
    assert reason in _bad(payload)


def test_a_rise_limit_travels_as_a_channel_byte_and_thousandths_per_second():
    message = m.SetRiseLimit(8, 3.0)
    assert encode_message(message) == bytes.fromhex("07 08 B8 0B 00 00")
    assert decode_messages(encode_message(message), frozenset({0x07})) == [message]
    # The smallest and the largest rate the wire carries, one thousandth apart from nothing.
    for rate in (0.001, (2**31 - 1) / 1000):
        assert decode_messages(encode_message(m.SetRiseLimit(31, rate)),
                               frozenset({0x07})) == [m.SetRiseLimit(31, rate)]


def test_a_rise_limit_is_queued_never_immediate():
    # Queued, so that it acts before every segment sent after it (hardware.md 4.7).
    payload = b"\x07" + struct.pack("<Bi", 8, 3000)
    assert "not allowed in this block" in _bad(payload, BlockKind.IMMEDIATE)


def test_intensity_above_one_from_the_wire_is_refused():
    assert "above 1.0" in _bad(b"\x11" + struct.pack("<H", 1001), BlockKind.IMMEDIATE)


@pytest.mark.parametrize(
    "payload, reason",
    [
        (b"\x86" + struct.pack("<IBBBHHII", 0, 9, 0, 0, 0, 0, 0, 0), "StatusReport.state"),
        (b"\x85" + struct.pack("<IBB", 0, 0, 18) + b"\x00" * 52, "at most 17"),
        (b"\x85" + struct.pack("<IBB", 0, 60, 5) + b"\x00" * 20, "do not exist"),
        (b"\x81" + struct.pack("<BIHBBBB", 1, 10**6, 64, 33, 0, 4, 20) + b"\x00\x00",
         "channel_count"),
        (b"\x82" + struct.pack("<BBBBiiiIi", 0, 12, 0, 0, 0, 0, 0, 0, 0), "ChannelInfo.kind"),
    ],
)
def test_bad_board_payloads_are_reported_to_the_host(payload, reason):
    host = HostProtocol()
    host.receive_data(encode_block(BlockKind.REPORT, 0, payload), now_s=0.0)
    [bad] = events_of(host)
    assert isinstance(bad, BadMessage) and reason in bad.reason
    assert host.stats.bad_messages == 1


def test_payload_error_is_a_value_error_for_callers_of_the_pure_decoder():
    with pytest.raises(PayloadError):
        decode_messages(b"\x84\x00", DEVICE_IDS)


def test_a_profile_sensor_whose_valid_range_the_wire_would_clip_is_refused():
    assert READING_LIMIT == READING_MAX / 1000 == -(READING_MIN + 1) / 1000
    fields = load_device("chair").sensors[0].model_dump()
    for valid_min, valid_max in [(0.0, 9000.0), (0.0, 8388.607), (0.0, 8388.6066),
                                 (-8388.607, 0.0)]:
        with pytest.raises(ValidationError, match="reaches past what a SensorReport carries"):
            Sensor(**fields | {"valid_min": valid_min, "valid_max": valid_max})
    widest = Sensor(**fields | {"valid_min": -8388.606, "valid_max": 8388.606})
    # Its limits still cross the wire as themselves, short of the saturated readings.
    report = m.SensorReport(0, 0, (widest.valid_min, widest.valid_max, 1e9, -1e9))
    [decoded] = decode_messages(encode_message(report), DEVICE_IDS)
    assert decoded.values == (-8388.606, 8388.606, 8388.607, -8388.608)


def test_the_keepalive_shortcut_writes_and_counts_what_send_would():
    plain, shortcut = HostProtocol(), HostProtocol()
    assert shortcut.send_keepalive(1.0) == plain.send(m.KeepAlive(), 1.0) == bytes.fromhex(
        "06 20 14 2A 6F 7E")  # hardware.md's worked frame
    assert shortcut.stats == plain.stats
