"""An owner's rise limit below the board's own rate holds on the wire, whatever arrives late.

An owner who caps the calf bags' inflation at 3 kPa/s, where the board's map says 4: admission
checks the plan against 3, and the board must slew at 3 too, for a late segment catching up,
one that starts away from where the output is, an intensity rise and a zone switched on again
(hardware.md 4.10 and 5, "Rise rate"). Before SetRiseLimit (protocol 4) a late calf hold caught
up at the board's 4.0 kPa/s, and the host's rise check (1 kPa over 2 s) did not notice.

Judged on the board's own trace (tests.controller.board_oracle), in virtual time: the host's
stalls are chosen, so each example repeats exactly.
"""

from __future__ import annotations

import asyncio
import os

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from massagectl.controller.service.chair import Chair
from massagectl.controller.service.connection import connect
from massagectl.controller.session.session import Session
from massagectl.controller.session.state import SessionState
from massagectl.routines.device import load_device
from massagectl.routines.routine import Routine
from massagectl.routines.user import DEFAULT_USER
from massagectl.safety.channel_limits import plan_limits
from massagectl.safety.fault_log import FaultLog
from massagectl.safety.limits import SafetyLimits
from massagectl.sim.virtual_loop import run_virtual
from tests.controller.board_oracle import fastest_rise_per_s
from tests.controller.sessions import run_on_simulator, wait_until

CHAIR = load_device("chair")
CALVES = "airbag_calves"
SHOULDERS = "airbag_shoulders"
BOARD_CALF_RISE = CHAIR.channel(CALVES).rise_per_s  # 4 kPa/s on the reference chair
RISE_SLACK = 1e-6  # float rounding of the board's own arithmetic
# The calf pressure sensor's reading over a 1 s window may run ahead of its set point by the
# bag controller's band (0.3 kPa either side) and the sensor's noise (0.04 kPa).
READING_ALLOWANCE_KPA = 0.7
# The calves and the shoulders squeezed, slowly, while the back is kneaded: compiled, the
# shoulders rise fastest, at 10/6 kPa/s, so any owner limit down to that admits the plan.
SQUEEZES = Routine.model_validate({
    "name": "slow_squeezes", "description": "calves and shoulders squeezed slowly",
    "warm_up_s": 10, "cool_down_s": 10,
    "steps": [{"kind": "parallel", "tracks": [
        {"steps": [{"kind": "press", "zones": ["calves"], "pressure_kpa": 9, "ramp_in_s": 8,
                    "hold_s": 6, "release_s": 8}]},
        {"steps": [{"kind": "press", "zones": ["shoulders"], "pressure_kpa": 10,
                    "ramp_in_s": 8, "hold_s": 6, "release_s": 8}]},
        {"steps": [{"kind": "knead", "duration_s": 20, "speed_cpm": 25, "band": "upper_back",
                    "depth_mm": 8}]}]}]})
SLOWEST_OWNER_RISE = 10 / 6
# Longer than the link's 2 s window: a stall this long makes a segment late, or over before it
# arrives.
LONGEST_STALL_S = 3.0


def owner_limits(calves: float, shoulders: float | None = None) -> SafetyLimits:
    airbag = {"calves": {"max_rise_kpa_per_s": calves}}
    if shoulders is not None:
        airbag["shoulders"] = {"max_rise_kpa_per_s": shoulders}
    return SafetyLimits(airbag=airbag)


def is_calf_hold(segment, index: int) -> bool:
    """The calf bag's hold: it starts at 9 kPa, where the ramp before it ended."""
    return (segment.channel == index and segment.start_value == segment.end_value
            and segment.start_value > 0)


async def _session(limits: SafetyLimits, stall_s):
    """Run SQUEEZES under the owner's `limits`; before sending each segment the host stalls
    for `stall_s(n, segment)` seconds."""
    async with connect(CHAIR) as connection:
        chair = Chair(connection.link, CHAIR, FaultLog(None), safety_limits=limits)
        link = connection.link
        send = link.schedule
        sent = 0

        async def stalled(segment) -> None:
            nonlocal sent
            pause_s = stall_s(sent, segment)
            sent += 1
            if pause_s > 0:
                await asyncio.sleep(pause_s)  # the host is somewhere else for this long
            await send(segment)

        link.schedule = stalled
        try:
            session = Session(chair, SQUEEZES, DEFAULT_USER, body_scan=False, limits=limits)
            outcome = await session.run()
        finally:
            await chair.close()
        return outcome, connection.simulator


def _admitted_rise(limits: SafetyLimits) -> dict[str, float]:
    return {c.id: c.max_rise_per_s for c in plan_limits(CHAIR, DEFAULT_USER, limits).channels
            if c.max_rise_per_s is not None}


def _measured_rise_per_s(trace, sensor_id: str, window_s: float = 1.0) -> float:
    """The fastest a sensor's reading rose over any `window_s` (the pump works in bursts inside
    its band, so sample-to-sample steps are no measure of a fill)."""
    readings = trace.sensor(sensor_id)
    steps = round(window_s * 20)
    return float(np.max(readings[steps:] - readings[:-steps])) / window_s


def test_a_late_calf_hold_catches_up_at_the_owners_rate_not_the_boards(run_virtual_time):
    """The hold after the 8 s ramp in, sent 3 s late: the ramp ended, the bag went back to
    0 kPa, and the hold catches up from there to 9 kPa. At 3 kPa/s, the owner's; before, at 4."""
    limits = owner_limits(3.0)
    index = CHAIR.channel_index(CALVES)
    outcome, board = run_virtual_time(_session(
        limits, lambda n, segment: LONGEST_STALL_S if is_calf_hold(segment, index) else 0.0))
    late = [r for r in board.trace.events if r.kind == "fault"
            and r.detail.get("code") == "LATE_SEGMENT" and r.detail.get("index") == index]
    assert late, "the calf hold was meant to arrive late"
    assert fastest_rise_per_s(board.trace, CALVES) <= 3.0 + RISE_SLACK
    assert _measured_rise_per_s(board.trace, "pressure_calves") <= 3.0 + READING_ALLOWANCE_KPA
    assert outcome.ended == "finished", outcome.detail
    assert board.outputs_safe()


def test_at_the_edge_an_owner_rate_equal_to_the_plans_own_rise_still_holds(run_virtual_time):
    """The lowest owner rate that admits the plan (its shoulders' ramp): the plan runs, and
    late holds on both bags catch up no faster (the board is told it rounded down to the
    wire's thousandths, 1.666 kPa/s)."""
    limits = owner_limits(SLOWEST_OWNER_RISE, SLOWEST_OWNER_RISE)
    bags = {CHAIR.channel_index(CALVES), CHAIR.channel_index(SHOULDERS)}
    outcome, board = run_virtual_time(_session(
        limits, lambda n, segment: LONGEST_STALL_S if segment.channel in bags
        and segment.start_value == segment.end_value and segment.start_value > 0 else 0.0))
    for channel_id in (CALVES, SHOULDERS):
        assert fastest_rise_per_s(board.trace, channel_id) <= SLOWEST_OWNER_RISE + RISE_SLACK
    assert outcome.ended == "finished", outcome.detail


_CI = os.environ.get("HYPOTHESIS_PROFILE", "ci") == "ci"


@settings(max_examples=6 if _CI else 100, deadline=None)
@given(calves=st.floats(SLOWEST_OWNER_RISE, BOARD_CALF_RISE),
       shoulders=st.floats(SLOWEST_OWNER_RISE, CHAIR.channel(SHOULDERS).rise_per_s),
       stalls_s=st.lists(st.one_of(st.just(0.0), st.floats(0.0, LONGEST_STALL_S)), min_size=1,
                         max_size=20))
# Every third segment 2.5 s late, with both bags' rates lowered well below the board's.
@example(calves=2.0, shoulders=2.0, stalls_s=[0.0, 0.0, 2.5])
def test_no_stall_of_the_host_makes_an_output_rise_faster_than_the_owner_admitted(
        calves, shoulders, stalls_s):
    limits = owner_limits(calves, shoulders)
    outcome, board = run_virtual(_session(limits, lambda n, segment: stalls_s[n % len(stalls_s)]))
    for channel_id, admitted in _admitted_rise(limits).items():
        fastest = fastest_rise_per_s(board.trace, channel_id)
        assert fastest <= admitted + RISE_SLACK, (
            f"{channel_id} rose at {fastest:.3f}/s, admitted {admitted:g}/s")
    assert board.outputs_safe(), outcome
    if outcome.stop is not None:
        assert outcome.stop.ended == "confirmed", outcome.stop.summary()


def test_intensity_up_and_the_calves_on_again_rise_at_the_owners_rate(run_virtual_time):
    """With the board told the owner's 3 kPa/s, intensity up and a zone switched back on are
    no longer refused (the board would have filled the bag at its own 4): they act, and the
    bag fills no faster than 3."""
    limits = owner_limits(3.0)
    seen = {}

    async def during(session, driver, chair):
        await wait_until(lambda: session.state is SessionState.RUNNING
                         and 25.0 < session.elapsed_s() < 30.0)
        session.change_intensity(+2)
        seen["level"] = session.level
        session.set_zone("calves", on=False)
        await asyncio.sleep(3.0)  # the bag vents in about a second
        session.set_zone("calves", on=True)
        seen["zones_off"] = session.zones_off()

    ran = run_virtual_time(run_on_simulator(CHAIR, _calf_hold(), during=during, intensity=3,
                                            limits=limits))
    assert ran.outcome.ended == "finished", ran.outcome.detail
    assert seen == {"level": 5, "zones_off": ()}
    assert fastest_rise_per_s(ran.board.trace, CALVES) <= 3.0 + RISE_SLACK
    assert _measured_rise_per_s(ran.board.trace, "pressure_calves") <= (
        3.0 + READING_ALLOWANCE_KPA)


def _calf_hold() -> Routine:
    return Routine.model_validate({
        "name": "calf_squeeze", "description": "one long squeeze of the calves",
        "warm_up_s": 10, "cool_down_s": 10,
        "steps": [{"kind": "press", "zones": ["calves"], "pressure_kpa": 9, "ramp_in_s": 10,
                   "hold_s": 20, "release_s": 10}]})
