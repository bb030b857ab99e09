"""The supervisor: outgoing segments, board messages, stop sources, the session and the latch."""

from __future__ import annotations

import asyncio

import pytest

from massagectl.firmware_bridge.messages import (
    DeviceState,
    FaultCode,
    FaultReport,
    HostStopCause,
    KeyPress,
    RemoteKey,
    ScheduleSegment,
    Stop,
    StopCause,
)
from massagectl.firmware_bridge.wire import TELEMETRY_STALE_S
from massagectl.routines.errors import FaultLatchedError
from massagectl.routines.plan import Segment
from massagectl.routines.user import UserProfile
from massagectl.safety.faults import FaultCause
from massagectl.safety.stop_path import StopEnd, StopSource
from massagectl.safety.supervisor import SegmentRefusedError
from tests.safety.fakes import CLOCK_HZ
from tests.safety.plans import CHAIR, HOT_CHAIR, HOT_USER, lane, plan_of, squeeze, travel
from tests.safety.rig import Rig

LOWER_BACK_MM, MID_BACK_MM = 100.0, 300.0


def shoulders_plan(total_s: float = 60.0):
    return plan_of(CHAIR, squeeze("airbag_shoulders", 12.0, 20.0, total_s=total_s))


def test_an_admitted_plan_passes_segment_by_segment_also_as_device_clock_segments(
        run_virtual_time):
    async def scenario():
        rig = Rig(shoulders_plan())
        rig.begin(send=False)
        anchor = rig.board.clock()
        for s in rig.admitted.plan.segments():
            rig.supervisor.check_segment(ScheduleSegment(
                CHAIR.channel_index(s.channel), anchor + round(s.start_s * CLOCK_HZ),
                round(s.duration_s * CLOCK_HZ), s.start_value, s.end_value, s.amplitude,
                round(s.period_s * CLOCK_HZ)))
        return rig

    rig = run_virtual_time(scenario())
    assert not rig.supervisor.latch.latched and rig.board.stops_sent() == 0


def test_a_segment_beyond_the_admitted_limits_never_passes_and_stops_the_board(
        run_virtual_time):
    async def scenario():
        rig = Rig(shoulders_plan())
        rig.begin(send=False)
        rig.supervisor.check_segment(Segment("airbag_shoulders", 0.0, 5.0, 0.0, 12.0))
        with pytest.raises(SegmentRefusedError) as caught:
            rig.supervisor.check_segment(Segment("airbag_shoulders", 5.0, 20.0, 12.0, 21.0))
        outcome = await rig.stopped()
        with pytest.raises(SegmentRefusedError):  # latched: nothing more passes
            rig.supervisor.check_segment(Segment("airbag_calves", 0.0, 5.0, 0.0, 0.0))
        return rig, outcome, caught.value

    rig, outcome, error = run_virtual_time(scenario())
    assert "airbag_shoulders on shoulders reaches 21 kPa, above the limit of 20 kPa" in str(error)
    assert outcome.ended is StopEnd.CONFIRMED and outcome.sources == (StopSource.SUPERVISOR,)
    assert rig.supervisor.latch.faults[0].cause is FaultCause.SEGMENT_REFUSED


def test_after_a_gap_a_segment_starts_from_the_safe_state_not_where_the_last_one_ended(
        run_virtual_time):
    async def scenario():
        rig = Rig(shoulders_plan())
        rig.begin(send=False)
        check = rig.supervisor.check_segment
        check(Segment("airbag_shoulders", 0.0, 5.0, 0.0, 5.0))
        check(Segment("airbag_shoulders", 5.0, 5.0, 5.0, 5.0))  # follows at once: from 5 kPa
        # One second later the board has vented the bag (hardware.md 4.10): 5 kPa at once again
        # is a jump, even though the channel's max duration would have covered the gap.
        with pytest.raises(SegmentRefusedError) as caught:
            check(Segment("airbag_shoulders", 11.0, 5.0, 5.0, 5.0))
        await rig.stopped()
        return caught.value

    error = run_virtual_time(scenario())
    assert "rises by 5 kPa at once" in str(error)


@pytest.mark.parametrize("bad, words", [
    (Segment("airbag_shoulders", 0.0, 0.0, 0.0, 0.0), "no positive duration"),
    (Segment("airbag_shoulders", 0.0, 200.0, 0.0, 0.0), "longer than the channel's max_duration"),
    (Segment("airbag_shoulders", 0.0, 5.0, 0.0, float("nan")), "not a finite number"),
    (Segment("airbag_shoulders", 0.0, 5.0, 3.0, 3.0, 1.0, 0.0), "needs a positive period"),
    (Segment("airbag_shoulders", 0.0, 5.0, 6.0, 6.0), "rises by 6 kPa at once"),
    (Segment("airbag_shoulders", 0.0, 1.0, 0.0, 7.0), "rises at 7 kPa/s"),
    (Segment("roller_position", 0.0, 2.0, 0.0, 200.0), "changes at 100 mm/s"),
    (Segment("no_such_channel", 0.0, 1.0, 0.0, 0.0), "unknown channel"),
])
def test_malformed_or_unsafe_segments_are_refused_with_a_reason(bad, words, run_virtual_time):
    async def scenario():
        rig = Rig(shoulders_plan())
        rig.begin(send=False)
        with pytest.raises(SegmentRefusedError) as caught:
            rig.supervisor.check_segment(bad)
        await rig.stopped()
        return str(caught.value)

    assert words in run_virtual_time(scenario())


def test_moving_the_roller_under_pressing_work_onto_a_restricted_zone_is_refused(
        run_virtual_time):
    async def scenario():
        plan = plan_of(CHAIR, travel([MID_BACK_MM, MID_BACK_MM], 60),
                       lane("roller_depth", (4, 0, 15, 0), (52, 15, 15, 1), (4, 15, 0, 2)))
        rig = Rig(plan, UserProfile(precautions={"pregnancy"}))
        rig.begin(send=False)
        rig.supervisor.check_segment(Segment("roller_position", 0.0, 10.0, MID_BACK_MM,
                                             MID_BACK_MM))
        for segment in lane("roller_depth", (4, 0, 15, 0), (26, 15, 15, 1)):
            rig.supervisor.check_segment(segment)  # on the mid back: within the 18 mm cap
        with pytest.raises(SegmentRefusedError) as caught:
            # ...but the carriage may not carry 15 mm onto the lower back (5 mm there)
            rig.supervisor.check_segment(Segment("roller_position", 10.0, 10.0, MID_BACK_MM,
                                                 LOWER_BACK_MM))
        await rig.stopped()
        return str(caught.value)

    message = run_virtual_time(scenario())
    assert "roller_depth on lower_back reaches 15 mm, above the limit of 5 mm" in message


def test_pressure_held_across_segments_counts_against_the_budget(run_virtual_time):
    async def scenario():
        rig = Rig(plan_of(CHAIR, squeeze("airbag_calves", 10.0, 20.0, total_s=60)))
        rig.begin(send=False)
        for segment in lane("airbag_calves", (5, 0, 10), (20, 10, 10), (3, 10, 9)):
            rig.supervisor.check_segment(segment)
        with pytest.raises(SegmentRefusedError) as caught:
            rig.supervisor.check_segment(Segment("airbag_calves", 28.0, 10.0, 9.0, 9.0))
        await rig.stopped()
        return str(caught.value)

    assert "stays high for" in run_virtual_time(scenario())


@pytest.mark.parametrize("message, cause, source", [
    (lambda board: board.status(state=DeviceState.SHUTDOWN, stop_cause=StopCause.OVER_LIMIT,
                                outputs_safe=True), FaultCause.BOARD_SHUTDOWN, StopSource.BOARD),
    (lambda board: FaultReport(board.clock(), FaultCode.MOTOR_STALL, 0, 0.0),
     FaultCause.BOARD_FAULT, StopSource.BOARD),
    (lambda board: board.status(stop_cause=StopCause.POWER_ON), FaultCause.BOARD_RESET,
     StopSource.BOARD),
])
def test_board_reported_faults_latch_and_stop(message, cause, source, run_virtual_time):
    async def scenario():
        rig = Rig(shoulders_plan())
        rig.begin()
        await rig.run(1)
        rig.board.emit(message(rig.board))
        return rig, await rig.stopped()

    rig, outcome = run_virtual_time(scenario())
    assert outcome.ended is StopEnd.CONFIRMED and outcome.sources[0] is source
    assert rig.supervisor.latch.faults[0].cause is cause
    # The board is asked to latch it too (hardware.md section 5, the fault latch).
    assert next(m.cause for _, m in rig.board.sent if isinstance(m, Stop)) is HostStopCause.FAULT


@pytest.mark.parametrize("source", [StopSource.REMOTE_KEY, StopSource.SESSION_TIMER])
def test_a_persons_stop_or_the_timer_ends_the_session_without_a_fault(source, run_virtual_time):
    async def scenario():
        rig = Rig(shoulders_plan(), UserProfile(limits={"session_min": 10}))
        rig.begin()
        if source is StopSource.REMOTE_KEY:
            await rig.run(2)
            rig.board.emit(KeyPress(rig.board.clock(), RemoteKey.STOP))
        else:
            await rig.run(11 * 60, until=rig.stop_seen)
        outcome = await rig.stopped()
        rig.supervisor.begin_session(rig.admitted, rig.now)  # not latched: may start again
        return rig, outcome

    rig, outcome = run_virtual_time(scenario())
    assert outcome.sources[0] is source and outcome.ended is StopEnd.CONFIRMED
    assert not rig.supervisor.latch.latched
    if source is StopSource.SESSION_TIMER:
        assert outcome.requested_s == pytest.approx(600.0, abs=0.06)


def test_link_lost_trips_and_escalates_when_the_port_is_gone(run_virtual_time):
    async def scenario():
        rig = Rig(shoulders_plan())
        rig.begin()
        rig.board.closed = True  # the cable is out
        rig.supervisor.link_lost("no heartbeat answer for 1 s", rig.now)
        return rig, await rig.stopped()

    rig, outcome = run_virtual_time(scenario())
    assert rig.supervisor.latch.faults[0].cause is FaultCause.LINK_LOST
    assert outcome.ended is StopEnd.ESCALATED and outcome.port_closed


def test_a_latched_fault_blocks_a_new_session_until_cleared(run_virtual_time):
    async def scenario():
        rig = Rig(shoulders_plan())
        rig.begin()
        await rig.run(2, {"pressure_shoulders": 25.0}, until=rig.stop_seen)
        await rig.stopped()
        with pytest.raises(FaultLatchedError):
            rig.supervisor.begin_session(rig.admitted, rig.now)
        with pytest.raises(SegmentRefusedError):
            rig.supervisor.check_segment(Segment("airbag_shoulders", 0.0, 5.0, 0.0, 1.0))
        cleared = rig.supervisor.clear_faults("owner, remote OK key", rig.now)
        rig.board.state = DeviceState.READY
        rig.begin()
        await rig.run(2)
        return rig, cleared

    rig, cleared = run_virtual_time(scenario())
    assert [f.cause for f in cleared] == [FaultCause.OVER_PRESSURE]
    assert rig.supervisor.session_active and not rig.supervisor.latch.latched
    assert [r.event for r in rig.log.records if r.event in ("fault", "clear")] == [
        "fault", "clear"]


def test_an_error_inside_the_supervisor_is_a_fault_that_stops_the_board(run_virtual_time):
    class Broken:
        sensor = CHAIR.sensor("pressure_calves")

        def update(self, value, board_s, ctx):
            raise ZeroDivisionError("division by zero")

    async def scenario():
        rig = Rig(shoulders_plan())
        rig.begin()
        index = [s.id for s in CHAIR.sensors].index("pressure_calves")
        rig.supervisor.watchers[index] = (Broken(),)
        await rig.run(1, until=rig.stop_seen)
        return rig, await rig.stopped()

    rig, outcome = run_virtual_time(scenario())
    assert outcome.ended is StopEnd.CONFIRMED
    [fault] = rig.supervisor.latch.faults
    assert fault.cause is FaultCause.SUPERVISOR_ERROR and "ZeroDivisionError" in fault.detail


def test_a_board_restart_starts_a_fresh_clock_but_keeps_the_thermal_dose(run_virtual_time):
    async def scenario():
        rig = Rig(shoulders_plan(), HOT_USER, limits=HOT_CHAIR)
        rig.begin(send=False)
        rig.supervisor.end_session()  # between sessions, with this user's limits
        await rig.run(60, {"temp_calves": 44.0})
        dose = rig.supervisor.watchers[14][1].dose.dose
        rig.board.emit(rig.board.status(stop_cause=StopCause.POWER_ON))
        await rig.run(60, {"temp_calves": 44.0})
        return dose, rig.supervisor.watchers[14][1].dose.dose, rig.supervisor.latch.faults

    before, after, faults = run_virtual_time(scenario())
    assert CHAIR.sensors[14].id == "temp_calves" and faults == []
    assert before > 0 and after == pytest.approx(2 * before, rel=0.02)


def test_a_board_holding_a_last_value_too_long_trips_on_the_timer_alone(run_virtual_time):
    # Segments end with the calf bag at 9 kPa (above its 8 kPa occlusion level since 2 s) and
    # nothing follows: the board holds it. Readings say nothing here (no detector runs); the
    # supervisor's timer alone must end it once 30 s above the level have passed.
    async def scenario():
        rig = Rig(plan_of(CHAIR, squeeze("airbag_calves", 9.0, 20.0)))
        rig.supervisor.watchers = [() for _ in rig.supervisor.watchers]
        rig.supervisor.begin_session(rig.admitted, rig.now, anchor_clock=rig.board.clock())
        rig.supervisor.check_segment(Segment("airbag_calves", 0.0, 2.25, 0.0, 9.0))
        rig.supervisor.check_segment(Segment("airbag_calves", 2.25, 20.0, 9.0, 9.0))
        start_s = rig.now
        await rig.run(60, until=rig.stop_seen)  # telemetry at 20 Hz; each report polls
        return rig.now - start_s, await rig.stopped(), rig.supervisor.latch.faults

    tripped_s, outcome, faults = run_virtual_time(scenario())
    assert [fault.cause for fault in faults] == [FaultCause.PRESSURE_HELD]
    assert faults[0].detail.startswith("airbag_calves held after its last segment: "
                                       "airbag_calves on calves stays high for 30.")
    assert faults[0].host_s is not None
    assert 32.0 < tripped_s <= 32.0 + 0.3  # 2 s + 30 s, found within a few poll periods
    assert outcome.ended is StopEnd.CONFIRMED


@pytest.mark.parametrize(("after_s", "stopped"), [(TELEMETRY_STALE_S, False),
                                                  (TELEMETRY_STALE_S + 1e-3, True)])
def test_stale_telemetry_at_its_edge(after_s, stopped, run_virtual_time):
    async def scenario():
        await asyncio.sleep(3.0)  # readings were last seen at a time other than 0
        rig = Rig(shoulders_plan())
        rig.begin(send=False)
        polled_s = rig.now + after_s
        rig.supervisor.poll(polled_s)
        seen = rig.stop_seen()
        if seen:
            await rig.stopped()
        return seen, rig.supervisor.latch.faults, polled_s

    seen, faults, polled_s = run_virtual_time(scenario())
    assert seen is stopped
    assert [f.cause for f in faults] == ([FaultCause.STALE_TELEMETRY] if stopped else [])
    if stopped:
        assert faults[0].detail == f"no reading of roller_position for {after_s:.2f} s"
        assert faults[0].host_s == polled_s


@pytest.mark.parametrize(("after_s", "stopped"), [(1800 - 1e-6, False), (1800, True)])
def test_the_session_timer_at_its_edge(after_s, stopped, run_virtual_time):
    # The default occupant's timer: the 30 min session cap, counted from the session's start.
    async def scenario():
        rig = Rig(shoulders_plan())
        rig.supervisor.stale_after_s = float("inf")
        start_s = rig.now
        rig.supervisor.begin_session(rig.admitted, start_s)
        rig.supervisor.poll(start_s + after_s)
        outcome = await rig.stopped() if rig.stop_seen() else None
        return outcome, rig.supervisor.latch.faults

    outcome, faults = run_virtual_time(scenario())
    assert faults == []
    assert (outcome is not None) is stopped
    if stopped:
        assert outcome.sources == (StopSource.SESSION_TIMER,)
        assert outcome.details == ("auto-off after 30 min on the chair",)


def test_the_timer_alone_finds_an_overdue_hold_on_the_boards_clock(run_virtual_time):
    # No telemetry after the segments (staleness is another check): the supervisor's timer
    # works out the board's time from the last clock it saw, 1000 s ahead of the host's.
    async def scenario():
        await asyncio.sleep(5.0)  # the host has been up a while
        rig = Rig(plan_of(CHAIR, squeeze("airbag_calves", 9.0, 20.0)), clock_offset_s=1000.0)
        supervisor = rig.supervisor
        supervisor.watchers = [() for _ in supervisor.watchers]
        supervisor.stale_after_s = float("inf")
        start_s = rig.now
        supervisor.begin_session(rig.admitted, start_s, anchor_clock=rig.board.clock())
        supervisor.check_segment(Segment("airbag_calves", 0.0, 2.25, 0.0, 9.0))
        supervisor.check_segment(Segment("airbag_calves", 2.25, 20.0, 9.0, 9.0))
        rig.report()
        supervisor.poll(start_s + 31.9)
        early = rig.stop_seen()
        supervisor.poll(start_s + 32.1)
        await rig.stopped()
        return early, supervisor.latch.faults

    early, faults = run_virtual_time(scenario())
    assert not early
    assert [fault.cause for fault in faults] == [FaultCause.PRESSURE_HELD]


def test_set_points_kept_between_the_reports_of_one_reading_follow_every_change(
        run_virtual_time):
    """The detectors' set points are kept from one report of a reading to the next: an
    intensity change, a channel switched off, a segment added or a stop between two reports
    of the same reading must still be seen by the second, exactly as if nothing were kept."""
    async def scenario():
        plan = plan_of(CHAIR, squeeze("airbag_shoulders", 12.0, 20.0, total_s=60.0),
                       squeeze("airbag_seat", 10.0, 20.0, total_s=60.0))
        rig = Rig(plan)
        supervisor = rig.supervisor
        answered, wrong = [], []
        kept = supervisor.commanded

        def commanded(index, board_s):  # every question the detectors ask, checked afresh
            value = kept(index, board_s)
            fresh = supervisor.schedule.commanded(index, board_s)
            if fresh is not None:
                fresh = supervisor.runtime.effective(index, fresh)
            answered.append(value)
            if value != fresh:
                wrong.append((index, board_s, value, fresh))
            return value

        supervisor.commanded = commanded
        rig.begin(send=False)
        segments = list(rig.admitted.plan.segments())
        for segment in segments[: len(segments) // 2]:
            supervisor.check_segment(segment)
        # Changes that lower (a rise would be slewed by a real board, not by this rig's
        # readings, and trip the rise check).
        between = [lambda: supervisor.runtime.set_level(3),
                   lambda: [supervisor.check_segment(s) for s in segments[len(segments) // 2:]],
                   lambda: supervisor.runtime.channels_off(["airbag_seat"]),
                   lambda: supervisor.runtime.set_level(1)]
        send = rig.board.report
        for step in range(200):
            parts: list[tuple] = []
            rig.board.report = lambda values, first_index=0, parts=parts: parts.append(
                (values, first_index))
            # One reading, sent as two reports of 8 sensors as the chair's board does; the idle
            # carriage reads steady, so the schedule does not change between them by itself.
            rig.report(frozen=("roller_position",))
            rig.board.report = send
            row = [value for values, _ in parts for value in values]
            send(row[:8])
            if step % 20 == 10 and between:
                between.pop(0)()  # a change between the two reports of the reading
            send(row[8:], first_index=8)
            await asyncio.sleep(0.05)
        return answered, wrong, rig

    answered, wrong, rig = run_virtual_time(scenario())
    assert len(answered) > 1000 and any(a is not None for a in answered)
    assert wrong == []
    assert not rig.supervisor.latch.faults  # a healthy chair: the checks ran, nothing tripped
