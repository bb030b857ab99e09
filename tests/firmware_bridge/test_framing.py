"""Finding blocks in damaged bytes: the decoder never raises and finds every good block."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from massagectl.firmware_bridge import messages as m
from massagectl.firmware_bridge.codec import encode_message
from massagectl.firmware_bridge.device_protocol import DeviceProtocol
from massagectl.firmware_bridge.events import BadMessage, FrameError, HostFrame
from massagectl.firmware_bridge.framing import Block, BlockDecoder, encode_block
from massagectl.firmware_bridge.host_protocol import HostProtocol
from massagectl.firmware_bridge.wire import (
    DEVICE_BLOCK_KINDS,
    HOST_BLOCK_KINDS,
    MAX_BLOCK_BYTES,
    BlockKind,
)
from tests.firmware_bridge.wire_helpers import blocks_in, device_messages, events_of


def _report(message) -> bytes:
    return encode_block(BlockKind.REPORT, 3, encode_message(message))


@given(st.binary(max_size=600), st.integers(1, 64))
def test_random_bytes_never_raise_and_memory_stays_bounded(noise, chunk):
    decoder = BlockDecoder(DEVICE_BLOCK_KINDS)
    for start in range(0, len(noise), chunk):
        decoder.feed(noise[start : start + chunk])
        while decoder.next_item() is not None:
            pass
        assert len(decoder._junk) < MAX_BLOCK_BYTES
        assert len(decoder._buffer) - decoder._position < MAX_BLOCK_BYTES + chunk


@given(st.lists(st.tuples(st.binary(max_size=70), device_messages), min_size=1, max_size=6),
       st.binary(max_size=70))
def test_every_block_embedded_in_noise_is_found(pieces, tail):
    stream = bytearray()
    expected = []
    for noise, message in pieces:
        stream += noise
        block = _report(message)
        stream += block
        expected.append(block)
    stream += tail
    found = blocks_in(BlockDecoder(DEVICE_BLOCK_KINDS), bytes(stream))
    assert [encode_block(b.kind, b.sequence, b.payload) for b in found] == expected


def test_a_block_cut_short_does_not_delay_the_stop_behind_it():
    segment = encode_block(BlockKind.DATA, 0, encode_message(m.ScheduleSegment(1, 0, 9, 1, 2)))
    stop = encode_block(BlockKind.IMMEDIATE, 0, encode_message(m.Stop()))
    cut = segment[:5] + segment[-1:]  # 25 bytes lost on the line
    decoder = BlockDecoder(HOST_BLOCK_KINDS)
    decoder.feed(cut + stop)
    error = decoder.next_item()
    assert isinstance(error, FrameError) and error.discarded == cut
    assert decoder.next_item() == Block(BlockKind.IMMEDIATE, 0, b"\x10\x00")


def test_a_corrupt_byte_costs_one_block_and_one_counted_error():
    blocks = [_report(m.ClockReport(n)) for n in range(3)]
    damaged = bytearray(blocks[1])
    damaged[4] ^= 0x40
    decoder = BlockDecoder(DEVICE_BLOCK_KINDS)
    decoder.feed(blocks[0] + bytes(damaged) + blocks[2])
    items = []
    while (item := decoder.next_item()) is not None:
        items.append(item)
    assert [type(i) for i in items] == [Block, FrameError, Block]
    assert items[1].discarded == bytes(damaged)
    assert decoder.error_runs == 1


def test_blocks_of_the_other_direction_are_not_accepted():
    stop = encode_block(BlockKind.IMMEDIATE, 0, b"\x10")
    decoder = BlockDecoder(DEVICE_BLOCK_KINDS)
    decoder.feed(stop)
    assert decoder.next_item() is None  # held as junk until a good block or 64 bytes
    assert decoder.flush_junk().reason == "unexpected block kind"


@given(st.lists(st.tuples(st.sampled_from(list(BlockKind)), st.integers(0, 15),
                          st.binary(max_size=59)), max_size=8), st.binary(max_size=40))
def test_endpoints_never_raise_on_well_framed_garbage(blocks, noise):
    """Good CRCs around random payloads: every one is a message or a BadMessage, never a crash."""
    wire = noise + b"".join(encode_block(kind, sequence, payload)
                            for kind, sequence, payload in blocks)
    board = DeviceProtocol()
    board.receive_data(wire)
    board_events = events_of(board)
    host = HostProtocol()
    host.receive_data(wire, now_s=0.0)
    host_events = events_of(host)
    allowed = (FrameError, BadMessage, HostFrame, *m.IMMEDIATE_MESSAGES)
    for event in board_events + host_events:
        assert isinstance(event, (allowed, m.HostMessage | m.DeviceMessage))
