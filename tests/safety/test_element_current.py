"""The element current check (safety.element_current): a welded relay is found within 0.2 s of
the moment a sound one would open, a sound thermostat never trips it, and a board without the
sensor still has the temperature watch (safety.element_watch)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from massagectl.firmware_bridge.messages import DeviceState
from massagectl.routines.user import UserProfile
from massagectl.safety.element_current import (
    ELEMENT_DRAWS_A,
    MASK_SETTLE_S,
    SURELY_OFF_PAST_C,
    SURELY_ON_SHORT_C,
    SWITCH_LAG_S,
    ElementCurrentWatch,
    ZoneSurface,
    element_current_watchers_for,
    thermostat_relay,
)
from massagectl.safety.faults import FaultCause
from massagectl.sim.faults import FaultKind
from massagectl.sim.physics import thermal
from massagectl.sim.physics.thermal import ThermalZone
from tests.safety.plans import CHAIR, HOT_CHAIR, PAD, lane, plan_of
from tests.safety.rig import ELEMENT_ON_A, REPORT_PERIOD_S, Rig
from tests.safety.sim_rig import SimRig
from tests.safety.test_element_watch import zone_physics
from tests.sim.helpers import without_element_currents

HEAT = CHAIR.channel_index("heat_lower_back")
CURRENT = "heat_lower_back_current"
FOUND_WITHIN_S = 0.2  # the "within seconds", with room to spare


# --- the thermostat's rules, at their edges -------------------------------------------------


@pytest.mark.parametrize(("surface_c", "relay"), [
    (40.0 + SURELY_OFF_PAST_C, None),  # past by the band: it may have just opened
    (40.0 + SURELY_OFF_PAST_C + 0.01, False),  # past by more: surely open
    (40.0 - SURELY_ON_SHORT_C, None),
    (40.0 - SURELY_ON_SHORT_C - 0.01, True),
    (40.0, None),
])
def test_the_thermostat_is_judged_by_its_band_and_the_sensors_noise(surface_c, relay):
    assert thermostat_relay(40.0, 0.0, 1.0, surface_c) is relay
    # Mirrored for a cooler (safe default 40 C, cooling to 20 C).
    assert thermostat_relay(20.0, 40.0, -1.0, 40.0 - (surface_c - 20.0)) is relay


def test_a_channel_off_has_its_relay_surely_open_whatever_the_surface():
    assert thermostat_relay(None, 0.0, 1.0, None) is False
    assert thermostat_relay(0.0, 0.0, 1.0, 20.0) is False
    assert thermostat_relay(40.0, 40.0, -1.0, 20.0) is False  # a cooler at its off set point
    assert thermostat_relay(40.0, 0.0, 1.0, None) is None  # on, and the surface unknown


# --- one watch against a context that says what the host knows --------------------------------


class Ctx:
    """What the supervisor tells a watcher: the set point by board time, the board's word."""

    def __init__(self, set_point, device=CHAIR, board_state=DeviceState.READY,
                 outputs_safe=False):
        self.set_point = set_point  # board_s -> C or None
        self.device = device
        self.board_state = board_state
        self.outputs_safe = outputs_safe
        self.session_active = True

    def commanded(self, index, board_s):
        return self.set_point(board_s)

    def limits_for(self, index):
        return type("Limits", (), {"channel": self.device.channels[index]})()


def watch_of(device=CHAIR, channel="heat_lower_back"):
    """The element current watch of a channel and the zone's surface it reads."""
    watchers = element_current_watchers_for(device)
    current = next(w for per in watchers for w in per if isinstance(w, ElementCurrentWatch)
                   and device.channels[w.channel_index].id == channel)
    return current, current.surface


def feed(watch, surface, ctx, readings, start_s=0.0):
    """(surface C, current A) pairs at 20 Hz; the first fault and its board time."""
    for n, (surface_c, current_a) in enumerate(readings):
        board_s = start_s + n * REPORT_PERIOD_S
        if surface is not None:
            surface.update(surface_c, board_s, ctx)
        fault = watch.update(current_a, board_s, ctx)
        if fault is not None:
            return fault, board_s
    return None, None


@pytest.mark.parametrize(("current_a", "trips"), [
    (ELEMENT_DRAWS_A - 0.01, False), (ELEMENT_DRAWS_A, True)])
def test_current_with_the_heat_off_trips_from_the_limit_on(current_a, trips):
    watch, surface = watch_of()
    fault, _ = feed(watch, surface, Ctx(lambda t: None), [(30.0, current_a)] * 40)
    assert (fault is not None) is trips
    if trips:
        assert fault.cause is FaultCause.HEATER_STUCK_ON
        assert "the heat is off" in fault.detail and "welded" in fault.detail
        assert "get up from the chair and unplug it" in fault.detail


def test_one_reading_of_current_is_a_glitch_two_are_a_welded_relay():
    watch, surface = watch_of()
    glitches = [(30.0, ELEMENT_ON_A), (30.0, 0.01)] * 20
    assert feed(watch, surface, Ctx(lambda t: None), glitches)[0] is None
    fault, at_s = feed(watch, surface, Ctx(lambda t: None), [(30.0, ELEMENT_ON_A)] * 3, 5.0)
    assert fault is not None and at_s == pytest.approx(5.0 + REPORT_PERIOD_S)


@pytest.mark.parametrize(("past_c", "trips"), [
    (SURELY_OFF_PAST_C, False), (SURELY_OFF_PAST_C + 0.1, True)])
def test_current_with_the_surface_past_its_set_point_trips_beyond_the_band(past_c, trips):
    """Readings in 0.1 C steps: 40.3 C against 40 C may be a thermostat that has just opened
    and a surface a little cooler than it reads; 40.4 C is not."""
    watch, surface = watch_of()
    fault, _ = feed(watch, surface, Ctx(lambda t: 40.0),
                    [(round(40.0 + past_c, 1), ELEMENT_ON_A)] * 40)
    assert (fault is not None) is trips
    if trips:
        assert "past its set point 40 C" in fault.detail


def test_current_just_after_the_heat_goes_off_is_the_relay_opening():
    """The board opens the relay within SWITCH_LAG_S of the heat going off: a reading that
    still shows the current then is no fault, the second one after it is."""
    watch, surface = watch_of()
    off_s = 1.0
    set_point = lambda t: 40.0 if t < off_s else None  # noqa: E731
    opening = [(38.0, ELEMENT_ON_A)] * 21 + [(38.0, 0.01)] * 40  # open at the first reading
    assert feed(watch, surface, Ctx(set_point), opening)[0] is None
    watch, surface = watch_of()
    fault, at_s = feed(watch, surface, Ctx(set_point), [(38.0, ELEMENT_ON_A)] * 60)
    assert fault is not None
    assert off_s + SWITCH_LAG_S <= at_s <= off_s + FOUND_WITHIN_S


def test_while_a_stop_is_unconfirmed_nothing_is_judged_then_the_board_says_it_is_safe():
    stopping = type("StopPath", (), {"stopping": True})()
    ctx = Ctx(lambda t: None)
    ctx.stop_path = stopping
    watch, surface = watch_of()
    assert feed(watch, surface, ctx, [(38.0, ELEMENT_ON_A)] * 20)[0] is None
    ctx.board_state, ctx.outputs_safe = DeviceState.SHUTDOWN, True  # the board confirmed
    fault, _ = feed(watch, surface, ctx, [(38.0, ELEMENT_ON_A)] * 2, 1.0)
    assert fault is not None and "the board is stopped" in fault.detail


def test_a_zone_switched_off_by_the_mask_is_judged_once_the_board_surely_heard_it():
    runtime = type("Runtime", (), {"enabled": lambda self, index: False})()
    ctx = Ctx(lambda t: 0.0)  # what the supervisor says of a masked channel: its safe default
    ctx.runtime = runtime
    watch, surface = watch_of()
    fault, at_s = feed(watch, surface, ctx, [(38.0, ELEMENT_ON_A)] * 60)
    assert fault is not None and "switched off" in fault.detail
    assert MASK_SETTLE_S <= at_s <= MASK_SETTLE_S + 2 * REPORT_PERIOD_S  # two readings


def test_no_current_while_the_thermostat_is_surely_on_is_a_failed_element_or_sensor():
    watch, surface = watch_of()
    limit_s = watch.not_drawing_after_s  # the 45 C channel's slew at 5 C/s, and a second
    assert limit_s == pytest.approx(45.0 / 5.0 + 1.0)
    cold = [(30.0, 0.01)] * round(limit_s / REPORT_PERIOD_S)
    assert feed(watch, surface, Ctx(lambda t: 40.0), cold)[0] is None
    watch, surface = watch_of()
    fault, _ = feed(watch, surface, Ctx(lambda t: 40.0), cold + [(30.0, 0.01)] * 2)
    assert fault is not None and fault.cause is FaultCause.HEATER_NOT_HEATING
    assert "current sensor" in fault.detail


def test_a_cooler_drawing_with_its_cooling_off_is_stuck_on():
    watch, surface = watch_of(PAD, "cool_lower_back")
    fault, _ = feed(watch, surface, Ctx(lambda t: None, PAD), [(20.0, 1.25)] * 3)
    assert fault is not None and fault.cause is FaultCause.COOLER_STUCK_ON


def test_only_devices_with_element_current_sensors_get_the_watch():
    bare = without_element_currents("chair")
    assert not any(w for per in element_current_watchers_for(bare) for w in per)
    kinds = [type(w) for per in element_current_watchers_for(CHAIR) for w in per]
    assert kinds.count(ElementCurrentWatch) == 2 and kinds.count(ZoneSurface) == 2
    pad = element_current_watchers_for(PAD)
    assert [type(w) for per in pad for w in per].count(ElementCurrentWatch) == 2


# --- a sound thermostat, cycling on the simulated zone ------------------------------------------

PERIOD_S = 0.05
NOISE_C, NOISE_A = 0.054, 0.009  # the simulated sensors' noise (sim.sensors)
RISE_C_PER_S = 5.0  # the board slews a heat set point up from off at this (chair.toml)


def cycle(schedule, seed, weld_at_s=math.inf, cutoff=False):
    """Run the reference zone through (seconds, host set point or None, occupied) stretches,
    the board's thermostat following the set point slewed up from off; the watch hears the
    host's set point, the surface and the current as the board reads them. The first fault and
    when, and when after the weld a sound relay would first have opened."""
    zone = ThermalZone(False, 0.0)
    if not cutoff:
        zone.cutoff_hot_c = math.inf
    zone.element_c = zone.contact_c = thermal.AMBIENT_C
    watch, surface = watch_of()
    rng = np.random.default_rng(seed)
    ends, start_s = [], 0.0
    for duration_s, set_point_c, _ in schedule:
        start_s += duration_s
        ends.append((start_s, set_point_c))

    def host_set_point(board_s):
        return next((sp for end_s, sp in ends if board_s < end_s), None)

    ctx = Ctx(host_set_point)
    now_s, slewed, opened_s = 0.0, 0.0, None
    for duration_s, set_point_c, occupied in schedule:
        for _ in range(round(duration_s / PERIOD_S)):
            target = set_point_c or 0.0
            slewed = min(target, slewed + RISE_C_PER_S * PERIOD_S) if target > slewed \
                else target
            zone.heat_stuck = now_s >= weld_at_s
            was_on = zone.heating
            zone.advance(PERIOD_S, slewed if slewed > 0 else None, occupied)
            if opened_s is None and now_s >= weld_at_s and was_on and not zone.heating:
                opened_s = now_s  # a sound relay would have opened here
            if opened_s is None and now_s >= weld_at_s and not zone.heating \
                    and host_set_point(now_s) is None:
                opened_s = now_s
            now_s += PERIOD_S
            surface_c = round((zone.contact_c + rng.normal(0.0, NOISE_C)) * 10) / 10
            current_a = max(0.0, round((zone.current_a(False) + rng.normal(0.0, NOISE_A))
                                       * 100) / 100)
            surface.update(surface_c, now_s, ctx)
            fault = watch.update(current_a, now_s, ctx)
            if fault is not None:
                return fault, now_s, opened_s
    return None, now_s, opened_s


stretches = st.lists(
    st.tuples(st.sampled_from([5.0, 30.0, 60.0, 200.0]),
              st.sampled_from([None, None, 34.0, 38.0, 40.0, 41.0, 42.0, 43.0, 44.0]),
              st.booleans()),
    min_size=2, max_size=5)
rooms = st.fixed_dictionaries({
    "AMBIENT_C": st.floats(15.0, 30.0), "SKIN_C": st.floats(31.0, 36.5),
    "CONTACT_TO_SKIN_W_PER_K": st.floats(0.15, 0.6),
    "ELEMENT_POWER_W": st.floats(18.0, 35.0)})
MANY = max(6, settings().max_examples // 50)


@settings(max_examples=MANY, deadline=None)
@given(physics=rooms, schedule=stretches, seed=st.integers(0, 10_000))
def test_a_sound_thermostat_cycling_never_trips(physics, schedule, seed):
    """Any set point, room, skin and contact, the heat on and off, the board slewing a set
    point up: a sound relay draws current only where the thermostat may have it closed, and
    draws it whenever the thermostat surely has it closed."""
    with zone_physics(**physics):
        fault, at_s, _ = cycle([(300.0, 42.0, True), *schedule], seed)
    assert fault is None, f"{fault} at {at_s:.1f} s"


@settings(max_examples=MANY, deadline=None)
@given(set_point_c=st.sampled_from([38.0, 40.0, 42.0, 44.0]),
       weld_after_s=st.floats(0.0, 60.0), off=st.booleans(), occupied=st.booleans(),
       seed=st.integers(0, 10_000))
def test_a_relay_welded_with_the_heat_going_off_is_found_within_0_2_s(set_point_c, weld_after_s,
                                                                       off, occupied, seed):
    """Welded at any moment of the thermostat's cycle, then the heat goes off at 700 s: found
    within FOUND_WITHIN_S of the heat going off (or at once if the relay was meant to be open
    already and the surface runs past the band)."""
    weld_at_s = 640.0 + weld_after_s
    schedule = [(700.0, set_point_c, occupied), (60.0, None if off else set_point_c, occupied)]
    fault, at_s, _ = cycle(schedule, seed, weld_at_s)
    assert fault is not None and fault.cause is FaultCause.HEATER_STUCK_ON, str(fault)
    if off:
        assert at_s <= 700.0 + FOUND_WITHIN_S + 1e-6


# --- the whole chair: the simulated board with its own duty, the real link, the supervisor --


WARM_S = 500.0


def heat_plan(set_point_c, off_at_s=1000.0, device=CHAIR):
    """The heat up to `set_point_c`, held, and off from `off_at_s` (at 4 C/s)."""
    pieces = [(10, 0, set_point_c, 0), (off_at_s - 10, set_point_c, set_point_c, 1),
              (10, set_point_c, 0, 2)]
    return plan_of(device, lane("heat_lower_back", *pieces), duration_s=off_at_s + 10)


async def weld(set_point_c, weld_at_s, off_at_s=1000.0, device=CHAIR, limit_s=300.0):
    """Weld the lower back's relay `weld_at_s` into the session; the first fault, how long
    after a sound relay would first have opened (its thermostat opening, or the heat off), and
    the latched faults."""
    async with SimRig(device, HOT_CHAIR) as rig:
        user = UserProfile(limits={"temperature_c": 44})
        rig.start(rig.admit(heat_plan(set_point_c, off_at_s, device), user))
        await rig.run_for(weld_at_s)
        assert not rig.stop_seen(), rig.supervisor.latch.faults
        rig.board.inject_fault(FaultKind.HEATER_STUCK_ON, "heat_lower_back",
                               now_s=rig.loop.time())
        zone = rig.board.plant.zones[HEAT]
        opened_s = None
        deadline_s = rig.loop.time() + limit_s
        while not rig.stop_seen() and rig.loop.time() < deadline_s:
            if opened_s is None and not zone.heating:  # the board's thermostat opened it
                opened_s = rig.loop.time()
            await rig.run_for(0.01)
        await rig.until_stopped(limit_s=1.0)
        faults = rig.supervisor.latch.faults
        first = faults[0]
        return first, (None if opened_s is None else first.host_s - opened_s), faults


@pytest.mark.parametrize(("set_point_c", "weld_at_s", "off_at_s"), [
    (42.0, WARM_S + 100.0, 1000.0),  # welded while the thermostat holds 42 C
    # Welded while warming up (the relay closed); the heat goes off from 90 s, and the
    # thermostat opens once its falling set point passes the surface.
    (40.0, 60.0, 90.0),
])
def test_a_welded_relay_is_found_within_0_2_s_of_when_a_sound_one_would_open(
        set_point_c, weld_at_s, off_at_s, run_virtual_time):
    fault, after_s, _ = run_virtual_time(weld(set_point_c, weld_at_s, off_at_s))
    assert fault.cause is FaultCause.HEATER_STUCK_ON, str(fault)
    assert CURRENT in fault.detail and "welded" in fault.detail
    assert after_s is not None and after_s <= FOUND_WITHIN_S
    print(f"\nwelded at {set_point_c:g} C: found {after_s * 1000:.0f} ms after a sound relay "
          "would have opened")


def test_a_board_without_the_sensor_still_has_the_temperature_watch(run_virtual_time):
    fault, after_s, faults = run_virtual_time(weld(
        42.0, WARM_S + 100.0, device=without_element_currents("chair")))
    assert fault.cause is FaultCause.HEATER_STUCK_ON, str(fault)
    assert "the heater could do" in fault.detail  # safety.element_watch's envelope
    assert after_s is not None and after_s > 5.0
    assert all(CURRENT not in f.detail for f in faults)


# --- the host alone, against a fake board that does not do its duty -----------------------------


# The heat going off at 5 C/s from 40 C over a surface at 30 C: a sound relay opens at 32 s,
# where the set point passes the surface. The host sees it surely open once the set point of
# SWITCH_LAG_S before is more than the band below the reading: 0.06 s later, then two readings.
HOST_ALONE_WITHIN_S = SURELY_OFF_PAST_C / 5.0 + SWITCH_LAG_S + 2 * REPORT_PERIOD_S


@pytest.mark.parametrize("welded", [False, True])
def test_the_host_finds_a_welded_relay_as_the_heat_goes_off_on_its_own(welded,
                                                                         run_virtual_time):
    async def scenario():
        rig = Rig(plan_of(CHAIR, lane("heat_lower_back", (10, 0, 40, 0), (20, 40, 40, 1),
                                      (8, 40, 0, 2)), duration_s=38.0))
        rig.began_s = rig.now
        rig.begin()
        # Warming up, far below the set point: the relay closed, welded or not.
        await rig.run(30.0, {"temp_lower_back": 30.0})
        welded_current = {CURRENT: ELEMENT_ON_A} if welded else {}
        await rig.run(8.0, {"temp_lower_back": 30.0, **welded_current}, until=rig.stop_seen)
        return rig

    rig = run_virtual_time(scenario())
    if not welded:  # the rig's element draws as its thermostat says
        assert rig.supervisor.latch.faults == []
        return
    [fault, *_] = rig.supervisor.latch.faults
    assert fault.cause is FaultCause.HEATER_STUCK_ON and "past its set point" in fault.detail
    assert 0.0 < fault.host_s - (rig.began_s + 32.0) <= HOST_ALONE_WITHIN_S + 1e-6
