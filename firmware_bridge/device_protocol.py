"""The board's end of the protocol, sans-IO: what firmware (or the simulator) runs per byte.

    receive_data(bytes)           bytes from the host
    next_event()                  HostFrame (feed the watchdog), then the block's host messages;
                                  FrameError, BadMessage; or NEED_DATA
    data_to_send() -> bytes       acks and naks the received bytes called for
    send(message) -> bytes        a REPORT block carrying one board message
    send_all(messages) -> bytes   several board messages, packed into as few blocks as fit

Rules (hardware.md, "Acks, naks and duplicates"):
- DATA block with the expected sequence: its messages are events, the expected sequence moves
  on, an ack goes out. A duplicate (sequence in the 8 before the expected one) is acked again but
  not executed. A block after a gap (sequence in the 7 after the expected one) is dropped.
- A gap or a run of bad bytes gets one nak, then no other until a block is accepted, except
  when the host's retransmission of the gap fails again (a block after the gap arrives that is
  not further on than the last one): one nak per retransmission round, never a storm.
- IMMEDIATE blocks are acted on whatever the sequence state, and never acked.
- A block with a good CRC but a bad payload is acked (a retransmission would be identical) and
  none of its messages is executed: one BadMessage event instead.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from massagectl.firmware_bridge.codec import (
    IMMEDIATE_IDS,
    QUEUED_IDS,
    PayloadError,
    decode_messages,
    encode_message,
    pack_payloads,
)
from massagectl.firmware_bridge.events import (
    NEED_DATA,
    BadMessage,
    Disposition,
    FrameError,
    HostFrame,
)
from massagectl.firmware_bridge.framing import Block, BlockDecoder, encode_block
from massagectl.firmware_bridge.wire import (
    HOST_BLOCK_KINDS,
    MAX_PAYLOAD_BYTES,
    MAX_UNACKED_BLOCKS,
    SEQUENCE_MODULUS,
    BlockKind,
    sequence_distance,
)


@dataclass
class DeviceStats:
    blocks_accepted: int = 0
    payload_bytes_accepted: int = 0  # of accepted DATA blocks: what reached the board once
    immediate_blocks: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    naks_sent: int = 0
    bad_frames: int = 0
    bad_messages: int = 0


class DeviceProtocol:
    """See the module docstring."""

    def __init__(self) -> None:
        self.stats = DeviceStats()
        self._decoder = BlockDecoder(HOST_BLOCK_KINDS)
        self._events: deque = deque()
        self._outgoing = bytearray()
        self.expected_sequence = 0
        self._nak_sent = False
        self._last_gap_ahead: int | None = None  # how far ahead the last out-of-order block was

    def power_on(self) -> None:
        """Forget everything, as a board does when it restarts."""
        self._decoder.clear()
        self._events.clear()
        self._outgoing.clear()
        self.expected_sequence = 0
        self._nak_sent = False
        self._last_gap_ahead = None

    def receive_data(self, data: bytes) -> None:
        self._decoder.feed(data)
        while True:
            error_runs = self._decoder.error_runs
            item = self._decoder.next_item()
            if self._decoder.error_runs != error_runs:
                self._nak()  # at the first bad byte, not when the run is reported
            if item is None:
                return
            if isinstance(item, FrameError):
                self.stats.bad_frames += 1
                self._events.append(item)
            else:
                self._on_block(item)

    def next_event(self):
        if self._events:
            return self._events.popleft()
        return NEED_DATA

    def data_to_send(self) -> bytes:
        out = bytes(self._outgoing)
        self._outgoing.clear()
        return out

    def send(self, message: object) -> bytes:
        return encode_block(BlockKind.REPORT, self.expected_sequence, encode_message(message))

    def send_all(self, messages) -> bytes:
        payloads = pack_payloads([encode_message(x) for x in messages], MAX_PAYLOAD_BYTES)
        sequence = self.expected_sequence
        return b"".join([encode_block(BlockKind.REPORT, sequence, payload) for payload in payloads])

    def _on_block(self, block: Block) -> None:
        if block.kind is BlockKind.IMMEDIATE:
            self.stats.immediate_blocks += 1
            self._events.append(HostFrame(block.kind, 0, Disposition.ACCEPTED))
            self._deliver(block, IMMEDIATE_IDS)
            return
        ahead = sequence_distance(self.expected_sequence, block.sequence)
        if ahead == 0:
            self.stats.blocks_accepted += 1
            self.stats.payload_bytes_accepted += len(block.payload)
            self._nak_sent = False
            self._last_gap_ahead = None
            self.expected_sequence = (self.expected_sequence + 1) % SEQUENCE_MODULUS
            self._ack()
            self._events.append(HostFrame(block.kind, block.sequence, Disposition.ACCEPTED))
            self._deliver(block, QUEUED_IDS)
        elif ahead < SEQUENCE_MODULUS - MAX_UNACKED_BLOCKS:
            self.stats.out_of_order += 1
            self._events.append(HostFrame(block.kind, block.sequence, Disposition.OUT_OF_ORDER))
            if self._last_gap_ahead is not None and ahead <= self._last_gap_ahead:
                self._nak_sent = False  # the host's retransmission lost the gap block again
            self._last_gap_ahead = ahead
            self._nak()
        else:
            self.stats.duplicates += 1
            self._ack()  # the first ack may have been lost
            self._events.append(HostFrame(block.kind, block.sequence, Disposition.DUPLICATE))

    def _deliver(self, block: Block, allowed_ids: frozenset[int]) -> None:
        try:
            found = decode_messages(block.payload, allowed_ids)
            if not found:
                raise PayloadError("a host block with no message")
        except PayloadError as error:
            self.stats.bad_messages += 1
            self._events.append(BadMessage(str(error), block.kind, block.payload))
            return
        self._events.extend(found)

    def _ack(self) -> None:
        self._outgoing += encode_block(BlockKind.REPORT, self.expected_sequence, b"")

    def _nak(self) -> None:
        if self._nak_sent:
            return
        self._nak_sent = True
        self.stats.naks_sent += 1
        self._outgoing += encode_block(BlockKind.NAK, self.expected_sequence, b"")
