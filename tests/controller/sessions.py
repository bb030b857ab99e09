"""Run a session against the built-in simulator in virtual time, and look at what the board did."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np

from massagectl.controller.service.chair import Chair
from massagectl.controller.service.connection import connect
from massagectl.controller.session.session import Session, SessionOutcome
from massagectl.routines.device import DeviceProfile
from massagectl.routines.intensity import intensity_factor
from massagectl.routines.plan import Plan
from massagectl.routines.routine import Routine
from massagectl.routines.user import DEFAULT_USER, UserProfile
from massagectl.safety.fault_log import FaultLog
from massagectl.safety.faults import FaultLatch
from massagectl.safety.limits import DEFAULT_LIMITS, HeatLimits, SafetyLimits, SessionLimits
from massagectl.sim.board import SimBoard
from massagectl.sim.driver import BoardDriver
from massagectl.sim.physics.occupant import Occupant

# A routine of a few seconds, so a real-time run stays short.
TINY = """
name = "tiny"
description = "Three seconds of gentle kneading"
warm_up_s = 2
cool_down_s = 10

[[steps]]
kind = "knead"
duration_s = 3
speed_cpm = 15
band = "mid_back"
depth_mm = 4
"""

# Heat on the lower back and the calves while the calves and shoulders are squeezed and the back
# kneaded: every kind of channel a person can switch, in under 2 minutes.
EVERYTHING_AT_ONCE = Routine.model_validate({
    "name": "everything_at_once", "description": "heat, squeeze and knead at once",
    "warm_up_s": 10, "cool_down_s": 10,
    "steps": [{"kind": "parallel", "tracks": [
        {"steps": [{"kind": "heat", "zone": "lower_back", "temperature_c": 42,
                    "duration_s": 30}]},
        {"steps": [{"kind": "heat", "zone": "calves", "temperature_c": 40, "duration_s": 30}]},
        {"steps": [{"kind": "repeat", "count": 2, "steps": [
            {"kind": "press", "zones": ["calves"], "pressure_kpa": 9, "ramp_in_s": 8,
             "hold_s": 10, "release_s": 8},
            {"kind": "press", "zones": ["shoulders"], "pressure_kpa": 10, "ramp_in_s": 8,
             "hold_s": 6, "release_s": 8}]}]},
        {"steps": [{"kind": "knead", "duration_s": 90, "speed_cpm": 25, "band": "upper_back",
                    "depth_mm": 8}]},
    ]}],
})
# An owner's lowered timers, so that a few minutes of virtual time reach them: a 2-minute
# session, 75 s of heat per zone (the routine above plans about 60 s).
SHORT_TIMERS = SafetyLimits(session=SessionLimits(cap_min=2.0), heat=HeatLimits(max_on_s=75.0))

During = Callable[[Session, BoardDriver, Chair], Awaitable[None]]


@dataclass
class Ran:
    outcome: SessionOutcome
    session: Session
    board: SimBoard
    chair: Chair
    plan: Plan | None
    anchor_clock: int | None


async def run_on_simulator(
    device: DeviceProfile,
    routine: Routine,
    user: UserProfile = DEFAULT_USER,
    *,
    body_scan: bool = False,
    during: During | None = None,
    occupant: Occupant | None = None,
    intensity: int | None = None,
    latch: FaultLatch | None = None,
    limits: SafetyLimits = DEFAULT_LIMITS,
) -> Ran:
    async with connect(device, occupant=occupant) as connection:
        log = latch.log if latch is not None else FaultLog(None)
        chair = Chair(connection.link, device, log, latch=latch, safety_limits=limits)
        session = Session(chair, routine, user, body_scan=body_scan, intensity=intensity,
                          limits=limits)
        running = asyncio.create_task(session.run(), name="session")
        try:
            if during is not None:
                await during(session, connection.simulator_driver, chair)
            outcome = await running
        finally:
            if not running.done():
                running.cancel()
                await asyncio.gather(running, return_exceptions=True)
            await chair.close()
        return Ran(outcome, session, connection.simulator, chair, session.running_plan,
                   session.anchor_clock)


def board_outputs_against_plan(ran: Ran, level: int) -> dict[str, float]:
    """Per channel, the largest |board output - plan value| while the plan ran, with the plan's
    intensity-scaled channels scaled as the board scales them at `level`."""
    trace, plan, board = ran.board.trace, ran.plan, ran.board
    plan_s = (trace.ticks - ran.anchor_clock) / board.clock_hz
    # Samples a tick away from the plan's ends may see the state before or after it.
    inside = (plan_s > 0.001) & (plan_s < plan.duration_s - 0.001)
    scale = intensity_factor(level) / intensity_factor(5)
    worst = {}
    for channel_id in plan.used_channels():
        channel = plan.device.channel(channel_id)
        expected = plan.values_at(channel_id, plan_s[inside])
        if channel.kind.scaled_by_intensity:
            expected = channel.safe_default + (expected - channel.safe_default) * scale
        actual = trace.output(channel_id)[inside]
        worst[channel_id] = float(np.nanmax(np.abs(actual - expected)))
    return worst


def wait_until(predicate: Callable[[], bool], limit_s: float = 600.0, step_s: float = 0.05):
    """Bounded polling on the (virtual) clock."""

    async def waiting() -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit_s
        while not predicate():
            if loop.time() > deadline:
                raise AssertionError(f"condition not met within {limit_s} s")
            await asyncio.sleep(step_s)

    return waiting()
