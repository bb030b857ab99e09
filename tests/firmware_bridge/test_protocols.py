"""The two sans-IO endpoints wired together with explicit time: acks, naks, window, timer."""

from __future__ import annotations

import random
from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from massagectl.firmware_bridge import messages as m
from massagectl.firmware_bridge.codec import encode_message
from massagectl.firmware_bridge.device_protocol import DeviceProtocol
from massagectl.firmware_bridge.events import Disposition, HostFrame
from massagectl.firmware_bridge.faults import ByteFaults, FaultCounts, damage_bytes
from massagectl.firmware_bridge.framing import Block, BlockDecoder, encode_block
from massagectl.firmware_bridge.host_protocol import SMALL_BLOCKS_AFTER_LOSS_S, HostProtocol
from massagectl.firmware_bridge.rto import MAX_RTO_S, MIN_RTO_S, RtoEstimator
from massagectl.firmware_bridge.wire import DEVICE_BLOCK_KINDS, MAX_UNACKED_BLOCKS, BlockKind
from tests.firmware_bridge.wire_helpers import blocks_in, events_of

LATENCY_S = 0.002
HEARTBEAT_PERIOD_S = 0.1
STEP_S = 0.001


def _segment(n: int) -> m.ScheduleSegment:
    return m.ScheduleSegment(n % 12, 1_000_000 * n, 500_000, float(n % 30), 1.0)


def synced_pair() -> tuple[HostProtocol, DeviceProtocol]:
    host, board = HostProtocol(), DeviceProtocol()
    host.receive_data(board.send(m.ClockReport(0)), now_s=0.0)
    events_of(host)
    assert host.synced
    return host, board


class Line:
    """Both directions of a serial line with latency and byte faults, stepped by hand."""

    def __init__(self, host, board, faults: ByteFaults, seed: int) -> None:
        self.host, self.board = host, board
        self.faults = faults
        self.rng = random.Random(seed)
        self.counts = FaultCounts()
        self.to_board: deque = deque()
        self.to_host: deque = deque()
        self.now_s = 0.0
        self.executed: list = []
        self.immediate: list = []

    def damage(self, data: bytes) -> bytes:
        return damage_bytes(data, self.faults, self.rng, self.counts)

    def host_writes(self, data: bytes) -> None:
        if data:
            self.to_board.append((self.now_s + LATENCY_S, self.damage(data)))

    def step(self) -> None:
        self.now_s += STEP_S
        while self.to_board and self.to_board[0][0] <= self.now_s:
            self.board.receive_data(self.to_board.popleft()[1])
            accepted = False
            for event in events_of(self.board):
                if isinstance(event, m.Heartbeat):
                    self.to_host.append((self.now_s + LATENCY_S,
                                         self.damage(self.board.send(m.ClockReport(0)))))
                if isinstance(event, HostFrame):
                    accepted = event.disposition is Disposition.ACCEPTED
                elif isinstance(event, m.IMMEDIATE_MESSAGES):
                    self.immediate.append(event)
                elif accepted and isinstance(event, m.HostMessage):
                    self.executed.append(event)
            reply = self.board.data_to_send()
            if reply:
                self.to_host.append((self.now_s + LATENCY_S, self.damage(reply)))
        while self.to_host and self.to_host[0][0] <= self.now_s:
            self.host.receive_data(self.to_host.popleft()[1], self.now_s)
            events_of(self.host)
        self.host_writes(self.host.data_to_send(self.now_s))
        if round(self.now_s / STEP_S) % round(HEARTBEAT_PERIOD_S / STEP_S) == 0:
            self.host_writes(self.host.send(m.Heartbeat(), self.now_s))

    def run_until_idle(self, limit_s: float = 60.0) -> None:
        while not (self.host.idle and not self.to_board and not self.to_host):
            assert self.now_s < limit_s, "the exchange did not finish"
            self.step()


@settings(max_examples=25)
@given(
    seed=st.integers(0, 2**16),
    drop=st.sampled_from([0.0, 0.005, 0.01]),
    corrupt=st.sampled_from([0.0, 0.005, 0.01]),
    duplicate=st.sampled_from([0.0, 0.01]),
)
def test_every_queued_message_is_executed_exactly_once_in_order(seed, drop, corrupt, duplicate):
    host, board = synced_pair()
    line = Line(host, board, ByteFaults(drop=drop, corrupt=corrupt, duplicate=duplicate), seed)
    sent = [_segment(n) for n in range(120)]
    for segment in sent:
        line.host_writes(host.send(segment, line.now_s))
        line.step()
        assert host.in_flight <= MAX_UNACKED_BLOCKS
    line.run_until_idle(limit_s=10.0)
    assert line.executed == sent


@pytest.mark.soak
def test_a_terrible_line_still_delivers_exactly_once():
    host, board = synced_pair()
    line = Line(host, board, ByteFaults(drop=0.03, corrupt=0.03, duplicate=0.01), seed=3)
    sent = [_segment(n) for n in range(120)]
    for segment in sent:
        line.host_writes(host.send(segment, line.now_s))
        line.step()
    line.run_until_idle(limit_s=3600.0)
    assert line.executed == sent


def test_window_holds_eight_blocks_and_immediate_messages_bypass_it():
    host, _ = synced_pair()
    sent = host.send_all([_segment(n) for n in range(40)], now_s=0.0)
    decoder = BlockDecoder(frozenset(BlockKind))
    assert [b.kind for b in blocks_in(decoder, sent)] == [BlockKind.DATA] * MAX_UNACKED_BLOCKS
    assert host.outbox == 40 - 2 * MAX_UNACKED_BLOCKS
    stop = host.send(m.Stop(), now_s=0.001)
    assert blocks_in(decoder, stop) == [Block(BlockKind.IMMEDIATE, 0, b"\x10\x00")]


def test_duplicate_block_is_acked_again_but_not_executed():
    host, board = synced_pair()
    block = host.send(m.Reset(), now_s=0.0)
    board.receive_data(block)
    first = events_of(board)
    board.receive_data(block)
    again = events_of(board)
    assert first == [HostFrame(BlockKind.DATA, 0, Disposition.ACCEPTED), m.Reset()]
    assert again == [HostFrame(BlockKind.DATA, 0, Disposition.DUPLICATE)]
    acks = blocks_in(BlockDecoder(DEVICE_BLOCK_KINDS), board.data_to_send())
    assert acks == [Block(BlockKind.REPORT, 1, b"")] * 2
    assert board.stats.duplicates == 1


def test_a_gap_gets_one_nak_and_one_go_back_n_retransmission():
    host, board = synced_pair()
    blocks = [host.send(_segment(2 * n), now_s=0.0) for n in range(5)]
    for block in blocks[1:]:  # the first is lost
        board.receive_data(block)
    assert [e.disposition for e in events_of(board)] == [Disposition.OUT_OF_ORDER] * 4
    replies = board.data_to_send()
    assert blocks_in(BlockDecoder(DEVICE_BLOCK_KINDS), replies) == [Block(BlockKind.NAK, 0, b"")]
    host.receive_data(replies, now_s=0.01)
    assert host.data_to_send(0.01) == b"".join(blocks)
    assert host.stats.retransmits == 5 and host.stats.naks == 1
    # The retransmission loses the first block again: the board naks once more for this round.
    for block in blocks[1:]:
        board.receive_data(block)
    assert board.stats.naks_sent == 2


def test_bad_bytes_get_one_nak_until_a_block_is_accepted():
    board = DeviceProtocol()
    board.receive_data(b"\x06\x10\x01\x00\x00\x7e" * 3)
    assert board.stats.naks_sent == 1


def test_retransmission_timer_backs_off_and_karns_rule_skips_the_ambiguous_sample():
    host, _ = synced_pair()
    block = host.send(m.Reset(), now_s=0.0)
    first_deadline = host.timer_deadline_s
    assert host.data_to_send(first_deadline - 1e-6) == b""
    assert host.data_to_send(first_deadline) == block
    assert host.rto.rto_s == min(2 * first_deadline, MAX_RTO_S)  # doubled, within its bound
    assert host.data_to_send(host.timer_deadline_s) == block
    host.receive_data(encode_block(BlockKind.REPORT, 1, b""), now_s=2.0)
    assert host.idle and host.timer_deadline_s is None
    assert host.rto.samples == 0 and host.stats.timeouts == 2


def test_acks_outside_the_window_are_stale_and_change_nothing():
    host, _ = synced_pair()
    host.send_all([m.Reset(), m.QueryStatus()], now_s=0.0)
    host.receive_data(encode_block(BlockKind.REPORT, 9, b""), now_s=0.01)
    assert host.in_flight == 1 and host.stats.stale_acks == 1


def test_host_adopts_the_boards_sequence_from_a_clock_report():
    host, board = HostProtocol(), DeviceProtocol()
    board.expected_sequence = 11
    host.receive_data(encode_block(BlockKind.REPORT, 11, b""), now_s=0.0)  # a plain ack: not yet
    assert not host.synced and host.send(m.Identify(), now_s=0.0) == b""
    host.receive_data(board.send(m.ClockReport(5)), now_s=0.0)
    assert host.synced
    [block] = blocks_in(BlockDecoder(frozenset(BlockKind)), host.data_to_send(0.0))
    assert (block.kind, block.sequence) == (BlockKind.DATA, 11)


def test_rto_follows_rfc_6298():
    rto = RtoEstimator()
    rto.sample(0.010)
    assert (rto.srtt_s, rto.rttvar_s) == (0.010, 0.005)
    assert rto.rto_s == 0.030  # SRTT + 4 RTTVAR
    rto.sample(0.002)
    assert rto.rttvar_s == 0.75 * 0.005 + 0.25 * 0.008
    assert rto.srtt_s == 0.875 * 0.010 + 0.125 * 0.002
    for _ in range(50):
        rto.sample(0.0001)
    assert rto.rto_s == MIN_RTO_S
    for _ in range(20):
        rto.backoff()
    assert rto.rto_s == MAX_RTO_S
    rto.sample(0.0001)
    assert rto.rto_s == MIN_RTO_S  # a fresh sample ends the backoff


def test_a_stop_sent_after_the_timer_was_due_resends_no_data_block():
    """Its ack may be waiting unread; the timer's own callback resends once it has run."""
    host, _ = synced_pair()
    block = host.send(m.Reset(), now_s=0.0)
    late_s = host.timer_deadline_s + 0.001
    stop = host.send(m.Stop(), now_s=late_s)
    assert stop == encode_block(BlockKind.IMMEDIATE, 0, encode_message(m.Stop()))
    assert host.send_keepalive(late_s).count(block) == 0
    assert host.data_to_send(late_s) == block  # the timer's turn


def test_after_a_nak_the_host_sends_one_message_a_block_for_a_while():
    host, _board = synced_pair()
    rows = [m.ShowText(0, f"row {n:>16}") for n in range(4)]
    decoder = BlockDecoder(frozenset(BlockKind))
    packed = blocks_in(decoder, host.send_all(rows[:2], now_s=0.0))
    assert len(packed) == 1  # two rows fit one block on a clean line
    host.receive_data(encode_block(BlockKind.NAK, 0, b""), now_s=0.01)  # the block was lost
    host.receive_data(encode_block(BlockKind.REPORT, 1, b""), now_s=0.02)
    *resent, first, second = blocks_in(decoder, host.send_all(rows[2:], now_s=0.03))
    assert [b.payload for b in resent] == [packed[0].payload]  # go-back-N, as it was
    assert [len(b.payload) for b in (first, second)] == [len(encode_message(rows[2]))] * 2
    later = blocks_in(decoder, host.send_all(rows[:2], now_s=0.03 + SMALL_BLOCKS_AFTER_LOSS_S))
    assert len(later) == 1
