"""The watchdog frames' pace, sans-IO: where frames go out, which ones, and what the board hears."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from massagectl.firmware_bridge import messages as m
from massagectl.firmware_bridge.device_protocol import DeviceProtocol
from massagectl.firmware_bridge.framing import encode_block
from massagectl.firmware_bridge.host_protocol import HostProtocol
from massagectl.firmware_bridge.watchdog_pace import (
    CLEAN_PERIOD_S,
    CLOCK_SAMPLE_PERIOD_S,
    DAMAGE_MEMORY_S,
    GUARDED_PERIOD_S,
    Frame,
    WatchdogPace,
)
from massagectl.firmware_bridge.wire import BlockKind
from tests.firmware_bridge.wire_helpers import events_of

WATCHDOG_S = 0.5  # the board's (hardware.md 5)


def play(pace: WatchdogPace, other_writes_s: list[float], damage_s: list[float],
         until_s: float) -> list[tuple[float, Frame | None]]:
    """Drive the pace as the link does, with other blocks written at `other_writes_s` and damage
    seen at `damage_s`; every write (other or frame), in time order, with its frame kind."""
    pace.restart(0.0)
    written: list[tuple[float, Frame | None]] = [(0.0, Frame.HEARTBEAT)]
    others = sorted(other_writes_s)
    tick_s = pace.next_tick_s(0.0, pace.guarded(0.0, 0.0 if 0.0 in damage_s else None))
    while tick_s <= until_s:
        while others and others[0] <= tick_s:
            pace.wrote(others[0])
            written.append((others.pop(0), None))
        seen = [t for t in damage_s if t <= tick_s]
        guarded = pace.guarded(tick_s, max(seen) if seen else None)
        frame = pace.frame_due(tick_s, guarded)
        if frame is Frame.HEARTBEAT:
            pace.heartbeat_sent(tick_s)
        elif frame is Frame.KEEPALIVE:
            pace.wrote(tick_s)
        if frame is not None:
            written.append((tick_s, frame))
        next_s = pace.next_tick_s(tick_s, guarded)
        assert next_s > tick_s
        tick_s = next_s
    return written


def gaps(written: list[tuple[float, Frame | None]]) -> list[float]:
    return [b - a for (a, _), (b, _) in itertools.pairwise(written)]


@settings(max_examples=200, deadline=None)
@given(other_writes_s=st.lists(st.floats(0.0, 20.0), max_size=80),
       damage_s=st.lists(st.floats(0.0, 20.0), max_size=3))
def test_the_board_never_waits_longer_than_a_period_and_a_clock_sample_comes_twice_a_second(
        other_writes_s, damage_s):
    written = play(WatchdogPace(), other_writes_s, damage_s, until_s=20.0)
    # Whatever else is written, and whether the line is clean or not: never more than a clean
    # period between two blocks, so two may be lost in a row and the board still fed.
    assert max(gaps(written)) <= CLEAN_PERIOD_S + 1e-9
    beats = [t for t, frame in written if frame is Frame.HEARTBEAT]
    assert all(CLOCK_SAMPLE_PERIOD_S - CLEAN_PERIOD_S / 2 - 1e-9 <= b - a
               <= CLOCK_SAMPLE_PERIOD_S + CLEAN_PERIOD_S / 2 + 1e-9
               for a, b in itertools.pairwise(beats))
    for damaged_s in damage_s:  # after damage: a frame every 50 ms, whatever else is written
        frames = [t for t, frame in written
                  if frame is not None and damaged_s + CLEAN_PERIOD_S <= t
                  <= min(damaged_s + DAMAGE_MEMORY_S, 20.0)]
        assert all(b - a <= GUARDED_PERIOD_S + 1e-9 for a, b in itertools.pairwise(frames))


def test_a_clean_idle_line_gets_eight_frames_a_second_and_every_fourth_is_a_heartbeat():
    written = play(WatchdogPace(), [], [], until_s=10.001)
    kinds = [frame for t, frame in written if t > 0.0]
    assert len(kinds) == 80 and kinds.count(Frame.HEARTBEAT) == 20
    assert kinds[:4] == [Frame.KEEPALIVE] * 3 + [Frame.HEARTBEAT]
    # Two frames lost in a row leave the board 375 ms without a block; the third trips it.
    assert 3 * CLEAN_PERIOD_S < WATCHDOG_S <= 4 * CLEAN_PERIOD_S


def test_a_damaged_line_gets_twenty_frames_a_second_and_every_tenth_is_a_heartbeat():
    written = play(WatchdogPace(), [], [0.0], until_s=10.001)
    kinds = [frame for t, frame in written if t > 0.0]
    assert len(kinds) == 200 and kinds.count(Frame.HEARTBEAT) == 20
    # Eight frames lost in a row leave the board 450 ms without a block; the ninth trips it.
    assert 9 * GUARDED_PERIOD_S < WATCHDOG_S <= 10 * GUARDED_PERIOD_S


def test_a_keepalive_is_due_exactly_a_clean_period_after_the_last_block():
    pace = WatchdogPace()
    pace.restart(1.0)
    assert pace.frame_due(1.0 + CLEAN_PERIOD_S - 1e-4, guarded=False) is None
    assert pace.frame_due(1.0 + CLEAN_PERIOD_S, guarded=False) is Frame.KEEPALIVE
    assert pace.next_tick_s(1.05, guarded=False) == 1.0 + CLEAN_PERIOD_S
    # Guarded: a frame at every tick, whatever was written a moment ago.
    assert pace.frame_due(1.001, guarded=True) is Frame.KEEPALIVE
    assert pace.next_tick_s(1.001, guarded=True) == 1.001 + GUARDED_PERIOD_S


def test_the_line_stays_guarded_for_the_damage_memory_and_while_the_board_is_quiet():
    pace = WatchdogPace()
    assert not pace.guarded(100.0, None)
    assert pace.guarded(100.0, 100.0 - DAMAGE_MEMORY_S + 1e-3)
    assert not pace.guarded(100.0, 100.0 - DAMAGE_MEMORY_S)
    assert pace.guarded(100.0, None, quiet=True)
    always = WatchdogPace(clean_period_s=None)  # the pace before: always every 50 ms
    assert always.guarded(100.0, None)
    with pytest.raises(ValueError, match="must not be shorter"):
        WatchdogPace(clean_period_s=0.01)


def test_a_port_that_took_nothing_does_not_make_the_timer_spin():
    pace = WatchdogPace()
    pace.restart(0.0)
    assert pace.frame_due(0.2, guarded=False) is Frame.KEEPALIVE  # ... but the write failed
    assert pace.next_tick_s(0.2, guarded=False) == 0.2 + GUARDED_PERIOD_S


# --- what the host protocol counts as damage ---------------------------------------------------


def synced() -> tuple[HostProtocol, DeviceProtocol]:
    host, board = HostProtocol(), DeviceProtocol()
    host.receive_data(b"\x31\x00junk before the sync", now_s=0.5)  # a port opened mid-block
    host.receive_data(board.send(m.ClockReport(0)), now_s=1.0)
    events_of(host)
    assert host.synced
    return host, board


def test_bytes_before_the_sync_are_no_damage_but_bytes_after_it_are():
    host, board = synced()
    assert host.last_damage_s is None
    host.receive_data(b"\x20\x31noise" + board.send(m.ClockReport(1)), now_s=2.0)
    events_of(host)
    assert host.last_damage_s == 2.0


def test_a_nak_is_damage():
    host, _ = synced()
    host.receive_data(encode_block(BlockKind.NAK, 0, b""), now_s=3.0)
    assert host.last_damage_s == 3.0


def test_a_heartbeat_still_unanswered_when_the_next_goes_out_is_damage():
    host, board = synced()
    host.send(m.Heartbeat(), now_s=1.0)
    host.receive_data(board.send(m.ClockReport(5)), now_s=1.002)  # answered
    host.send(m.Heartbeat(), now_s=1.5)
    assert host.last_damage_s is None
    host.send(m.Heartbeat(), now_s=2.0)  # the one at 1.5 s, or its answer, was lost
    assert host.last_damage_s == 2.0
