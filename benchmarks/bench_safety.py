"""Safety layer costs: admission of a 30-minute plan, the supervisor per telemetry round and per
outgoing segment. (Stop latency is measured from real inputs by `--only stop`.)

    python -m benchmarks --only safety

Rows (section 10 of the command's table), each against a naive approach measured in the same
run:
1. admission of a 30-minute chair plan (all channels busy, ~2000 segments): the vectorised audit
   against a pure-Python loop over segments (roller zones found by scanning every carriage
   segment); and, on its own, `adapt` for a pregnant user with an injured mid back;
2. supervisor per telemetry round (every chair sensor, in reports of as many readings as the
   board sends) during that plan: against a supervisor that finds the commanded value by
   scanning the whole plan per reading;
3. supervisor per outgoing segment (check_segment, as device-clock segments): against
   re-auditing everything sent so far with the full plan audit for every new segment.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # also run as a script

from benchmarks.figures import Figure
from massagectl.firmware_bridge import messages as m
from massagectl.firmware_bridge.streamer import wire_segments
from massagectl.routines.device import ChannelKind, load_device
from massagectl.routines.plan import Plan, Segment, segment_table, split_segment
from massagectl.routines.user import UserProfile
from massagectl.safety.admission import admit
from massagectl.safety.channel_limits import plan_limits
from massagectl.safety.plan_audit import audit_plan
from massagectl.safety.rise_check import RiseWatch
from massagectl.safety.stop_path import StopPath
from massagectl.safety.supervisor import Supervisor
from massagectl.safety.verdicts import AdmittedPlan
from massagectl.sim.board import SENSOR_VALUES_PER_REPORT

CHAIR = load_device("chair")
CLOCK_HZ = 1_000_000
PLAN_S = 30 * 60.0


# --- a busy 30-minute plan ------------------------------------------------------------------


def _lane(channel: str, pieces) -> list[Segment]:
    segments, start_s = [], 0.0
    for duration_s, a, b, amplitude, period_s in pieces:
        segments += split_segment(Segment(channel, start_s, duration_s, a, b, amplitude,
                                          period_s, 0), CHAIR.channel(channel).max_duration_s)
        start_s += duration_s
    return segments


def thirty_minute_plan() -> Plan:
    """Every chair channel busy for 30 minutes, as a long routine would keep them."""
    legs = int(PLAN_S // 10)
    segments = _lane("roller_position", [(10, 150 + 200 * (i % 2), 350 - 200 * (i % 2), 0, 0)
                                         for i in range(legs)])
    segments += _lane("roller_width", [(PLAN_S, 100, 100, 0, 0)])
    segments += _lane("roller_depth", [(2, 0, 8, 0, 0)] + [(4, 8, 8, 1.5, 4)] * 449
                      + [(2, 8, 0, 0, 0)])
    segments += _lane("knead_speed", [(2, 0, 30, 0, 0), (PLAN_S - 4, 30, 30, 0, 0),
                                      (2, 30, 0, 0, 0)])
    segments += _lane("tap_rate", [(30, 0, 0, 0, 0), (PLAN_S - 60, 5, 5, 0, 0)][:1] * 60)
    for channel in ("airbag_shoulders", "airbag_arms", "airbag_seat", "airbag_calves",
                    "airbag_feet"):
        segments += _lane(channel, [(4, 0, 10, 0, 0), (10, 10, 10, 0, 0), (4, 10, 0, 0, 0),
                                    (12, 0, 0, 0, 0)] * 60)
    for channel in ("heat_lower_back", "heat_calves"):
        segments += _lane(channel, [(10, 0, 40, 0, 0), (PLAN_S - 20, 40, 40, 0, 0),
                                    (10, 40, 0, 0, 0)])
    return Plan("thirty_minutes", CHAIR, PLAN_S, segment_table(segments, CHAIR),
                ("steps[0] (work)",))


# --- naive comparisons ------------------------------------------------------------------------


def naive_audit(plan: Plan, limits) -> int:
    """Per segment in Python: bounds, rate, and the roller's zone by scanning the carriage."""
    segments = list(plan.segments())
    positions = [s for s in segments if s.channel == "roller_position"]
    found = 0
    for s in segments:
        channel_limits = limits.channel(s.channel)
        cap = channel_limits.cap.value
        if channel_limits.is_roller_work and channel_limits.zone_caps:
            low, high = float("inf"), float("-inf")
            for p in positions:
                if p.start_s < s.end_s and p.end_s > s.start_s:
                    low, high = min(low, p.lower_bound), max(high, p.upper_bound)
            for zone in limits.back_map.zones_touching(low, high):
                if zone in channel_limits.zone_caps:
                    cap = min(cap, channel_limits.zone_caps[zone].value)
        rate = abs(s.end_value - s.start_value) / s.duration_s
        if s.period_s:
            rate += 2 * np.pi * abs(s.amplitude) / s.period_s
        found += (s.upper_bound > cap) + (s.lower_bound < channel_limits.floor.value) + (
            rate > channel_limits.max_rate_per_s)
    return found


class NaiveSupervisor(Supervisor):
    """Looks up what was commanded by scanning every segment of the plan, per reading."""

    def __init__(self, *args, plan: Plan, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._plan_rows = [(CHAIR.channel_index(s.channel), s) for s in plan.segments()]

    def commanded(self, channel_index: int, board_s: float) -> float | None:
        for index, segment in self._plan_rows:
            if index == channel_index and segment.start_s <= board_s < segment.end_s:
                return self.runtime.effective(index, segment.value_at(board_s))
        return None


class NullPort:
    def send_immediate(self, message) -> bool:
        return True

    def set_rise_limits(self, rates_per_s) -> bool:
        return True

    async def close(self) -> None:
        pass


# --- measuring --------------------------------------------------------------------------------


def timed(function, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        function()
        samples.append((time.perf_counter_ns() - start) / 1e6)  # milliseconds
    return samples


def admission_figures(plan: Plan, repeat: int) -> list[Figure]:
    user = UserProfile()
    limits = plan_limits(CHAIR, user)
    assert isinstance(admit(plan, CHAIR, user), AdmittedPlan)
    ours = timed(lambda: admit(plan, CHAIR, user), repeat)
    audit_only = timed(lambda: audit_plan(plan, limits), repeat)
    naive = Figure("10 safety", "a Python loop per segment", "ms",
                   timed(lambda: naive_audit(plan, limits), max(3, repeat // 5)))
    careful = UserProfile(precautions={"pregnancy"}, injury_zones={"mid_back"},
                          on_precaution="adapt")
    assert isinstance(admit(plan, CHAIR, careful), AdmittedPlan)
    adapting = timed(lambda: admit(plan, CHAIR, careful), max(3, repeat // 5))
    size = f"a 30-minute chair plan ({len(plan)} segments)"
    return [
        Figure("10 safety", f"admit {size}", "ms", ours, baseline=naive,
               note="naive: roller zones found by scanning every carriage segment"),
        Figure("10 safety", f"audit alone (vectorised), {size}", "ms", audit_only,
               baseline=naive),
        Figure("10 safety", f"adapt {size} for pregnancy + an injured mid back", "ms",
               adapting),
    ]


async def _supervised(plan: Plan, naive: bool):
    admitted = admit(plan, CHAIR, UserProfile())
    stop_path = StopPath(NullPort())
    kwargs = {"plan": admitted.plan} if naive else {}
    cls = NaiveSupervisor if naive else Supervisor
    supervisor = cls(CHAIR, stop_path, clock_hz=CLOCK_HZ, **kwargs)
    supervisor.begin_session(admitted, 1.0, anchor_clock=0)  # telemetry starts at 1 s
    return supervisor, admitted


def _telemetry(supervisor, plan: Plan, seconds: float) -> list[float]:
    """Per round of telemetry (all sensors), microseconds, over `seconds` of plan time: a
    healthy chair, every sensor reading what its channel was told."""
    samples = []
    per_report = SENSOR_VALUES_PER_REPORT  # as many readings per report as the board sends
    for tick in range(int(seconds * 20)):
        t_s = 1.0 + tick / 20
        values = []
        wobble = 0.5 if tick % 2 else -0.5  # live sensors: noise of one resolution step
        for sensor in CHAIR.sensors:
            kind = sensor.kind.value
            if kind in ("pressure", "position", "speed"):
                value = float(plan.values_at(sensor.channel, [t_s])[0])
            elif kind == "temperature" and sensor.channel is not None:
                # A heater that works: the surface at its set point, once that is above 30 C.
                value = max(30.0, float(plan.values_at(sensor.channel, [t_s])[0]))
            elif kind == "current" and sensor.channel is not None \
                    and CHAIR.channel(sensor.channel).kind.value == "heat":
                # Its element draws 0.92 A while the thermostat holds it there, none below.
                on = float(plan.values_at(sensor.channel, [t_s])[0]) > 30.0
                value = 0.92 if on else 0.01
            else:
                value = {"temperature": 30.0, "current": 0.5, "occupancy": 1.0}[kind]
            values.append(value + (0 if kind == "occupancy" else wobble * sensor.resolution))
        clock = round(t_s * CLOCK_HZ)
        reports = [m.SensorReport(clock, first, tuple(values[first:first + per_report]))
                   for first in range(0, len(values), per_report)]
        start = time.perf_counter_ns()
        for report in reports:
            supervisor.on_message(report, t_s)
        samples.append((time.perf_counter_ns() - start) / 1000)
    return samples


def supervisor_figures(plan: Plan, seconds: float) -> list[Figure]:
    async def run():
        ours, admitted = await _supervised(plan, naive=False)
        naive, _ = await _supervised(plan, naive=True)
        # The same supervisor without the measured rise check, for that check's share.
        plain, _ = await _supervised(plan, naive=False)
        plain.watchers = [tuple(w for w in per_sensor if not isinstance(w, RiseWatch))
                          for per_sensor in plain.watchers]
        # All hold what was sent for the first `seconds`, as the streamer would have it.
        for supervisor in (ours, naive, plain):
            for segment in wire_segments(admitted.plan, 0, CLOCK_HZ):
                if segment.start_clock < (seconds + 3) * CLOCK_HZ:
                    supervisor.check_segment(segment)
        ours_samples = _telemetry(ours, admitted.plan, seconds)
        naive_samples = _telemetry(naive, admitted.plan, seconds)
        plain_samples = _telemetry(plain, admitted.plan, seconds)
        assert not ours.latch.latched and not naive.latch.latched, ours.latch.faults
        per_segment = await _segment_checks(admitted)
        return ours_samples, naive_samples, plain_samples, per_segment

    ours_samples, naive_samples, plain_samples, (checks, rechecks, count) = asyncio.run(run())
    reports = -(-len(CHAIR.sensors) // SENSOR_VALUES_PER_REPORT)
    naive = Figure("10 safety", "the set point found by scanning the plan per reading", "us",
                   naive_samples)
    round_ = f"{len(CHAIR.sensors)} sensors in {reports} reports"
    return [
        Figure("10 safety", f"supervisor per telemetry round ({round_})", "us", ours_samples,
               baseline=naive),
        Figure("10 safety", f"the same without the rise check ({round_})", "us",
               plain_samples, baseline=naive),
        Figure("10 safety", "supervisor per outgoing segment (check_segment)", "us", checks,
               baseline=Figure("10 safety", "re-audit of all sent, per segment", "us",
                               rechecks),
               note=f"{count} segments of the plan; naive measured on the first 300"),
    ]


async def _segment_checks(admitted: AdmittedPlan):
    supervisor, _ = await _supervised(admitted.plan, naive=False)
    segments = wire_segments(admitted.plan, 0, CLOCK_HZ)
    checks = []
    for segment in segments:
        start = time.perf_counter_ns()
        supervisor.check_segment(segment)
        checks.append((time.perf_counter_ns() - start) / 1000)
    assert not supervisor.latch.latched, supervisor.latch.faults
    limits = admitted.limits
    table = admitted.plan.table
    rechecks = []
    for sent in range(1, 301):
        partial = Plan("so far", CHAIR, float(table["start_s"][sent - 1] + 1), table[:sent])
        start = time.perf_counter_ns()
        audit_plan(partial, limits)
        rechecks.append((time.perf_counter_ns() - start) / 1000)
    return checks, rechecks, len(segments)


def figures(quick: bool) -> list[Figure]:
    plan = thirty_minute_plan()
    assert plan.problems() == [], plan.problems()[:3]
    assert any(c.kind is ChannelKind.POSITION for c in CHAIR.channels)
    return (admission_figures(plan, 3 if quick else 20)
            + supervisor_figures(plan, 10.0 if quick else 120.0))


if __name__ == "__main__":
    from benchmarks.__main__ import main

    sys.exit(main(["--only", "safety", *sys.argv[1:]]))
