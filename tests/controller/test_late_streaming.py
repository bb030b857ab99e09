"""However late the host's segments reach the board (a host stalled by a loaded machine, a
collector pause, a slow line), no output rises faster than admitted: a late segment, and the one
after a segment that came too late to run, rise from where the board's output is at the rise
rate (hardware.md 4.10), and the session still ends with every output safe.

Judged on the board's own trace (tests.controller.board_oracle), in virtual time: the host's
stalls are chosen, so each example repeats exactly.
"""

from __future__ import annotations

import asyncio
import os

from hypothesis import example, given, settings
from hypothesis import strategies as st

from massagectl.controller.service.chair import Chair
from massagectl.controller.service.connection import connect
from massagectl.controller.session.session import Session
from massagectl.routines.device import load_device
from massagectl.routines.routine import Routine
from massagectl.routines.user import DEFAULT_USER
from massagectl.safety.channel_limits import plan_limits
from massagectl.safety.fault_log import FaultLog
from massagectl.sim.virtual_loop import run_virtual
from tests.controller.board_oracle import fastest_rise_per_s

CHAIR = load_device("chair")
LIMITS = plan_limits(CHAIR, DEFAULT_USER)
RISE_SLACK = 1e-6
# The roller presses 8 mm into the back while the calves are squeezed: both kinds of channel
# whose rise admission limits, in about 40 s.
SQUEEZE_AND_KNEAD = Routine.model_validate({
    "name": "squeeze_and_knead", "description": "calves squeezed while the back is kneaded",
    "warm_up_s": 10, "cool_down_s": 10,
    "steps": [{"kind": "parallel", "tracks": [
        {"steps": [{"kind": "press", "zones": ["calves"], "pressure_kpa": 9, "ramp_in_s": 3,
                    "hold_s": 4, "release_s": 3}]},
        {"steps": [{"kind": "knead", "duration_s": 12, "speed_cpm": 25, "band": "upper_back",
                    "depth_mm": 8}]}]}]})
# Longer than the link's 2 s window: a stall this long makes a segment late, or over before it
# arrives.
LONGEST_STALL_S = 3.0


async def _session_with_stalls(stalls_s: list[float]):
    """Run the routine; before sending its n-th segment the host stalls stalls_s[n % len]."""
    async with connect(CHAIR) as connection:
        chair = Chair(connection.link, CHAIR, FaultLog(None))
        link = connection.link
        send = link.schedule
        sent = 0

        async def stalled(segment) -> None:
            nonlocal sent
            stall_s = stalls_s[sent % len(stalls_s)]
            sent += 1
            if stall_s > 0:
                await asyncio.sleep(stall_s)  # the host is somewhere else for this long
            await send(segment)

        link.schedule = stalled
        try:
            session = Session(chair, SQUEEZE_AND_KNEAD, DEFAULT_USER, body_scan=False)
            outcome = await session.run()
        finally:
            await chair.close()
        return outcome, connection.simulator


_CI = os.environ.get("HYPOTHESIS_PROFILE", "ci") == "ci"


@settings(max_examples=8 if _CI else 200)
@given(st.lists(st.one_of(st.just(0.0), st.floats(0.0, LONGEST_STALL_S)), min_size=1,
                max_size=30))
# The 6th segment, the roller head's hold after its 10 s ramp in (8 mm at intensity 3), sent
# 0.5 s after its start: the head had gone back to 0 mm when the ramp ended, and a board that
# ran a late segment from the plan's value put it at 8 mm in one step (160 mm/s against 15).
@example([0.0] * 5 + [2.5])
# Every fourth segment a second late, the others on time.
@example([0.0, 0.0, 0.0, 1.0])
def test_no_stall_of_the_host_makes_an_output_rise_faster_than_admitted(stalls_s):
    outcome, board = run_virtual(_session_with_stalls(stalls_s))
    for limits in LIMITS.channels:
        if limits.max_rise_per_s is None:
            continue
        fastest = fastest_rise_per_s(board.trace, limits.id)
        assert fastest <= limits.max_rise_per_s + RISE_SLACK, (
            f"{limits.id} rose at {fastest:.2f}/s, admitted {limits.max_rise_per_s:g}/s")
    assert board.outputs_safe(), outcome
    if outcome.stop is not None:
        assert outcome.stop.ended == "confirmed", outcome.stop.summary()
