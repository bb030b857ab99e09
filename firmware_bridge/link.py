"""The host link: the protocol running over a transport on the asyncio loop.

    link = await Link.open("/dev/serial/by-id/usb-...", profile)   # handshake included
    link.identity, link.clock, link.status, link.counters
    await link.schedule(ScheduleSegment(...))    # waits for the window, then sends
    link.send_immediate(Stop())                  # written before it returns
    link.set_rise_limits({8: 3.0})               # SetRiseLimit now and after every handshake
    remove = link.add_listener(callback)         # every DeviceMessage received
    await link.hold_safe()                       # Stop, confirmed safe, Reset: READY and safe
                                                 # (one at a time; stay_stopped= skips Reset)
    link.board_fault                             # the cause of a fault latched on the board
    await link.clear_board_fault()               # ClearFault, then Reset: READY and safe
    await link.wait_lost(); await link.reconnect()
    await link.close()                           # the board's watchdog trips within 500 ms

Opening does: sequence sync (a Heartbeat's ClockReport), Identify and the map check (a board
that differs from the profile is refused, naming each difference), clock samples, then a safe
start: Stop, wait for SHUTDOWN, Reset, wait for READY with every output safe; then the rise
limits last set (`set_rise_limits`: a board forgets them when it restarts). So every session
starts from the safe state, whatever the board did before (`initial_status` keeps that). A board
holding a latched fault stays in SHUTDOWN through the Reset: the link connects (so the fault can
be shown and cleared) and `board_fault` names it; `hold_safe()` then refuses to start.

While connected, watchdog frames feed the board's watchdog where nothing else would
(watchdog_pace.py): on a clean line one when nothing was written for 125 ms, on a line that
showed damage one every 50 ms. Twice a second the frame is a Heartbeat, whose ClockReport feeds
the clock sync; the others are KeepAlives, which the board does not answer. The link is lost
when the board is silent for `silence_limit_s`, when a block stays unacked for ACK_LIMIT_S, when
the port vanishes, when the board restarted (a POWER_ON status or a jump of its clock), or when
handling what it sent fails (a bug must not leave the board running unwatched). All timing
uses loop.time(), so the link runs on the virtual-time loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from enum import Enum

from massagectl.firmware_bridge import messages as m
from massagectl.firmware_bridge.clock import ClockSync
from massagectl.firmware_bridge.codec import encode_message
from massagectl.firmware_bridge.counters import LinkCounters
from massagectl.firmware_bridge.events import NEED_DATA, BadMessage, FrameError
from massagectl.firmware_bridge.fanout import MessageFanout
from massagectl.firmware_bridge.host_protocol import HostProtocol
from massagectl.firmware_bridge.identity import (
    DEFAULT_CLOCK_HZ,
    DeviceIdentity,
    IdentityCollector,
    map_differences,
)
from massagectl.firmware_bridge.intent import ImmediateIntent
from massagectl.firmware_bridge.segment_check import segment_problems
from massagectl.firmware_bridge.serial_transport import DEFAULT_BAUD, SerialTransport
from massagectl.firmware_bridge.transport import Transport
from massagectl.firmware_bridge.watchdog_pace import (
    CLEAN_PERIOD_S,
    GUARDED_PERIOD_S,
    TICK_SLACK_S,
    Frame,
    WatchdogPace,
)
from massagectl.firmware_bridge.wire import PROTOCOL_VERSION, SILENCE_LIMIT_S
from massagectl.routines.device import DeviceProfile
from massagectl.routines.errors import (
    FaultLatchedError,
    HandshakeError,
    LinkLostError,
    PortError,
    RefusedError,
)

log = logging.getLogger(__name__)

ACK_LIMIT_S = 2.0  # a block unacked this long despite retransmissions: the board is not listening
HANDSHAKE_TIMEOUT_S = 2.0  # sync, identify and safe start each get this long
HANDSHAKE_RETRY_S = 0.25  # re-ask (Heartbeat, Identify, QueryStatus) this often while waiting
HANDSHAKE_PATIENCE = 5  # a long answer still arriving in parts may take up to 5 timeouts
AHEAD_WINDOW_S = 2.0  # segments go out at most this far ahead of their start
MIN_LEAD_S = 0.1  # and at least this far: later ones are counted late (still sent at once)
# A heartbeat answer further than this from the clock estimate (beyond the round trip) means
# the board's clock started again: it restarted.
CLOCK_JUMP_LIMIT_S = 0.05
# A segment this close to the window's edge is inside it: waiting less than a board tick would
# wake the loop without its clock moving on (the loop's clock resolution swallows it).
WINDOW_SLACK_S = 1e-6
WAIT_STEP_S = 0.05  # re-check a waiting schedule() this often (window, queue room, loss)
RECONNECT_RETRY_S = 0.5

Opener = Callable[[], Awaitable[Transport]]


class LinkState(Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    LOST = "lost"
    CLOSED = "closed"


def opener_for(
    target: str | Transport | Opener, baud: int
) -> tuple[Opener | None, Transport | None]:
    """How to (re)open `target`: a URL or a factory can be reopened; a transport cannot."""
    if isinstance(target, Transport):
        return None, target
    if isinstance(target, str):
        async def open_url() -> Transport:
            return SerialTransport.open(target, baud=baud)
        return open_url, None
    return target, None


class Link:
    """See the module docstring. Create with `await Link.open(...)`."""

    def __init__(self, profile: DeviceProfile, *, opener: Opener | None = None,
                 heartbeat_period_s: float = GUARDED_PERIOD_S,
                 clean_period_s: float | None = CLEAN_PERIOD_S,
                 silence_limit_s: float = SILENCE_LIMIT_S,
                 handshake_timeout_s: float = HANDSHAKE_TIMEOUT_S,
                 ahead_window_s: float = AHEAD_WINDOW_S, min_lead_s: float = MIN_LEAD_S,
                 safe_start: bool = True) -> None:
        self.profile = profile
        self.heartbeat_period_s = heartbeat_period_s  # watchdog frames on a damaged line
        # ... and on a clean one, when nothing else was written (None: always the former)
        self._pace = WatchdogPace(guarded_period_s=heartbeat_period_s,
                                  clean_period_s=clean_period_s)
        self.silence_limit_s = silence_limit_s
        self.handshake_timeout_s = handshake_timeout_s
        self.ahead_window_s = ahead_window_s
        self.min_lead_s = min_lead_s
        self.safe_start = safe_start
        self.state = LinkState.CONNECTING
        self.lost_reason: str | None = None
        self.board_restarted = False  # the link was lost because the board restarted
        self.restart_detail = ""  # how the restart showed
        self.identity: DeviceIdentity | None = None
        self.status: m.StatusReport | None = None
        self.initial_status: m.StatusReport | None = None
        self.clock = ClockSync(DEFAULT_CLOCK_HZ)
        self.protocol = HostProtocol()
        self._opener = opener
        self._transport: Transport | None = None
        self._loop = asyncio.get_running_loop()
        self._counts = LinkCounters()
        self._reader: asyncio.Task | None = None
        self._heartbeat: asyncio.TimerHandle | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_due_s: float | None = None
        self._last_heard_s = 0.0
        self._collector: IdentityCollector | None = None
        self._changed = asyncio.Event()
        self._lost = asyncio.Event()
        self._last_by_type: dict[type, object] = {}
        self._segment_ends_s: deque[float] = deque()
        self._fanout = MessageFanout()
        self._intent = ImmediateIntent()
        self._status_reports = 0  # StatusReports received: "a report since" without clearing
        self._clock_reports = 0  # ClockReports received, answers to a Heartbeat paired or not
        self._connections = 0  # handshakes begun: a wait of an older one ends
        self._safe_lock = asyncio.Lock()  # one hold_safe or clear_board_fault at a time
        # Per channel index, the rise rate SetRiseLimit gives the board (hardware.md 4.7).
        self.rise_limits: dict[int, float] = {}

    # --- opening -------------------------------------------------------------------------------

    @classmethod
    async def open(cls, target: str | Transport | Opener, profile: DeviceProfile, *,
                   baud: int = DEFAULT_BAUD, **options) -> Link:
        """Open the port, run the handshake and the safe start; a connected link or an error.

        `target`: a pyserial URL or device path, a Transport (the link owns it from now on and
        closes it), or an async factory of Transports. Only a URL or a factory can be reopened
        by `reconnect()`. Errors: PortError (the port cannot be opened), HandshakeError (no
        answer in time, or a board that differs from `profile`: then `error.differences` lists
        each difference, one line each).
        """
        opener, transport = opener_for(target, baud)
        link = cls(profile, opener=opener, **options)
        if transport is None:
            assert opener is not None  # opener_for gives one or the other
            transport = await opener()
        try:
            await link._connect(transport)
        except BaseException:
            await link.close(stop=False)
            raise
        return link

    async def _connect(self, transport: Transport) -> None:
        self._connections += 1
        self.state = LinkState.CONNECTING
        self.lost_reason = None
        self.board_restarted = False
        self._lost.clear()
        self._transport = transport
        self.identity = None
        self.status = None
        self.protocol.begin_sync()
        self._last_by_type.clear()
        self._segment_ends_s.clear()
        if not transport.push_to(self._received, self._port_gone):
            self._reader = self._loop.create_task(self._read_loop(transport),
                                                  name=f"link {transport.name}")
        name = transport.name
        await self._until(lambda: self.protocol.synced, self._send_heartbeat,
                          f"no answer from {name} to heartbeats")
        self._start_heartbeat()
        collector = self._collector = IdentityCollector()
        await self._until(lambda: collector.identity() is not None,
                          lambda: self._send_queued(m.Identify()),
                          f"no complete answer from {name} to identify",
                          # A board that keeps answering is heard, even while a damaged line
                          # eats the one part still missing: wait on, up to the patience.
                          progress=lambda: collector.received)
        self._collector = None
        identity = collector.identity()
        assert identity is not None  # waited for above
        differences = map_differences(identity, self.profile)
        if differences:
            other_protocol = identity.info.protocol_version != PROTOCOL_VERSION
            raise HandshakeError(
                f"the device on {name} does not match profile '{self.profile.name}': "
                + "; ".join(differences),
                f"update the board's firmware to protocol {PROTOCOL_VERSION} (hardware.md)"
                if other_protocol else
                "connect the board this profile describes, or choose its profile",
                differences,
            )
        self.identity = identity
        self.clock = ClockSync(identity.info.clock_hz)
        if self.safe_start:
            await self._safe_start(name)
        # A board that restarted is back at its map's rise rates: before any segment, lower
        # them again (queued, so they act before every segment sent after them).
        self._send_rise_limits()
        # A board whose answers keep arriving, but never one that pairs with the Heartbeat it
        # answers (a damaged line eats one of the two), is heard: wait on, up to the patience.
        await self._until(lambda: self.clock.ready, self._send_heartbeat,
                          f"no clock report from {name}", progress=lambda: self._clock_reports)
        self.state = LinkState.CONNECTED
        log.info("connected to %s: %s", name, identity.info)

    @property
    def board_fault(self) -> m.StopCause | None:
        """The cause of a fault the board holds latched (until ClearFault), or None."""
        status = self.status
        return status.stop_cause if status is not None and status.fault_latched else None

    async def hold_safe(self, *, stay_stopped: Callable[[], bool] | None = None) -> bool:
        """Stop the board and start it again from the safe state: queue cleared, every output
        safe, READY for new segments. A pause, and the end of a session, go through here.
        FaultLatchedError if the board holds a latched fault (it stays stopped and safe).

        `stay_stopped` is asked once the board has confirmed its stop, just before the Reset:
        True leaves it stopped (a stop asked for meanwhile must not be undone by the Reset that
        would follow it) and returns False. Returns True when the board is READY.

        One at a time: a second caller (a fault being cleared while a session ends) waits for
        the first, so neither takes the other's reports for its own."""
        async with self._safe_lock:
            self._require_ready()
            return await self._safe_start(self.name, first=False, stay_stopped=stay_stopped)

    async def clear_board_fault(self) -> m.StopCause | None:
        """Send ClearFault, then start the board again from the safe state; returns the cause
        that was latched (None: nothing was). A person checked the chair before asking this."""
        async with self._safe_lock:
            self._require_ready()
            cause = self.board_fault
            seen = self._status_reports
            self._send_queued(m.ClearFault())

            def cleared() -> bool:
                status = self._status_after(seen)
                return status is not None and not status.fault_latched

            await self._until(cleared, lambda: self._send_queued(m.QueryStatus()),
                              f"the device on {self.name} did not clear its fault")
            await self._safe_start(self.name, first=False)
            return cause

    def _status_after(self, seen: int) -> m.StatusReport | None:
        """The latest StatusReport if the board sent one since `seen` reports, else None."""
        return self.status if self._status_reports > seen else None

    async def _safe_start(self, name: str, first: bool = True,
                          stay_stopped: Callable[[], bool] | None = None) -> bool:
        def query() -> None:
            self._send_queued(m.QueryStatus())

        def stop_and_query() -> None:
            self.send_immediate(m.Stop())
            query()

        def state_since(seen: int) -> m.DeviceState | None:
            status = self._status_after(seen)
            return None if status is None else status.state

        def latched_since(seen: int) -> bool:
            status = self._status_after(seen)
            return status is not None and status.fault_latched

        # Only reports sent after this call count: one from before may show a state since left.
        called = self._status_reports
        await self._until(lambda: state_since(called) is not None, query,
                          f"no status from {name}")
        if first:
            self.initial_status = self.status
        await self._until(lambda: state_since(called) is m.DeviceState.SHUTDOWN, stop_and_query,
                          f"the device on {name} did not confirm STOP")
        # The board's queue is empty now: segments sent before (a paused plan's next minutes)
        # no longer take room, or a resume would wait for their ends and start late.
        self._segment_ends_s.clear()
        if stay_stopped is not None and stay_stopped():
            return False
        reset = self._status_reports
        self._send_queued(m.Reset())
        # A latched fault keeps the board in SHUTDOWN through Reset, by design (hardware.md 5).
        await self._until(lambda: state_since(reset) is m.DeviceState.READY
                          or latched_since(reset), query,
                          f"the device on {name} did not leave SHUTDOWN on Reset")
        status = self.status
        if status is None or not status.outputs_safe:
            raise HandshakeError(f"the device on {name} reports outputs not safe after a reset",
                                 "check the board; it must start with every output safe")
        cause = self.board_fault
        if cause is not None and not first:
            raise FaultLatchedError(
                f"the board on {self.name} holds a latched fault ({cause.name.lower()}) and "
                "refuses to start",
                "check the chair, then run `massagectl faults --clear --port PORT`")
        return True

    async def _until(self, done: Callable[[], bool], ask: Callable[[], object], what: str,
                     progress: Callable[[], int] | None = None) -> None:
        """Ask, and ask again every HANDSHAKE_RETRY_S, until `done()`; HandshakeError on time.

        While `progress()` grows (parts of a long answer arriving over a bad line) the wait is
        extended, up to HANDSHAKE_PATIENCE times the timeout in all.
        """
        start_s = self._loop.time()
        deadline_s = start_s + self.handshake_timeout_s
        last_limit_s = start_s + HANDSHAKE_PATIENCE * self.handshake_timeout_s
        next_ask_s = start_s
        seen = progress() if progress is not None else 0
        connection = self._connections
        while not done():
            if self._lost.is_set():
                raise HandshakeError(f"{what}: {self.lost_reason}")
            if self._connections != connection:  # reports now come from another handshake
                raise HandshakeError(f"{what}: the link was opened again meanwhile")
            now_s = self._loop.time()
            if progress is not None and progress() != seen:
                seen = progress()
                deadline_s = min(now_s + self.handshake_timeout_s, last_limit_s)
            if now_s >= deadline_s:
                raise HandshakeError(
                    f"{what} within {now_s - start_s:.3g} s",
                    "check the port, the baud rate (115200 8N1), the board's power and the cable "
                    "(TX to RX crossed, common ground)",
                )
            if now_s >= next_ask_s:
                ask()
                next_ask_s = now_s + HANDSHAKE_RETRY_S
            await self._wait(min(next_ask_s, deadline_s) - now_s)

    # --- public API ----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._transport.name if self._transport is not None else "(no port)"

    @property
    def connected(self) -> bool:
        return self.state is LinkState.CONNECTED

    @property
    def info(self) -> m.DeviceInfo:
        """What the board said of itself in the handshake (every connected link has it)."""
        if self.identity is None:
            raise LinkLostError(f"{self.name}: the board has not identified itself yet")
        return self.identity.info

    @property
    def counters(self) -> LinkCounters:
        self._counts.dropped_messages = self._fanout.dropped
        return self._counts.with_protocol(self.protocol)

    async def schedule(self, segment: m.ScheduleSegment) -> None:
        """Send a segment once its start is within the window; a start inside the minimum lead
        (or past) is sent at once and counted late. RefusedError if it breaks a hard limit."""
        self._require_connected()
        identity = self.identity
        assert identity is not None  # the handshake gave it before the link connected
        problems = segment_problems(segment, identity, self.profile)
        if problems:
            raise RefusedError(problems)
        start_clock = self.clock.unwrap(segment.start_clock)
        while True:
            self._require_connected()
            now_s = self._loop.time()
            start_s = self.clock.host_time_at(start_clock)
            while self._segment_ends_s and self._segment_ends_s[0] <= now_s:
                self._segment_ends_s.popleft()
            ahead_s = start_s - now_s - self.ahead_window_s
            room = len(self._segment_ends_s) < identity.info.queue_capacity
            if room and self.protocol.can_queue:
                if ahead_s <= WINDOW_SLACK_S:
                    break
                # Only time stands between the segment and the wire: sleep until it enters the
                # window (waking early only if the link is lost), not at every telemetry report.
                await self._wait_unless_lost(ahead_s)
            else:
                await self._wait(WAIT_STEP_S)
        if start_s - now_s < self.min_lead_s:
            self._counts.late_segments += 1
        end_s = start_s + segment.duration_ticks / self.clock.rate_hz
        self._segment_ends_s.append(end_s)
        self._counts.segments_sent += 1
        self._send_queued(segment)

    async def send(self, message: object) -> None:
        """Queue a message (Identify, Reset, QueryStatus, ShowText): sequenced and acked."""
        if isinstance(message, m.ScheduleSegment):
            await self.schedule(message)
            return
        if isinstance(message, m.IMMEDIATE_MESSAGES):
            self.send_immediate(message)
            return
        while not self.protocol.can_queue:
            self._require_connected()
            await self._wait(WAIT_STEP_S)
        self._require_connected()
        self._send_queued(message)

    def set_rise_limits(self, rates_per_s: Mapping[int, float]) -> bool:
        """Give the board these rise rates (channel index -> unit per second) with SetRiseLimit,
        now if the board is identified, and again after every handshake: a board keeps them
        only until it restarts. Queued, so each acts before every segment sent after it.
        Returns False when they could not be written now (they go after the next handshake).
        ValueError, with nothing sent or kept, for a channel or rate the wire cannot carry."""
        messages = [m.SetRiseLimit(index, rate) for index, rate in sorted(rates_per_s.items())]
        for message in messages:
            if not 0 <= message.channel < len(self.profile.channels):
                raise ValueError(f"SetRiseLimit.channel: {message.channel} is not a channel of "
                                 f"profile '{self.profile.name}'")
            encode_message(message)  # ValueError before any effect
        self.rise_limits = dict(rates_per_s)
        return self._send_rise_limits()

    def _send_rise_limits(self) -> bool:
        if self.identity is None or self._transport is None or self._transport.closed:
            return False
        if self.state in (LinkState.LOST, LinkState.CLOSED):
            return False
        # All in one go, so they pack into as few DATA blocks as fit (two on the chair, not ten).
        messages = [m.SetRiseLimit(index, rate) for index, rate in sorted(self.rise_limits.items())]
        for message in messages:
            self._intent.sent(message)
        self._write(self.protocol.send_all(messages, self._loop.time()))
        self._arm_timer()
        return True

    def send_nowait(self, message: object) -> bool:
        """Queue a message (ShowText, QueryStatus) if the window has room now; False if not.
        For what can wait for its next refresh: it never delays the caller."""
        if isinstance(message, (m.ScheduleSegment, *m.IMMEDIATE_MESSAGES)):
            raise ValueError(f"{type(message).__name__} has its own way to the board")
        self._require_connected()
        if not self.protocol.can_queue:
            return False
        self._send_queued(message)
        return True

    def send_immediate(self, message: object) -> bool:
        """Write an immediate message (Stop, SetIntensity, SetChannelMask, ...) now.

        Returns once the bytes are handed to the port: True, or False if the port is gone (the
        board's watchdog then stops it). The link sends Stop, the intensity and the channel
        mask again whenever a StatusReport shows the board did not get them (intent.py).
        """
        if not isinstance(message, m.IMMEDIATE_MESSAGES):
            raise ValueError(f"{type(message).__name__} is not an immediate message")
        data = self.protocol.send(message, self._loop.time())  # ValueError before any effect
        self._intent.sent(message)
        self._counts.immediate_sent += 1
        if self._transport is None or self._transport.closed:
            return False
        return self._write(data)

    def add_listener(self, callback: Callable[[object], None]) -> Callable[[], None]:
        """Call `callback(message)` for every DeviceMessage; returns a function that removes it."""
        return self._fanout.add_listener(callback)

    def messages(self) -> AsyncIterator[object]:
        """Every DeviceMessage from the first iteration on, until the link closes."""
        return self._fanout.messages()

    async def drain(self, timeout_s: float = 5.0) -> None:
        """Wait until every queued message was acked."""
        deadline_s = self._loop.time() + timeout_s
        while not self.protocol.idle:
            self._require_connected()
            if self._loop.time() >= deadline_s:
                raise LinkLostError(f"{self.name}: messages still unacked after {timeout_s:g} s")
            await self._wait(WAIT_STEP_S)

    async def wait_lost(self) -> str:
        """Wait until the link is lost; returns the reason."""
        await self._lost.wait()
        return self.lost_reason or "closed"

    async def reconnect(self, timeout_s: float = 30.0) -> None:
        """Open the port again and run the whole handshake; the board starts from safe."""
        if self.state is LinkState.CLOSED:
            raise LinkLostError("the link was closed")
        deadline_s = self._loop.time() + timeout_s
        while True:
            await self._shutdown_io(close_transport=self._transport is None
                                    or self._transport.closed)
            try:
                transport = self._transport
                if transport is None or transport.closed:
                    if self._opener is None:
                        raise LinkLostError("the link was opened on a transport object, which "
                                            "cannot be reopened; open it by URL or factory")
                    transport = await self._opener()
                await self._connect(transport)
                self._counts.reconnects += 1
                return
            except (PortError, HandshakeError) as error:
                self._lose(str(error))
                if getattr(error, "differences", None):
                    await self._shutdown_io(close_transport=False)
                    raise  # a different board: retrying will not help
                if self._loop.time() + RECONNECT_RETRY_S > deadline_s:
                    await self._shutdown_io(close_transport=False)
                    raise LinkLostError(f"could not reconnect to {self.name}: {error}") from error
                await asyncio.sleep(RECONNECT_RETRY_S)

    async def close(self, stop: bool = True) -> None:
        """Stop the board (unless `stop=False`, or a Stop was sent since the last Reset: the
        stop path counts its own), then release the port."""
        if self.state is LinkState.CLOSED:
            return
        if (stop and not self._intent.stopped and self._transport is not None
                and not self._transport.closed):
            self.send_immediate(m.Stop())
        self.state = LinkState.CLOSED
        self.lost_reason = self.lost_reason or "closed"
        self._lost.set()
        await self._shutdown_io(close_transport=True)
        self._fanout.close()

    # --- internals -----------------------------------------------------------------------------

    def _require_ready(self) -> None:
        """Connected, handshake done: a hold_safe during a reconnect has no board to hold."""
        self._require_connected()
        if self.state is not LinkState.CONNECTED:
            raise LinkLostError(f"the link to {self.name} is still connecting",
                                "wait until the board is connected")

    def _require_connected(self) -> None:
        if self.state is LinkState.CLOSED:
            raise LinkLostError("the link is closed")
        if self.state is LinkState.LOST:
            raise LinkLostError(f"link to {self.name} lost: {self.lost_reason}",
                                "reconnect, then start the session again")

    async def _wait(self, delay_s: float) -> None:
        self._changed.clear()
        try:
            await asyncio.wait_for(self._changed.wait(), max(delay_s, 0.0))
        except TimeoutError:
            pass

    async def _wait_unless_lost(self, delay_s: float) -> None:
        try:
            await asyncio.wait_for(self._lost.wait(), delay_s)
        except TimeoutError:
            pass

    def _send_queued(self, message: object) -> None:
        self._intent.sent(message)
        self._write(self.protocol.send(message, self._loop.time()))
        self._arm_timer()

    def _write(self, data: bytes) -> bool:
        if not data:
            return True
        if self._transport is None:
            return False  # no port yet: nothing reaches the board
        try:
            self._transport.write(data)
        except PortError as error:
            self._lose(str(error))
            return False
        self._pace.wrote(self._loop.time())  # every valid block feeds the board's watchdog
        return True

    def _lose_to_restart(self, how: str) -> None:
        """The board restarted: its queue and state are gone, so the link is lost (the session
        ends; reconnect() runs the whole handshake again on the same port)."""
        if self.state is LinkState.CONNECTED:
            self.board_restarted = True
            self.restart_detail = how
        self._lose(f"the board restarted: {how}")

    def _lose(self, reason: str) -> None:
        if self.state in (LinkState.LOST, LinkState.CLOSED):
            return
        log.warning("link to %s lost: %s", self.name, reason)
        self.state = LinkState.LOST
        self.lost_reason = reason
        self._lost.set()
        self._changed.set()
        self._cancel_timers()
        if self._transport is not None and not self._transport.closed:
            self.send_immediate(m.Stop())  # the board may still hear us; its watchdog will anyway

    def _cancel_timers(self) -> None:
        for handle in (self._heartbeat, self._timer):
            if handle is not None:
                handle.cancel()
        self._heartbeat = self._timer = None
        self._timer_due_s = None

    async def _shutdown_io(self, close_transport: bool) -> None:
        self._cancel_timers()
        if self._transport is not None:
            self._transport.push_to(None)
        reader, self._reader = self._reader, None
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        if close_transport and self._transport is not None:
            await self._transport.close()

    async def _read_loop(self, transport: Transport) -> None:
        while True:
            try:
                data = await transport.read()
            except PortError as error:
                self._port_gone(error)
                return
            self._received(data)

    def _port_gone(self, error: PortError) -> None:
        self._lose(str(error))

    def _received(self, data: bytes) -> None:
        """Bytes from the board, from the read loop or pushed by the transport as they came."""
        try:
            self._handle_received(data)
        except Exception as error:  # never silently: the supervisor may not have seen a report
            log.exception("handling bytes from %s failed", self.name)
            self._lose(f"handling what the board sent failed: {type(error).__name__}: {error}")

    def _handle_received(self, data: bytes) -> None:
        now_s = self._loop.time()
        blocks_before = self.protocol.stats.blocks_received
        self.protocol.receive_data(data, now_s)
        if self.protocol.stats.blocks_received != blocks_before:
            self._last_heard_s = now_s
        while (event := self.protocol.next_event()) is not NEED_DATA:
            self._on_event(event)
        self._write(self.protocol.data_to_send(now_s))
        self._arm_timer()
        self._changed.set()

    def _on_event(self, event: object) -> None:
        if isinstance(event, FrameError | BadMessage):
            log.debug("bad bytes from %s: %s", self.name, event.reason)
            return
        kind = type(event)
        if hasattr(event, "clock") and self._last_by_type.get(kind) == event:
            self._counts.duplicates += 1  # the same report twice: a duplicated block
            return
        self._last_by_type[kind] = event
        if isinstance(event, m.ClockReport):
            self._on_clock(event)
        elif isinstance(event, m.StatusReport):
            self._on_status(event)
        elif self._collector is not None:
            self._collector.add(event)
        self._fanout.publish(event)

    def _on_clock(self, report: m.ClockReport) -> None:
        self._clock_reports += 1
        echo, self.protocol.last_echo = self.protocol.last_echo, None
        if echo is None or echo[2] != report.clock:
            return  # not the answer to our latest heartbeat: the pairing would be a guess
        sent_s, received_s, _ = echo
        self._counts.heartbeats_answered += 1
        if self.identity is None:
            return  # the clock rate is unknown until the board identified itself
        deviation_s = self.clock.add_sample(sent_s, received_s, report.clock)
        if self.state is LinkState.CONNECTED and abs(deviation_s) > (
            CLOCK_JUMP_LIMIT_S + (received_s - sent_s)
        ):
            self._lose_to_restart(f"its clock jumped by {deviation_s:.3f} s")

    def _on_status(self, report: m.StatusReport) -> None:
        previous, self.status = self.status, report
        self._status_reports += 1
        if self.state is not LinkState.CONNECTED:
            return
        # A board reports POWER_ON until a host stops or resets it: a restart shows as POWER_ON
        # after a report without it (or as a jump of its clock, _on_clock).
        if report.stop_cause is m.StopCause.POWER_ON and (
                previous is None or previous.stop_cause is not m.StopCause.POWER_ON):
            self._lose_to_restart("it reported power on")
            return
        for message in self._intent.repairs(report):
            self.send_immediate(message)
            self._counts.resent_immediate += 1

    def _send_heartbeat(self) -> None:
        now_s = self._loop.time()
        self._counts.heartbeats_sent += 1
        self._pace.heartbeat_sent(now_s)
        self._write(self.protocol.send(m.Heartbeat(), now_s))

    def _start_heartbeat(self) -> None:
        now_s = self._loop.time()
        self._last_heard_s = now_s
        self._pace.restart(now_s)
        guarded = self._pace.guarded(now_s, self.protocol.last_damage_s)
        self._heartbeat = self._loop.call_at(self._next_tick_s(now_s, guarded),
                                             self._on_heartbeat)

    def _on_heartbeat(self) -> None:
        now_s = self._loop.time()
        if now_s - self._last_heard_s > self.silence_limit_s:
            self._lose(f"no answer from the board for {now_s - self._last_heard_s:.2f} s")
            return
        oldest_s = self.protocol.oldest_unacked_sent_s
        if oldest_s is not None and now_s - oldest_s > ACK_LIMIT_S:
            self._lose(f"a block stayed unacked for {now_s - oldest_s:.2f} s")
            return
        # A board quiet for half the silence limit is asked to answer on every frame, at the
        # guarded pace: a lost answer then costs 50 ms, not a clock-sample period, before the
        # link is given up.
        quiet = now_s - self._last_heard_s > self.silence_limit_s / 2
        guarded = self._pace.guarded(now_s, self.protocol.last_damage_s, quiet)
        frame = Frame.HEARTBEAT if quiet else self._pace.frame_due(now_s, guarded)
        if frame is Frame.HEARTBEAT:
            self._send_heartbeat()
        elif frame is Frame.KEEPALIVE:
            self._counts.keepalives_sent += 1
            self._write(self.protocol.send_keepalive(now_s))
        if self.state is not LinkState.LOST:
            self._heartbeat = self._loop.call_at(self._next_tick_s(now_s, guarded),
                                                 self._on_heartbeat)

    def _next_tick_s(self, now_s: float, guarded: bool) -> float:
        """The pace's next tick, or the moment the board has been quiet for half the silence
        limit if that comes first (from then on every frame asks for an answer)."""
        next_s = self._pace.next_tick_s(now_s, guarded)
        quiet_s = self._last_heard_s + self.silence_limit_s / 2 + TICK_SLACK_S
        return min(next_s, quiet_s) if quiet_s > now_s else next_s

    def _arm_timer(self) -> None:
        due_s = self.protocol.timer_deadline_s
        if due_s == self._timer_due_s or self.state in (LinkState.LOST, LinkState.CLOSED):
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_due_s = due_s
        self._timer = None if due_s is None else self._loop.call_at(due_s, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_due_s = None
        self._write(self.protocol.handle_timer(self._loop.time()))
        self._arm_timer()
