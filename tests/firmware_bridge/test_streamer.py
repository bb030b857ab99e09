"""Plans to absolute-clock segments, streamed within the window; the last limit check."""

from __future__ import annotations

import asyncio
import itertools

from hypothesis import given
from hypothesis import strategies as st

from massagectl.firmware_bridge import messages as m
from massagectl.firmware_bridge.codec import QUEUED_IDS, decode_messages, encode_message
from massagectl.firmware_bridge.identity import device_profile_map
from massagectl.firmware_bridge.link import AHEAD_WINDOW_S, MIN_LEAD_S
from massagectl.firmware_bridge.segment_check import segment_problems
from massagectl.firmware_bridge.streamer import Streamer, anchor_after, wire_segments
from massagectl.firmware_bridge.wire import CLOCK_MODULUS
from massagectl.routines.device import load_device
from massagectl.routines.plan import Plan, Segment, segment_table
from tests.firmware_bridge.test_link import open_pair

CHAIR = load_device("chair")
CHAIR_MAP = device_profile_map(CHAIR)


def _plan(durations_s: list[float], channel: str = "airbag_calves") -> Plan:
    segments, start_s = [], 0.0
    for n, duration_s in enumerate(durations_s):
        segments.append(Segment(channel, start_s, duration_s, float(n % 10), float(n % 7)))
        start_s += duration_s
    return Plan("test", CHAIR, start_s, segment_table(segments, CHAIR))


@given(st.lists(st.floats(0.001, 100.0), min_size=1, max_size=40),
       st.integers(0, CLOCK_MODULUS - 1))
def test_consecutive_segments_meet_exactly_on_the_tick_grid(durations_s, anchor):
    wire = wire_segments(_plan(durations_s), anchor, clock_hz=1_000_000)
    for before, after in itertools.pairwise(wire):
        assert before.start_clock + before.duration_ticks == after.start_clock
    assert wire[0].start_clock == anchor
    total_s = sum(durations_s)
    assert abs(wire[-1].start_clock + wire[-1].duration_ticks - anchor - total_s * 1e6) <= 1


values = st.floats(-100, 800, allow_nan=False)


@given(st.builds(m.ScheduleSegment, st.integers(0, 13), st.integers(0, 2**33),
                 st.integers(-5, 400_000_000), values, values, st.floats(-50, 50),
                 st.integers(-5, 5_000_000)))
def test_no_segment_outside_a_hard_limit_passes_the_last_check(segment):
    if segment_problems(segment, CHAIR_MAP, CHAIR):
        return
    [sent] = decode_messages(encode_message(segment), QUEUED_IDS)  # exactly what the board gets
    channel = CHAIR_MAP.channels[sent.channel]
    swing = abs(sent.amplitude)
    assert channel.min <= min(sent.start_value, sent.end_value) - swing
    assert max(sent.start_value, sent.end_value) + swing <= channel.max
    assert 1 <= sent.duration_ticks <= channel.max_duration_ticks
    assert swing == 0 or sent.period_ticks >= 1


def test_a_plan_streams_in_order_within_the_window(run_virtual_time):
    async def scenario():
        link, board = await open_pair()
        plan = Plan("test", CHAIR, 20.0, segment_table(
            [Segment("airbag_calves", n * 0.5, 0.5, 1.0, 2.0) for n in range(40)]
            + [Segment("knead_speed", n * 2.0, 2.0, 20.0, 20.0, 5.0, 1.0) for n in range(10)],
            CHAIR,
        ))
        streamer = Streamer(link, plan, anchor_after(link))
        await streamer.run()
        await link.drain()
        leads_s = [
            (link.clock.unwrap(s.start_clock) - link.clock.unwrap(arrived)) / 1e6
            for s, arrived in zip(board.received, board.arrival_clocks)
        ]
        result = streamer, board.received, leads_s, link.counters.late_segments
        await asyncio.sleep(20.0)
        await link.close()
        await board.close()
        return result

    streamer, received, leads_s, late = run_virtual_time(scenario())
    assert streamer.done and late == 0
    assert received == [m.ScheduleSegment(s.channel, s.start_clock % CLOCK_MODULUS,
                                          s.duration_ticks, s.start_value, s.end_value,
                                          s.amplitude, s.period_ticks)
                        for s in streamer.segments]
    assert all(MIN_LEAD_S <= lead_s <= AHEAD_WINDOW_S for lead_s in leads_s)
