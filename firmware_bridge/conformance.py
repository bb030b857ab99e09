"""The board's duties from hardware.md, checked over the line against any board.

    results = await check_board(transport, profile, report=print_line)

Each check drives the board through a Probe (probe.py: blocks exactly as written, a broken CRC
or a skipped sequence included) and judges what comes back, then returns the board to READY
for the next. A result names the section of hardware.md whose duty it checks; `passed` is None
where a duty cannot be shown from the line (it needs a hand on the board, bring-up section 7).
The checks move outputs: run them with nobody in the chair.
"""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from massagectl.firmware_bridge import messages as m
from massagectl.firmware_bridge.codec import encode_message
from massagectl.firmware_bridge.framing import encode_block
from massagectl.firmware_bridge.identity import (
    DeviceIdentity,
    IdentityCollector,
    map_differences,
)
from massagectl.firmware_bridge.probe import Probe
from massagectl.firmware_bridge.transport import Transport
from massagectl.firmware_bridge.wire import PROTOCOL_VERSION, SEQUENCE_MODULUS, BlockKind
from massagectl.routines.device import ChannelKind, DeviceProfile, SensorKind

# How long the checks wait for what hardware.md says comes "at once": a block of 64 bytes takes
# 5.6 ms at 115200 baud each way. The host's stop path gives a board 250 ms to confirm a STOP
# before it closes the port (section 4.9), so a later answer fails a real host too.
ANSWER_S = 0.25
WATCHDOG_S = 0.5  # hardware.md 5
# The watchdog must act after 500 ms of silence, neither much before nor after: the host's
# frames are 50 ms apart, and a board samples its timer at least every telemetry period.
WATCHDOG_EARLIEST_S = 0.45
WATCHDOG_LATEST_S = 0.65
TELEMETRY_HZ = 20
RANGE_READINGS = 5  # a reading out of range this many times in a row shuts the board down
# A slew measured from telemetry: the steepest rise over this window, against the channel's
# rise rate with this much allowance for sensor noise and sampling.
SLEW_WINDOW_S = 0.5
SLEW_ALLOWANCE = 1.25
SLEW_STEP_FROM = 0.2  # intensity before the step up
LATE_BY_S = 0.3
LATENESS_TOLERANCE_S = 0.05
# A late segment catches up at the rise rate (section 4.10): a gentle value (a fifth of the
# range) is reached within 0.2 s at the reference chair's rates; this leaves it some slack.
CATCH_UP_S = 0.5
# SetRiseLimit lowers the checked channel to this fraction of its map's rate: far enough below
# that a board still slewing at the map's rate fails the check's allowance.
RISE_LIMIT_FRACTION = 0.5
# ... measured over a longer window than SLEW_WINDOW_S: a bag's controller band (0.3 kPa either
# side) over 0.5 s would be a third of the lowered rate; over 2 s it is a tenth (the simulator's
# reference bag at 2.5 kPa/s reads 3.2 kPa/s over 0.5 s, 2.65 over 2 s).
LIMITED_SLEW_WINDOW_S = 2.0
# A bag vents below 1 kPa within 3 s of a stop (section 5, "Reached safe").
VENTED_S = 3.0


@dataclass(frozen=True)
class CheckResult:
    section: str  # of hardware.md
    name: str
    passed: bool | None  # None: not shown from the line
    detail: str = ""

    def line(self) -> str:
        verdict = {True: "pass", False: "FAIL", None: "n/a"}[self.passed]
        return f"{verdict:<4}  {self.section:<5} {self.name}" + (
            f": {self.detail}" if self.detail else "")


@dataclass
class Context:
    probe: Probe
    profile: DeviceProfile
    identity: DeviceIdentity | None = None
    results: list[CheckResult] = field(default_factory=list)
    report: Callable[[CheckResult], None] = lambda result: None

    def record(self, section: str, name: str, passed: bool | None, detail: str = "") -> bool:
        result = CheckResult(section, name, passed, detail)
        self.results.append(result)
        self.report(result)
        return bool(passed)

    @property
    def board(self) -> DeviceIdentity:
        """The board's answer to Identify (the checks run only once there is one)."""
        if self.identity is None:
            raise RuntimeError("the handshake did not identify the board")
        return self.identity

    @property
    def clock_hz(self) -> int:
        return self.board.info.clock_hz

    def segment(self, channel: int, start_in_s: float, duration_s: float, value: float,
                end_value: float | None = None) -> m.ScheduleSegment:
        return m.ScheduleSegment(channel, self.probe.board_clock(start_in_s),
                                 round(duration_s * self.clock_hz), value,
                                 value if end_value is None else end_value)


Check = Callable[[Context], Awaitable[None]]


async def check_board(transport: Transport, profile: DeviceProfile, *,
                      report: Callable[[CheckResult], None] = lambda result: None,
                      ) -> list[CheckResult]:
    """Run every check; the results in order (each also given to `report` as it is known)."""
    async with Probe(transport) as probe:
        context = Context(probe, profile, report=report)
        probe.feed(True)
        if await _handshake(context):
            for check in CHECKS:
                await check(context)
                await _ready(context)
        await _ready(context)
        probe.immediate(m.Stop())
    return context.results


# --- helpers -----------------------------------------------------------------------------------


async def _status(context: Context, timeout_s: float = ANSWER_S * 2) -> m.StatusReport | None:
    probe = context.probe
    mark = probe.mark()
    probe.data(m.QueryStatus())
    return await probe.wait_message(mark, m.StatusReport, timeout_s)


async def _ready(context: Context) -> bool:
    """Stop, clear a latch, Reset: READY with every output safe (also after a check failed)."""
    probe = context.probe
    probe.feed(True)
    await probe.sample_clock()  # resynchronise after a check that played with sequences
    probe.immediate(m.Stop())
    status = await _status(context)
    if status is None or status.state is not m.DeviceState.SHUTDOWN:
        probe.feed(False)  # a board deaf to STOP: let its watchdog stop it
        await asyncio.sleep(WATCHDOG_S + 0.2)
        probe.feed(True)
        await probe.sample_clock()
    if status is not None and status.fault_latched:
        probe.data(m.ClearFault())
    mark = probe.mark()
    probe.data(m.Reset())
    status = await _status_where(context, mark, _is_ready)
    if status is not None and status.fault_latched:  # a latch set while we stopped it
        probe.data(m.ClearFault())
        mark = probe.mark()
        probe.data(m.Reset())
        status = await _status_where(context, mark, _is_ready)
    return status is not None and status.state is m.DeviceState.READY


async def _status_where(context: Context, mark: int, where: Callable[[m.StatusReport], bool],
                        timeout_s: float = ANSWER_S * 2) -> m.StatusReport | None:
    """The first StatusReport after `mark` for which `where` holds, within `timeout_s`; else
    the last one (what a failed check shows). The first report after a request is not always
    its answer: the twice-a-second status, or the answer to an earlier query, may have left
    the board before the request arrived and still come in after `mark`."""
    probe = context.probe
    found = await probe.wait_message(mark, m.StatusReport, timeout_s, where)
    if found is None:
        reports = probe.since(mark, m.StatusReport)
        return reports[-1][1] if reports else None
    return found


async def _shutdown_status(context: Context, mark: int) -> m.StatusReport | None:
    """The StatusReport saying SHUTDOWN after `mark`, within ANSWER_S; else the last one."""
    return await _status_where(context, mark, lambda status: status.state is m.DeviceState.SHUTDOWN,
                               ANSWER_S)


def _is_ready(status: m.StatusReport) -> bool:
    return status.state is m.DeviceState.READY


def _work_channel(context: Context) -> int:
    """A channel with a safe default for the checks that run something (kneading, if any)."""
    channels = context.board.channels
    usable = [c for c in channels if c.safe_default is not None]
    return next((c.index for c in usable if c.kind is ChannelKind.KNEAD), usable[0].index)


def _gentle(info: m.ChannelInfo) -> float:
    """A value a fifth of the way from the safe default to the top: on, and harmless."""
    safe = info.safe_default
    if safe is None:  # _work_channel picks only channels that have one
        raise ValueError(f"channel {info.index} has no safe default to start from")
    return safe + 0.2 * (info.max - safe)


def _is_fault(code: m.FaultCode) -> Callable[[object], bool]:
    return lambda message: isinstance(message, m.FaultReport) and message.code is code


# --- 4.8 handshake -----------------------------------------------------------------------------


async def _handshake(context: Context) -> bool:
    probe = context.probe
    if not await probe.sync():
        return context.record("4.8", "handshake: Heartbeat answered with ClockReport", False,
                              "no ClockReport within 2 s: check the port, 115200 8N1, the cable")
    context.record("4.8", "handshake: Heartbeat answered with ClockReport", True,
                   f"sequence {probe.sequence}")
    collector = IdentityCollector()
    mark = probe.mark()
    for _ in range(8):  # a long answer over a bad line may need Identify again
        probe.data(m.Identify())
        await asyncio.sleep(0.25)
        for _, message in probe.since(mark):
            collector.add(message)
        if collector.identity() is not None:
            break
    identity = collector.identity()
    if identity is None:
        return context.record("4.8", "handshake: Identify answered with the whole map", False,
                              f"{collector.parts()} parts arrived")
    context.identity = identity
    probe.clock_hz = identity.info.clock_hz
    await probe.sample_clock()
    info = identity.info
    context.record("4.7", "DeviceInfo: protocol version", info.protocol_version == PROTOCOL_VERSION,
                   f"{info.protocol_version} (this host: {PROTOCOL_VERSION})")
    context.record("4.7", "DeviceInfo: serial number", bool(info.serial_number),
                   repr(info.serial_number) if info.serial_number else "empty")
    display = (info.display_rows > 0) == (info.display_cols > 0)
    context.record("4.7", "DeviceInfo: display size", display,
                   f"{info.display_rows} x {info.display_cols}")
    differences = map_differences(identity, context.profile)
    return context.record("4.8", f"map matches profile '{context.profile.name}'",
                          not differences, "; ".join(differences))


# --- 4.3 acks and naks -------------------------------------------------------------------------


def _report_with(nibble: int) -> Callable:
    return lambda a, x: x is None and a.block.kind is BlockKind.REPORT and (
        a.block.sequence == nibble)


def _nak_with(nibble: int) -> Callable:
    return lambda a, x: x is None and a.block.kind is BlockKind.NAK and a.block.sequence == nibble


def _device_info(a, x) -> bool:
    return isinstance(x, m.DeviceInfo)


async def _acks_and_naks(context: Context) -> None:
    probe = context.probe
    expected = probe.sequence
    nxt = (expected + 1) % SEQUENCE_MODULUS
    # An accepted block: acked with the next sequence, acted on once.
    mark = probe.mark()
    block = probe.data(m.Identify())
    acked = await probe.wait_for(mark, _report_with(nxt), ANSWER_S) is not None
    answered = await probe.wait_for(mark, _device_info, ANSWER_S * 2) is not None
    context.record("4.3", "DATA in sequence: acked with the next sequence and acted on",
                   acked and answered, "" if acked and answered else
                   f"ack {'seen' if acked else 'missing'}, Identify "
                   f"{'answered' if answered else 'not answered'}")
    await asyncio.sleep(ANSWER_S)
    # The same block again: a duplicate, acked again, not acted on.
    mark = probe.mark()
    probe.write(block)
    acked = await probe.wait_for(mark, _report_with(nxt), ANSWER_S) is not None
    repeated = await probe.wait_for(mark, _device_info, ANSWER_S * 2) is not None
    context.record("4.3", "duplicate DATA: acked again, not acted on again",
                   acked and not repeated,
                   ("" if acked else "no ack; ") + ("Identify answered twice" if repeated else ""))
    # A block after a gap: one NAK asking for the missing sequence; not acted on.
    mark = probe.mark()
    probe.data(m.Identify(), sequence=nxt + 1)
    naked = await probe.wait_for(mark, _nak_with(nxt), ANSWER_S) is not None
    acted = await probe.wait_for(mark, _device_info, ANSWER_S) is not None
    context.record("4.3", "DATA after a gap: a NAK for the missing sequence, block dropped",
                   naked and not acted,
                   ("" if naked else f"no NAK {nxt}; ") + ("acted on it" if acted else ""))
    # Further blocks of the same round: no more NAKs (one per round).
    mark = probe.mark()
    probe.data(m.QueryStatus(), sequence=nxt + 2)
    probe.data(m.QueryStatus(), sequence=nxt + 3)
    storm = await probe.wait_for(mark, _nak_with(nxt), ANSWER_S) is not None
    context.record("4.3", "one NAK per gap: later blocks of the round get none", not storm,
                   "a NAK for each block" if storm else "")
    # The missing block ends the round; then a damaged block: a NAK, not acted on.
    mark = probe.mark()
    probe.data(m.QueryStatus(), sequence=nxt)
    await probe.wait_for(mark, _report_with((nxt + 1) % SEQUENCE_MODULUS), ANSWER_S)
    await probe.sample_clock()  # a REPORT carries the board's expected sequence
    expected = probe.sequence
    damaged = bytearray(encode_block(BlockKind.DATA, expected, encode_message(m.Identify())))
    damaged[-2] ^= 0xFF  # the CRC's low byte
    mark = probe.mark()
    probe.write(bytes(damaged))
    naked = await probe.wait_for(mark, _nak_with(expected), ANSWER_S) is not None
    acted = await probe.wait_for(mark, _device_info, ANSWER_S) is not None
    context.record("4.2", "a block with a bad CRC: NAK, not acted on", naked and not acted,
                   ("" if naked else "no NAK; ") + ("acted on it" if acted else ""))
    await probe.sample_clock()
    # A good CRC around a payload that breaks the rules: acked, BAD_MESSAGE, nothing done.
    expected = probe.sequence
    mark = probe.mark()
    probe.write(encode_block(BlockKind.DATA, expected, bytes((0x7F,))))  # no such message
    acked = await probe.wait_for(mark, _report_with((expected + 1) % SEQUENCE_MODULUS),
                                 ANSWER_S) is not None
    fault = await probe.wait_message(mark, m.FaultReport, ANSWER_S,
                                     _is_fault(m.FaultCode.BAD_MESSAGE))
    context.record("4.2", "a payload that breaks the rules: acked, FaultReport BAD_MESSAGE",
                   acked and fault is not None,
                   ("" if acked else "no ack; ") + ("" if fault else "no BAD_MESSAGE"))


# --- 4.9 heartbeat -----------------------------------------------------------------------------


async def _heartbeat(context: Context) -> None:
    probe = context.probe
    samples = []
    for _ in range(2):
        mark = probe.mark()
        sent_s = asyncio.get_running_loop().time()
        probe.immediate(m.Heartbeat())
        found = await probe.wait_arrival(mark, m.ClockReport, ANSWER_S)
        if found is None:
            context.record("4.9", "Heartbeat answered with ClockReport at once", False,
                           f"no answer within {ANSWER_S * 1000:.0f} ms")
            return
        samples.append((sent_s, found[0].host_s, found[1].clock))
        await asyncio.sleep(1.0)
    (s0, r0, c0), (s1, r1, c1) = samples
    rate_hz = ((c1 - c0) % 2**32) / ((s1 + r1) / 2 - (s0 + r0) / 2)
    drift = abs(rate_hz / context.clock_hz - 1)
    context.record("4.9", "ClockReport clock runs at clock_hz", drift < 0.01,
                   f"{rate_hz:.0f} ticks/s against {context.clock_hz}")


# --- 5 STOP, latch, watchdog -------------------------------------------------------------------


async def _start_work(context: Context, duration_s: float = 4.0) -> int:
    """A gentle hold on the work channel from 0.2 s on, and three more queued behind it."""
    channel = _work_channel(context)
    info = context.board.channels[channel]
    probe = context.probe
    probe.data(context.segment(channel, 0.2, duration_s, _gentle(info)))
    for k in range(3):
        probe.data(context.segment(channel, 0.2 + duration_s * (k + 1), duration_s,
                                   _gentle(info)))
    await asyncio.sleep(0.5)
    return channel


async def _stop(context: Context) -> None:
    probe = context.probe
    capacity = context.board.info.queue_capacity
    await _start_work(context)
    before = await _status(context)
    running = before is not None and not before.outputs_safe
    mark = probe.mark()
    probe.immediate(m.Stop(m.HostStopCause.REQUESTED))
    status = await _shutdown_status(context, mark)
    stopped = (status is not None and status.state is m.DeviceState.SHUTDOWN
               and status.stop_cause is m.StopCause.HOST_STOP and status.outputs_safe)
    if not running:
        detail = "the work segment did not run"
    else:
        detail = "" if stopped else f"status {_brief(status)}"
    context.record("5", "Stop: SHUTDOWN (HOST_STOP) with outputs safe, reported at once",
                   running and stopped, detail)
    if status is None or not stopped:
        return
    context.record("5", "Stop: every queued segment cleared", status.queue_free == capacity,
                   f"queue_free {status.queue_free} of {capacity}")
    channel = _work_channel(context)
    probe.data(context.segment(channel, 0.2, 1.0, _gentle(context.board.channels[channel])))
    await asyncio.sleep(0.5)
    during = await _status(context)
    context.record("5", "in SHUTDOWN a segment is dropped",
                   during is not None and during.outputs_safe and during.queue_free == capacity,
                   _brief(during))
    mark = probe.mark()
    probe.data(m.Reset())
    after = await _status_where(context, mark, _is_ready)
    await asyncio.sleep(0.5)
    later = await _status(context)
    ok = (after is not None and after.state is m.DeviceState.READY and not after.fault_latched
          and later is not None and later.outputs_safe and later.queue_free == capacity)
    context.record("5", "a person's stop ends on Reset, and nothing cleared comes back", ok,
                   f"after Reset {_brief(after)}; 0.5 s later {_brief(later)}")


async def _latch(context: Context) -> None:
    probe = context.probe
    await _start_work(context)
    mark = probe.mark()
    probe.immediate(m.Stop(m.HostStopCause.FAULT))
    status = await _shutdown_status(context, mark)
    latched = (status is not None and status.state is m.DeviceState.SHUTDOWN
               and status.stop_cause is m.StopCause.HOST_FAULT and status.fault_latched)
    context.record("5", "Stop with cause FAULT: SHUTDOWN (HOST_FAULT), latched", latched,
                   _brief(status))
    mark = probe.mark()
    probe.data(m.Reset())
    # A forgetful latch shows in a later report; a held one only in the last.
    status = await _status_where(context, mark, lambda status: not status.fault_latched)
    held = (status is not None and status.state is m.DeviceState.SHUTDOWN
            and status.fault_latched)
    context.record("5", "the fault latch survives Reset", held, _brief(status))
    mark = probe.mark()
    probe.data(m.ClearFault())
    cleared = await _status_where(context, mark, lambda status: not status.fault_latched)
    mark = probe.mark()
    probe.data(m.Reset())
    ready = await _status_where(context, mark, _is_ready)
    ok = (cleared is not None and not cleared.fault_latched
          and cleared.state is m.DeviceState.SHUTDOWN
          and ready is not None and ready.state is m.DeviceState.READY)
    context.record("5", "ClearFault ends the latch; then Reset makes the board READY", ok,
                   f"after ClearFault {_brief(cleared)}; after Reset {_brief(ready)}")


async def _watchdog(context: Context) -> None:
    probe = context.probe
    await _start_work(context)
    loop = asyncio.get_running_loop()
    mark = probe.mark()
    probe.feed(False)
    probe.immediate(m.KeepAlive())  # the last frame
    last_s = loop.time()
    found = await probe.wait_arrival(
        mark, m.StatusReport, WATCHDOG_LATEST_S + 0.4,
        lambda status: status.state is m.DeviceState.SHUTDOWN)
    probe.feed(True)
    if found is None:
        context.record("5", "watchdog: SHUTDOWN after 500 ms without a host frame", False,
                       "no SHUTDOWN within 1 s of silence")
        return
    arrival, status = found
    after_s = arrival.host_s - last_s
    ok = (WATCHDOG_EARLIEST_S <= after_s <= WATCHDOG_LATEST_S
          and status.stop_cause is m.StopCause.WATCHDOG and status.outputs_safe)
    context.record("5", "watchdog: SHUTDOWN after 500 ms without a host frame", ok,
                   f"after {after_s * 1000:.0f} ms, {_brief(status)}")


# --- 4.10 segments the board refuses, late segments ----------------------------------------------


async def _refused(context: Context) -> None:
    probe = context.probe
    channel = _work_channel(context)
    info = context.board.channels[channel]
    above = info.max + 0.1 * (info.max - info.min)
    mark = probe.mark()
    probe.data(context.segment(channel, 0.2, 1.0, _gentle(info), above))
    fault = await probe.wait_message(mark, m.FaultReport, ANSWER_S,
                                     _is_fault(m.FaultCode.BAD_SEGMENT))
    await asyncio.sleep(0.5)
    status = await _status(context)
    ok = fault is not None and status is not None and status.outputs_safe
    context.record("4.10", f"a segment beyond a channel's max is refused (channel {channel}, "
                   f"{above:g} > {info.max:g})", ok,
                   ("" if fault else "no BAD_SEGMENT; ")
                   + ("" if status is not None and status.outputs_safe else "it ran"))
    limit_s = info.max_duration_ticks / context.clock_hz
    mark = probe.mark()
    probe.data(context.segment(channel, 0.2, limit_s + 1.0, _gentle(info)))
    fault = await probe.wait_message(mark, m.FaultReport, ANSWER_S,
                                     _is_fault(m.FaultCode.BAD_SEGMENT))
    await asyncio.sleep(0.5)
    status = await _status(context)
    ok = fault is not None and status is not None and status.outputs_safe
    context.record("4.10", f"a segment longer than max_duration ({limit_s:g} s) is refused", ok,
                   ("" if fault else "no BAD_SEGMENT; ")
                   + ("" if status is not None and status.outputs_safe else "it ran"))


async def _late(context: Context) -> None:
    probe = context.probe
    channel = _work_channel(context)
    info = context.board.channels[channel]
    before = await _status(context)
    mark = probe.mark()
    probe.data(context.segment(channel, -LATE_BY_S, 2.0, _gentle(info)))
    fault = await probe.wait_message(mark, m.FaultReport, ANSWER_S,
                                     _is_fault(m.FaultCode.LATE_SEGMENT))
    await asyncio.sleep(CATCH_UP_S)  # it rises from safe at the rise rate, not in one step
    status = await _status(context)
    ok = (fault is not None and abs(fault.value - LATE_BY_S) <= LATENESS_TOLERANCE_S
          and status is not None and not status.outputs_safe and before is not None
          and status.late_segments == before.late_segments + 1)
    context.record("4.10", "a late segment starts at once, on its timeline, and is reported",
                   ok, f"FaultReport {fault.value:.3f} s late" if fault is not None
                   else "no LATE_SEGMENT")
    await _ready(context)
    mark = probe.mark()
    probe.data(context.segment(channel, -3.0, 1.0, _gentle(info)))
    fault = await probe.wait_message(mark, m.FaultReport, ANSWER_S,
                                     _is_fault(m.FaultCode.LATE_SEGMENT))
    await asyncio.sleep(0.2)
    status = await _status(context)
    ok = fault is not None and status is not None and status.outputs_safe
    context.record("4.10", "a segment that ended before it arrived is reported and changes "
                   "nothing", ok, ("" if fault else "no LATE_SEGMENT; ")
                   + ("" if status is not None and status.outputs_safe else "an output moved"))


# --- 5 telemetry and sensor range --------------------------------------------------------------


async def _telemetry(context: Context) -> None:
    probe = context.probe
    sensors = context.board.sensors
    mark = probe.mark()
    await asyncio.sleep(1.0)
    readings: dict[int, list[float]] = {s.index: [] for s in sensors}
    for _, report in probe.since(mark, m.SensorReport):
        for index, value in enumerate(report.values, report.first_index):
            if index in readings:
                readings[index].append(value)
    slow = [i for i, values in readings.items() if len(values) < TELEMETRY_HZ * 0.9]
    context.record("5", "telemetry: every sensor reported at 20 Hz", not slow,
                   f"sensors {slow} fewer than 18 readings in 1 s" if slow else "")
    status = await _status(context)
    shut_for_range = (status is not None and status.state is m.DeviceState.SHUTDOWN
                      and status.stop_cause is m.StopCause.SENSOR_RANGE)
    outside = []
    for sensor in sensors:
        def outside_range(value: float, sensor: m.SensorInfo = sensor) -> bool:
            return not sensor.valid_min <= value <= sensor.valid_max

        run = max((len(list(group)) for bad, group in itertools.groupby(
            readings[sensor.index], outside_range) if bad), default=0)
        if run >= RANGE_READINGS:
            outside.append(sensor.index)
    if outside:
        context.record("5", "sensor range: 5 readings out of range shut the board down",
                       shut_for_range, f"sensors {outside} out of range; "
                       f"{'SHUTDOWN SENSOR_RANGE' if shut_for_range else _brief(status)}")
    else:
        context.record("5", "sensor range: every reading within its valid range", True,
                       "tripping it needs a sensor disconnected (section 7, step 9)")


# --- 5 intensity slew --------------------------------------------------------------------------


def _slew_pair(context: Context) -> tuple[m.ChannelInfo, float, m.SensorInfo] | None:
    """An intensity-scaled channel, its safe default, and a sensor that reads its output in
    its own unit."""
    # Airbags first: a pump fills faster than the bag's rise rate, so a missing slew shows; a
    # roller head's drive may be no faster than its rise rate.
    readable = ((ChannelKind.AIRBAG, SensorKind.PRESSURE), (ChannelKind.DEPTH, SensorKind.POSITION))
    for kind, sensor_kind in readable:
        for channel in context.board.channels:
            safe = channel.safe_default
            if channel.kind is not kind or safe is None or channel.rise_per_s <= 0:
                continue
            for sensor in context.board.sensors:
                if sensor.channel == channel.index and sensor.kind is sensor_kind:
                    return channel, safe, sensor
    return None


async def _steepest_rise(context: Context, sensor: int, seconds: float,
                         window_s: float = SLEW_WINDOW_S) -> tuple[float, float]:
    """The steepest rise of a sensor over `window_s` while `seconds` pass, and its last
    reading."""
    probe = context.probe
    mark = probe.mark()
    await asyncio.sleep(seconds)
    samples = [(a.host_s, r.values[sensor - r.first_index])
               for a, r in probe.since(mark, m.SensorReport)
               if r.first_index <= sensor < r.first_index + len(r.values)]
    steepest = 0.0
    for i, (t0, v0) in enumerate(samples):
        for t1, v1 in samples[i + 1:]:
            if t1 - t0 >= window_s:
                steepest = max(steepest, (v1 - v0) / (t1 - t0))
                break
    return steepest, samples[-1][1] if samples else math.nan


async def _slew(context: Context) -> None:
    pair = _slew_pair(context)
    if pair is None:
        context.record("5", "intensity slew", None,
                       "no intensity-scaled channel with a sensor of its output")
        return
    channel, safe, sensor = pair
    probe = context.probe
    target = safe + 0.5 * (channel.max - safe)
    limit = channel.rise_per_s * SLEW_ALLOWANCE
    rise_s = (1 - SLEW_STEP_FROM) * (target - safe) / channel.rise_per_s
    probe.immediate(m.SetIntensity(SLEW_STEP_FROM))
    probe.data(context.segment(channel.index, 0.1, min(30.0, channel.max_duration_ticks
                                                        / context.clock_hz), target))
    await asyncio.sleep(3.0)  # settle at the low intensity
    probe.immediate(m.SetIntensity(1.0))
    steepest, last = await _steepest_rise(context, sensor.index, rise_s + 1.5)
    unit = f"{context.profile.channels[channel.index].unit}/s"
    context.record("5", f"intensity slew: a rise follows at most {channel.rise_per_s:g} {unit} "
                   f"(channel {channel.index})", steepest <= limit,
                   f"steepest {steepest:.2f} {unit}, reached {last:.2f}")
    probe.immediate(m.SetChannelMask(0))
    await asyncio.sleep(1.0)
    probe.immediate(m.SetChannelMask(0xFFFFFFFF))
    steepest, last = await _steepest_rise(context, sensor.index,
                                          (target - safe) / channel.rise_per_s
                                          + 1.0)
    context.record("5", f"intensity slew: a channel enabled again rises at most "
                   f"{channel.rise_per_s:g} {unit}", steepest <= limit,
                   f"steepest {steepest:.2f} {unit}, reached {last:.2f}")


async def _late_rise(context: Context) -> None:
    """A segment that arrives late into an empty channel rises from where the output is at
    the rise rate, never in one step to the plan's value (section 4.10)."""
    pair = _slew_pair(context)
    if pair is None:
        context.record("4.10", "a late segment rises at the rise rate", None,
                       "no intensity-scaled channel with a sensor of its output")
        return
    channel, safe, sensor = pair
    probe = context.probe
    probe.immediate(m.SetIntensity(1.0))
    await asyncio.sleep(VENTED_S)  # _ready stopped it: the output is back at its safe state
    target = safe + 0.5 * (channel.max - safe)
    rise_s = (target - safe) / channel.rise_per_s
    late_s = 1.0
    probe.data(context.segment(channel.index, -late_s, late_s + rise_s + 2.0, target))
    steepest, last = await _steepest_rise(context, sensor.index, rise_s + 1.5)
    unit = f"{context.profile.channels[channel.index].unit}/s"
    context.record("4.10", f"a late segment rises at most {channel.rise_per_s:g} {unit} from "
                   f"where the output was (channel {channel.index}, {late_s:g} s late)",
                   steepest <= channel.rise_per_s * SLEW_ALLOWANCE,
                   f"steepest {steepest:.2f} {unit}, reached {last:.2f}")


async def _late_rise_limited(context: Context) -> None:
    """After SetRiseLimit lowers a channel's rise rate, a late segment catches up at the lower
    rate, not the map's (sections 4.7 and 4.10): the host admitted no faster."""
    pair = _slew_pair(context)
    if pair is None:
        context.record("4.10", "a late segment rises at the rate SetRiseLimit set", None,
                       "no intensity-scaled channel with a sensor of its output")
        return
    channel, safe, sensor = pair
    probe = context.probe
    lowered = channel.rise_per_s * RISE_LIMIT_FRACTION
    probe.data(m.SetRiseLimit(channel.index, lowered))
    probe.immediate(m.SetIntensity(1.0))
    await asyncio.sleep(VENTED_S)  # _ready stopped it: the output is back at its safe state
    target = safe + 0.5 * (channel.max - safe)
    rise_s = (target - safe) / lowered
    late_s = 1.0
    probe.data(context.segment(channel.index, -late_s, late_s + rise_s + 2.0, target))
    steepest, last = await _steepest_rise(context, sensor.index, rise_s + 1.5,
                                          LIMITED_SLEW_WINDOW_S)
    # Back to the map's rate (a value at or above it restores it), as a power-on would.
    probe.data(m.SetRiseLimit(channel.index, channel.rise_per_s))
    unit = f"{context.profile.channels[channel.index].unit}/s"
    context.record("4.10", f"a late segment rises at most the {lowered:g} {unit} SetRiseLimit "
                   f"set, not the map's {channel.rise_per_s:g} (channel {channel.index})",
                   steepest <= lowered * SLEW_ALLOWANCE,
                   f"steepest {steepest:.2f} {unit}, reached {last:.2f}")


async def _thermal_cutoff(context: Context) -> None:
    seen = [x for _, x in context.probe.since(0, m.FaultReport)
            if x.code is m.FaultCode.THERMAL_CUTOFF]
    heat = [c for c in context.board.channels if c.kind is ChannelKind.HEAT]
    if not heat:
        context.record("5", "thermal cut-off", None, "no heat channel")
    elif not seen:
        context.record("5", "thermal cut-off", None,
                       "not triggered from the line: test it on the bench (section 7)")


def _brief(status: m.StatusReport | None) -> str:
    if status is None:
        return "no StatusReport"
    latched = ", latched" if status.fault_latched else ""
    safe = "safe" if status.outputs_safe else "not safe"
    return f"{status.state.name} ({status.stop_cause.name}{latched}), outputs {safe}"


CHECKS: tuple[Check, ...] = (
    _acks_and_naks, _heartbeat, _stop, _latch, _watchdog, _refused, _late, _telemetry, _slew,
    _late_rise, _late_rise_limited, _thermal_cutoff,
)
