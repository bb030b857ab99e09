"""Whatever a person presses, in any order, and whatever the board does wrong: a hypothesis state
machine drives a session on the simulated chair in virtual time, with pause and resume (the `p`
key), intensity up and down, zones off and on, heat, stop from three sources and injected board
faults, and after every step checks on the board's own trace (tests.controller.board_oracle,
not the code under test) that:

- time on the chair is at most the session timer plus the time stops take;
- no heat zone was on longer than the heat timeout;
- no bag's pressure and no contact temperature went above its cap;
- no channel's output rose faster than its admitted rise rate (until a board without its slew
  is injected: that firmware bug jumps by itself; `massagectl conformance` fails such a board
  and the supervisor trips on a bag filling too fast, tests/controller/test_rise_check.py);
- every stop ended confirmed, with every output safe (or, where the fault makes a confirmation
  impossible, with the board's watchdog having made it safe).

The session timer (2 min) and heat timeout (75 s) are an owner's lowered values, so a few
minutes of virtual time reach them. CI runs a bounded, derandomized set of sequences; set
HYPOTHESIS_PROFILE=fuzz for many more.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from massagectl.controller.frontends.keys import press_key
from massagectl.controller.service.chair import Chair
from massagectl.controller.service.connection import connect
from massagectl.controller.session.session import Session
from massagectl.controller.session.state import SessionState
from massagectl.firmware_bridge.messages import RemoteKey
from massagectl.routines.device import ChannelKind, load_device
from massagectl.routines.user import UserProfile
from massagectl.safety.channel_limits import plan_limits
from massagectl.safety.fault_log import FaultLog
from massagectl.safety.limits import HEAT_HARD_MAX_C
from massagectl.safety.stop_path import StopSource
from massagectl.sim.faults import FAULT_CHANNEL_KINDS, FaultKind
from massagectl.sim.virtual_loop import VirtualTimeLoop
from tests.controller.board_oracle import active_mask, heat_on_s, sample_period_s, stretches
from tests.controller.sessions import EVERYTHING_AT_ONCE as ROUTINE
from tests.controller.sessions import SHORT_TIMERS as OWNER

CHAIR = load_device("chair")
USER = UserProfile()
LIMITS = plan_limits(CHAIR, USER, OWNER)

# A stop reaches the board within milliseconds, and the board's 50 ms samples measure each
# stretch of work up to one sample long.
PER_STRETCH_S = 0.1
# A board that cannot hear STOP (unplugged, or deaf to it) is made safe by its own watchdog:
# the host notices within a second or two, closes the port, the watchdog acts 0.5 s later.
UNHEARD_STOP_S = 3.0
UNHEARD = {FaultKind.UNPLUG, FaultKind.DEAF_TO_STOP}
# Measured values may pass a cap by the bag controller's band (0.3 kPa) and sensor noise, or by
# the thermostat's overshoot; a welded heater only up to the board's hard limit.
PRESSURE_SLACK_KPA = 1.0
TEMPERATURE_SLACK_C = 1.0
RISE_SLACK = 1e-6

FAULTS = [kind for kind in FaultKind if kind.target is None]
CHANNEL_FAULTS = [(kind, channel.id) for kind, kinds in FAULT_CHANNEL_KINDS.items()
                  for channel in CHAIR.channels if channel.kind in kinds]
SENSOR_FAULTS = [(kind, sensor.id) for kind in (FaultKind.DEAD_SENSOR, FaultKind.STUCK_SENSOR)
                 for sensor in CHAIR.sensors]


class SessionMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = VirtualTimeLoop()
        self.stack = contextlib.AsyncExitStack()
        self.injected: set[FaultKind] = set()
        self.slew_broken_at: int | None = None  # trace row from which the board has no slew
        self.outcome = None
        self.loop.run_until_complete(self._open())

    async def _open(self) -> None:
        connection = await self.stack.enter_async_context(connect(CHAIR))
        self.driver = connection.simulator_driver
        self.board = connection.simulator
        self.chair = Chair(connection.link, CHAIR, FaultLog(None), safety_limits=OWNER)
        self.stack.push_async_callback(self.chair.close)
        self.session = Session(self.chair, ROUTINE, USER, limits=OWNER, body_scan=False)
        self.running = asyncio.get_running_loop().create_task(self.session.run())
        while self.session.state is SessionState.IDLE and not self.running.done():
            await asyncio.sleep(0.05)

    def _do(self, action, seconds: float) -> None:
        """Do `action` on the chair's event loop, then let `seconds` of virtual time pass."""

        async def step() -> None:
            action()
            await asyncio.sleep(seconds)

        self.loop.run_until_complete(step())
        if self.running.done() and self.outcome is None:
            self._ended()

    def _ended(self) -> None:
        self.outcome = self.running.result()
        if self.injected & UNHEARD:  # the host closed the port: the board's watchdog acts
            self.loop.run_until_complete(asyncio.sleep(UNHEARD_STOP_S))

    @property
    def live(self) -> bool:
        return not self.running.done()

    # --- what a person does, then some time passes --------------------------------------------

    @rule(wait_s=st.floats(0.2, 20.0))
    def wait(self, wait_s):
        self._do(lambda: None, wait_s)

    @precondition(lambda self: self.live)
    @rule(wait_s=st.floats(0.2, 20.0))
    def pause_key(self, wait_s):
        """`p`: pause when running, resume when paused (the terminal's own key handler)."""
        self._do(lambda: press_key(self.session, "p"), wait_s)

    @precondition(lambda self: self.live)
    @rule(levels=st.sampled_from([-4, -1, 1, 4]), wait_s=st.floats(0.05, 10.0))
    def intensity(self, levels, wait_s):
        self._do(lambda: self.session.change_intensity(levels), wait_s)

    @precondition(lambda self: self.live)
    @rule(zone=st.sampled_from(["calves", "shoulders", "lower_back"]), on=st.booleans(),
          wait_s=st.floats(0.05, 10.0))
    def zone(self, zone, on, wait_s):
        self._do(lambda: self.session.set_zone(zone, on), wait_s)

    @precondition(lambda self: self.live)
    @rule(wait_s=st.floats(0.05, 10.0))
    def heat(self, wait_s):
        self._do(self.session.toggle_heat, wait_s)

    @precondition(lambda self: self.live)
    @rule(source=st.sampled_from(["terminal", "mqtt", "remote_key"]))
    def stop(self, source):
        if source == "remote_key":
            self._do(lambda: self.driver.press(RemoteKey.STOP), 5.0)
        else:
            self._do(lambda: self.session.stop(StopSource(source), f"{source} stop"), 5.0)

    @precondition(lambda self: self.live)
    @rule(fault=st.one_of(st.tuples(st.sampled_from(FAULTS), st.none()),
                          st.sampled_from(CHANNEL_FAULTS), st.sampled_from(SENSOR_FAULTS)),
          wait_s=st.floats(0.5, 20.0))
    def board_fault(self, fault, wait_s):
        kind, target = fault
        self.injected.add(kind)
        if kind is FaultKind.NO_SLEW and self.slew_broken_at is None:
            self.slew_broken_at = len(self.board.trace.ticks)
        self._do(lambda: self.driver.inject_fault(kind, target), wait_s)

    # --- what must hold after every step ------------------------------------------------------

    @invariant()
    def time_on_the_chair_is_within_the_timer(self):
        trace = self.board.trace
        mask = active_mask(trace, CHAIR)
        worked_s = float(np.count_nonzero(mask)) * sample_period_s(trace)
        allowed_s = LIMITS.auto_off_s + PER_STRETCH_S * stretches(mask)
        if self.injected & UNHEARD:
            allowed_s += UNHEARD_STOP_S
        assert worked_s <= allowed_s, f"the board worked {worked_s:.1f} s (timer {allowed_s} s)"

    @invariant()
    def heat_stays_within_the_heat_timeout(self):
        mask = active_mask(self.board.trace, CHAIR)
        allowed_s = OWNER.heat.max_on_s + PER_STRETCH_S * stretches(mask)
        for channel in CHAIR.channels_of(ChannelKind.HEAT):
            on_s = heat_on_s(self.board.trace, CHAIR, channel.id)
            assert on_s <= allowed_s, f"{channel.id} on for {on_s:.1f} s"

    @invariant()
    def pressure_and_temperature_stay_under_their_caps(self):
        trace = self.board.trace
        for limits in LIMITS.channels:
            channel = limits.channel
            if channel.kind is ChannelKind.AIRBAG:
                worst = _highest(trace.actual(channel.id))
                assert worst <= limits.cap.value + PRESSURE_SLACK_KPA, \
                    f"{channel.id} reached {worst:.2f} kPa (cap {limits.cap.value:g})"
            elif channel.kind is ChannelKind.HEAT:
                cap = limits.cap.value + TEMPERATURE_SLACK_C
                if FaultKind.HEATER_STUCK_ON in self.injected:
                    cap = HEAT_HARD_MAX_C  # a welded relay: the cut-off's duty
                worst = _highest(trace.actual(channel.id))
                assert worst <= cap, f"{channel.id} reached {worst:.2f} C (cap {cap:g})"

    @invariant()
    def nothing_rises_faster_than_admitted(self):
        trace = self.board.trace
        rows = slice(None, self.slew_broken_at)
        if len(trace.ticks[rows]) < 2:
            return
        dt_s = np.diff(trace.ticks[rows]) / trace.clock_hz
        for limits in LIMITS.channels:
            if limits.max_rise_per_s is None:
                continue
            rises = np.diff(trace.output(limits.id)[rows])
            ok = np.isfinite(rises) & (dt_s > 0)
            fastest = float(np.max(rises[ok] / dt_s[ok], initial=0.0))
            assert fastest <= limits.max_rise_per_s + RISE_SLACK, \
                f"{limits.id} rose at {fastest:.2f}/s, admitted {limits.max_rise_per_s:g}/s"

    @invariant()
    def every_stop_ends_safe(self):
        if self.outcome is None:
            return
        assert self.board.outputs_safe(), "the session ended with an output not safe"
        stop = self.outcome.stop
        if stop is not None and not self.injected & UNHEARD:
            assert stop.ended == "confirmed", stop.summary()

    def teardown(self):
        try:
            if self.live:
                self._do(lambda: self.session.stop(StopSource.TERMINAL, "end of the sequence"),
                         0.0)
                self.loop.run_until_complete(asyncio.wait_for(self.running, 30.0))
                self._ended()
                self.every_stop_ends_safe()
        finally:
            self.loop.run_until_complete(self.stack.aclose())
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            # Admission runs in the loop's worker thread: join it, as asyncio.run does (close()
            # alone leaves it finishing after the test, which the leak check then sees).
            self.loop.run_until_complete(self.loop.shutdown_default_executor())
            self.loop.close()


def _highest(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.max()) if finite.size else -math.inf


# CI: a bounded, derandomized set (the `ci` profile); fuzz: the profile's many examples.
_CI = os.environ.get("HYPOTHESIS_PROFILE", "ci") == "ci"
SessionMachine.TestCase.settings = settings(
    settings.default, **({"max_examples": 15, "stateful_step_count": 15} if _CI else {}))
TestSessionMachine = SessionMachine.TestCase
