"""The host's end of the protocol, sans-IO: sequencing, window, acks, naks and retransmission.

    receive_data(bytes, now_s)    bytes from the board; acks are processed at once
    next_event()                  a DeviceMessage, FrameError, BadMessage, or NEED_DATA
    send(message, now_s) -> bytes immediate messages: a block to write now; queued messages:
                                  whatever the window lets out now (the rest waits in the outbox)
    data_to_send(now_s) -> bytes  blocks the window, a nak or an expired timer released
    timer_deadline_s              when data_to_send() must be called again (None: no timer)
    last_damage_s                 when the line last showed damage (None: never)

Time is passed in (`now_s`, host seconds from the caller's clock), so the retransmission timer
(rto.py) is tested without any event loop. Round-trip samples come from acks of blocks sent
once (Karn's rule) and from Heartbeat -> ClockReport echoes, which are never retransmitted: on
a noisy line, where most blocks go twice, the echoes keep the estimate alive. The last echo is
kept in `last_echo` (sent_s, received_s, clock) for the clock synchronisation.

Sequence numbers are 4 bits; the board's next expected sequence arrives in every board block,
and the first board block that carries a ClockReport after `begin_sync()` sets the host's
sequence to it (the link sends a Heartbeat to get one), so a host that restarts meets a board
that did not.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from massagectl.firmware_bridge import messages as m
from massagectl.firmware_bridge.codec import (
    DEVICE_IDS,
    PayloadError,
    decode_messages,
    encode_message,
    pack_payloads,
)
from massagectl.firmware_bridge.events import NEED_DATA, BadMessage, FrameError
from massagectl.firmware_bridge.framing import Block, BlockDecoder, encode_block
from massagectl.firmware_bridge.rto import RtoEstimator
from massagectl.firmware_bridge.wire import (
    DEVICE_BLOCK_KINDS,
    MAX_PAYLOAD_BYTES,
    MAX_UNACKED_BLOCKS,
    SEQUENCE_MODULUS,
    BlockKind,
    sequence_distance,
)

# Queued messages waiting for the window. The board holds at most its queue capacity of
# segments, so a caller with more than this waiting is not pacing itself (a bug), not a burst.
MAX_OUTBOX_MESSAGES = 256
# After a NAK or a timeout the host sends one message a block for this long: a damaged line
# eats long blocks far more often than short ones, and go-back-N resends every block in flight.
SMALL_BLOCKS_AFTER_LOSS_S = 2.0
# Immediate blocks carry no sequence number, so the most frequent one is the same bytes every time.
KEEPALIVE_BLOCK = encode_block(BlockKind.IMMEDIATE, 0, encode_message(m.KeepAlive()))


@dataclass(slots=True)
class _InFlight:
    sequence: int
    block: bytes
    sent_s: float
    retransmitted: bool = False


@dataclass
class HostStats:
    """Counters a person can read to judge the line (the link shows them as link.counters)."""

    blocks_sent: int = 0  # new sequenced blocks, not counting retransmissions
    blocks_acked: int = 0
    immediate_blocks: int = 0
    retransmits: int = 0  # blocks sent again, on a nak or a timeout
    timeouts: int = 0  # retransmission timer expiries
    naks: int = 0
    bad_frames: int = 0  # runs of dropped bytes
    bad_messages: int = 0  # good blocks whose payload did not parse
    stale_acks: int = 0  # acks outside the window: late duplicates, or a board that restarted
    blocks_received: int = 0  # good board blocks (acks, naks, reports)
    bytes_in: int = 0
    bytes_out: int = 0


class HostProtocol:
    """See the module docstring."""

    def __init__(self, *, window_blocks: int = MAX_UNACKED_BLOCKS) -> None:
        if not 1 <= window_blocks <= MAX_UNACKED_BLOCKS:
            raise ValueError(f"window_blocks must be 1..{MAX_UNACKED_BLOCKS}")
        self.window_blocks = window_blocks
        self.rto = RtoEstimator()
        self.stats = HostStats()
        self._decoder = BlockDecoder(DEVICE_BLOCK_KINDS)
        self._events: deque = deque()
        self._outbox: deque[bytes] = deque()
        self._in_flight: deque[_InFlight] = deque()
        self._pending = bytearray()  # retransmissions released by a nak
        self._last_loss_s: float | None = None  # the latest NAK or timeout
        self._last_bad_frame_s: float | None = None  # the latest damaged bytes from the board
        self._last_unanswered_s: float | None = None  # the latest heartbeat found unanswered
        self._next_sequence = 0
        self._deadline_s: float | None = None
        self._heartbeat_sent_s: float | None = None
        self.last_echo: tuple[float, float, int] | None = None
        self.synced = False

    # --- state -------------------------------------------------------------------------------

    @property
    def timer_deadline_s(self) -> float | None:
        return self._deadline_s

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    @property
    def outbox(self) -> int:
        return len(self._outbox)

    @property
    def oldest_unacked_sent_s(self) -> float | None:
        """When the oldest block still waiting for its ack was first sent."""
        return self._in_flight[0].sent_s if self._in_flight else None

    @property
    def last_damage_s(self) -> float | None:
        """When the line last showed damage: bytes from the board that were no block (once the
        sequence is synced: a port opened mid-block starts with some), a NAK, a timeout, or a
        heartbeat still unanswered when the next one went out."""
        times = [t for t in (self._last_loss_s, self._last_bad_frame_s, self._last_unanswered_s)
                 if t is not None]
        return max(times) if times else None

    @property
    def idle(self) -> bool:
        """Every queued message was sent and acked."""
        return not self._in_flight and not self._outbox

    @property
    def can_queue(self) -> bool:
        return len(self._outbox) < MAX_OUTBOX_MESSAGES

    def begin_sync(self) -> int:
        """Forget the sequence state (new connection); returns the queued messages dropped."""
        dropped = len(self._outbox) + len(self._in_flight)
        self._outbox.clear()
        self._in_flight.clear()
        self._pending.clear()
        self._deadline_s = None
        self._decoder.clear()
        self._events.clear()
        self.synced = False
        return dropped

    # --- sending -----------------------------------------------------------------------------

    def send(self, message: object, now_s: float) -> bytes:
        return self.send_all((message,), now_s)

    def send_keepalive(self, now_s: float) -> bytes:
        """send(KeepAlive()), between Heartbeats, without encoding it each time."""
        self.stats.immediate_blocks += 1
        self.stats.bytes_out += len(KEEPALIVE_BLOCK)
        return KEEPALIVE_BLOCK + self._to_send(now_s, timer=False)

    def send_all(self, messages: tuple | list, now_s: float) -> bytes:
        """Immediate messages go out at once, packed, ahead of anything queued."""
        immediate = [encode_message(x) for x in messages if isinstance(x, m.IMMEDIATE_MESSAGES)]
        queued = [encode_message(x) for x in messages if not isinstance(x, m.IMMEDIATE_MESSAGES)]
        if len(self._outbox) + len(queued) > MAX_OUTBOX_MESSAGES:
            raise BufferError(f"more than {MAX_OUTBOX_MESSAGES} messages waiting to be sent")
        if any(isinstance(x, m.Heartbeat) for x in messages):
            if self._heartbeat_sent_s is not None and self.synced:
                # The last one went unanswered: it or its answer was lost (the board answers
                # within milliseconds, and heartbeats go out a clock-sample period apart).
                self._last_unanswered_s = now_s
            # A second heartbeat before the first was answered makes the pairing ambiguous.
            self._heartbeat_sent_s = None if self._heartbeat_sent_s is not None else now_s
        out = bytearray()
        for payload in pack_payloads(immediate, MAX_PAYLOAD_BYTES):
            out += encode_block(BlockKind.IMMEDIATE, 0, payload)
            self.stats.immediate_blocks += 1
        self.stats.bytes_out += len(out)
        self._outbox.extend(queued)
        # New blocks and what a NAK released, but no retransmission for the timer: its acks may
        # be waiting unread (a Stop sent from a callback must not resend acked blocks); the
        # timer's own callback sends them once it is due and what arrived has been read.
        out += self._to_send(now_s, timer=False)
        return bytes(out)

    def data_to_send(self, now_s: float) -> bytes:
        """Retransmissions due and new blocks the window allows, in the order to write them."""
        return bytes(self._to_send(now_s, timer=True))

    def _to_send(self, now_s: float, timer: bool) -> bytearray:
        out = self._pending
        self._pending = bytearray()
        if (timer and self._deadline_s is not None and now_s >= self._deadline_s
                and self._in_flight):
            self.stats.timeouts += 1
            self._last_loss_s = now_s
            self.rto.backoff()
            out += self._retransmit_all(now_s)
        out += self._fill_window(now_s)
        return out

    handle_timer = data_to_send

    def _fill_window(self, now_s: float) -> bytearray:
        out = bytearray()
        if not self.synced:
            return out
        # After a loss, one message a block for a while: on a line that damages 2 % of its
        # bytes a 31-byte block arrives with probability 0.53, a full 64-byte one 0.27.
        limit = (0 if self._last_loss_s is not None
                 and now_s - self._last_loss_s < SMALL_BLOCKS_AFTER_LOSS_S else MAX_PAYLOAD_BYTES)
        while self._outbox and len(self._in_flight) < self.window_blocks:
            chunks = [self._outbox.popleft()]
            size = len(chunks[0])
            while self._outbox and size + len(self._outbox[0]) <= limit:
                size += len(self._outbox[0])
                chunks.append(self._outbox.popleft())
            [payload] = pack_payloads(chunks, MAX_PAYLOAD_BYTES)
            block = encode_block(BlockKind.DATA, self._next_sequence, payload)
            self._in_flight.append(_InFlight(self._next_sequence, block, now_s))
            self._next_sequence = (self._next_sequence + 1) % SEQUENCE_MODULUS
            self.stats.blocks_sent += 1
            out += block
            if self._deadline_s is None:
                self._deadline_s = now_s + self.rto.rto_s
        self.stats.bytes_out += len(out)
        return out

    def _retransmit_all(self, now_s: float) -> bytearray:
        # Go-back-N: the board drops every block after a gap, so all of them must go again.
        out = bytearray()
        for entry in self._in_flight:
            entry.retransmitted = True
            out += entry.block
        self.stats.retransmits += len(self._in_flight)
        self.stats.bytes_out += len(out)
        self._deadline_s = now_s + self.rto.rto_s
        return out

    # --- receiving ---------------------------------------------------------------------------

    def receive_data(self, data: bytes, now_s: float) -> None:
        self.stats.bytes_in += len(data)
        self._decoder.feed(data)
        while (item := self._decoder.next_item()) is not None:
            if isinstance(item, FrameError):
                self.stats.bad_frames += 1
                if self.synced:
                    self._last_bad_frame_s = now_s
                self._events.append(item)
            else:
                self._on_block(item, now_s)

    def next_event(self):
        if self._events:
            return self._events.popleft()
        return NEED_DATA

    def _on_block(self, block: Block, now_s: float) -> None:
        self.stats.blocks_received += 1
        found: list = []
        if block.kind is BlockKind.REPORT:
            try:
                found = decode_messages(block.payload, DEVICE_IDS)
            except PayloadError as error:
                self.stats.bad_messages += 1
                self._events.append(BadMessage(str(error), block.kind, block.payload))
            clock = next((x.clock for x in found if isinstance(x, m.ClockReport)), None)
            if clock is not None:
                self._on_echo(clock, now_s)
                if not self.synced:
                    self._next_sequence = block.sequence
                    self.synced = True
        if self.synced:
            progressed = self._on_ack(block.sequence, now_s)
            if block.kind is BlockKind.NAK:
                self.stats.naks += 1
                self._last_loss_s = now_s
                if progressed is not None:
                    self._on_nak(block.sequence, now_s)
        self._events.extend(found)

    def _on_echo(self, clock: int, now_s: float) -> None:
        sent_s, self._heartbeat_sent_s = self._heartbeat_sent_s, None
        if sent_s is not None:
            self.last_echo = (sent_s, now_s, clock)
            self.rto.sample(now_s - sent_s)

    def _on_ack(self, expected: int, now_s: float) -> int | None:
        """Drop the blocks the board has; None if `expected` is outside the window."""
        if not self._in_flight:
            if expected != self._next_sequence:
                self.stats.stale_acks += 1
                return None
            return 0
        acked = sequence_distance(self._in_flight[0].sequence, expected)
        if acked > len(self._in_flight):
            self.stats.stale_acks += 1
            return None
        if acked:
            for _ in range(acked - 1):
                self._in_flight.popleft()
            newest = self._in_flight.popleft()
            if not newest.retransmitted:  # Karn's rule: a resent block's ack is ambiguous
                self.rto.sample(now_s - newest.sent_s)
            else:
                self.rto.progress()
            self.stats.blocks_acked += acked
            self._deadline_s = now_s + self.rto.rto_s if self._in_flight else None
        return acked

    def _on_nak(self, expected: int, now_s: float) -> None:
        # The board naks once per gap and retransmission round, so answering every nak cannot
        # turn into a storm; waiting for the timer instead would cost a backed-off RTO per loss.
        if self._in_flight:
            self._pending += self._retransmit_all(now_s)
