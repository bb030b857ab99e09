"""The worked example frames of hardware.md, checked against the codec in both directions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from massagectl.firmware_bridge import messages
from massagectl.firmware_bridge.codec import (
    DEVICE_IDS,
    IMMEDIATE_IDS,
    QUEUED_IDS,
    decode_messages,
    encode_message,
)
from massagectl.firmware_bridge.crc import CRC_CHECK_VALUE, crc16
from massagectl.firmware_bridge.device_protocol import DeviceProtocol
from massagectl.firmware_bridge.events import HostFrame
from massagectl.firmware_bridge.framing import Block, BlockDecoder, encode_block
from massagectl.firmware_bridge.host_protocol import HostProtocol
from massagectl.firmware_bridge.wire import DEVICE_BLOCK_KINDS, HOST_BLOCK_KINDS, BlockKind
from massagectl.routines.device import ChannelKind, SensorKind, Unit, Zone
from tests.firmware_bridge.wire_helpers import events_of

HARDWARE_MD = Path(__file__).resolve().parents[2] / "hardware.md"
NAMESPACE = {
    **{name: getattr(messages, name) for name in dir(messages) if not name.startswith("_")},
    "ChannelKind": ChannelKind, "SensorKind": SensorKind, "Unit": Unit, "Zone": Zone,
}


def _examples() -> list[dict[str, str]]:
    text = HARDWARE_MD.read_text(encoding="utf-8")
    found = []
    for body in re.findall(r"```frame\n(.*?)```", text, flags=re.DOTALL):
        fields = dict(line.split(": ", 1) for line in body.strip().splitlines())
        found.append(fields)
    return found


EXAMPLES = _examples()


def test_hardware_md_has_at_least_five_examples_covering_both_directions():
    assert len(EXAMPLES) >= 5
    assert {e["direction"] for e in EXAMPLES} == {"host -> board", "board -> host"}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e["messages"][:40])
def test_example_encodes_and_decodes_exactly(example):
    kind_name, sequence = example["block"].split()
    kind = BlockKind[kind_name]
    expected = eval(example["messages"], NAMESPACE)  # our own document, not wire input
    wire = bytes.fromhex(example["hex"])
    payload = b"".join(encode_message(message) for message in expected)
    assert encode_block(kind, int(sequence), payload) == wire

    accepted = HOST_BLOCK_KINDS if example["direction"] == "host -> board" else DEVICE_BLOCK_KINDS
    decoder = BlockDecoder(accepted)
    decoder.feed(wire)
    block = decoder.next_item()
    assert block == Block(kind, int(sequence), payload)
    allowed = {BlockKind.DATA: QUEUED_IDS, BlockKind.IMMEDIATE: IMMEDIATE_IDS}.get(kind, DEVICE_IDS)
    assert decode_messages(block.payload, allowed) == expected


@pytest.mark.parametrize(
    "example", [e for e in EXAMPLES if e["direction"] == "host -> board"],
    ids=lambda e: e["messages"][:40],
)
def test_board_endpoint_acts_on_host_examples(example):
    board = DeviceProtocol()
    _kind_name, sequence = example["block"].split()
    board.expected_sequence = int(sequence)
    board.receive_data(bytes.fromhex(example["hex"]))
    [frame, *received] = events_of(board)
    assert isinstance(frame, HostFrame)
    assert received == eval(example["messages"], NAMESPACE)


def test_host_endpoint_reads_board_examples():
    for example in EXAMPLES:
        if example["direction"] != "board -> host":
            continue
        host = HostProtocol()
        host.receive_data(bytes.fromhex(example["hex"]), now_s=0.0)
        assert events_of(host) == eval(example["messages"], NAMESPACE)


def test_crc_check_value():
    assert crc16(b"123456789") == CRC_CHECK_VALUE == 0x29B1
    assert "0x29B1" in HARDWARE_MD.read_text(encoding="utf-8")
