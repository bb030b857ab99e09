"""The seat check against the simulated body and depth motor: a person in the chair never looks
absent, however deep the heads stand or move on their back; an empty seat behind a stuck switch
is found once the heads stand on the middle or lower back deep enough to tell."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from massagectl.routines.device import Zone
from massagectl.routines.user import UserProfile
from massagectl.safety.body_map import BackZoneMap
from massagectl.safety.faults import FaultCause
from massagectl.safety.plausibility import (
    PRESSED_ZONES,
    PRESSING_DEPTH_MM,
    SEAT_EVIDENCE_S,
    SHALLOW_PRESSING_DEPTH_MM,
    STILL_WINDOW_S,
    SeatCheck,
)
from massagectl.sim.physics.drives import DEPTH_A_PER_MM_PER_S, DEPTH_IDLE_A, LOAD_A_PER_N
from massagectl.sim.physics.occupant import LUMBAR_FRACTION_OF_BACK, Occupant
from tests.safety.plans import CHAIR

PERIOD_S = 0.05  # the board's telemetry
LOAD_NOISE_A = 0.015  # the simulated current sensor's (sim.sensors: 0.3 % of a 5 A span)
WATCH_S = STILL_WINDOW_S + SEAT_EVIDENCE_S + 1.0
SENSOR = {sensor.id: index for index, sensor in enumerate(CHAIR.sensors)}
BASE_MM = CHAIR.track.base_above_seat_mm


class Session:
    """What SeatCheck asks of the supervisor: a session runs, no bag is filling."""

    session_active = True
    outputs_safe = False

    def commanded(self, channel_index: int, board_s: float) -> float | None:
        return None


def watch(user: UserProfile, occupant: Occupant, position_mm: float,
          depth_at, stiffness_n_per_mm: float, seed: int) -> tuple[FaultCause | None, float]:
    """The heads at `position_mm` on the track and `depth_at(t)` mm deep for WATCH_S, the load
    what the reference depth motor draws; the first fault and its time."""
    check = SeatCheck(CHAIR)
    bands = BackZoneMap(CHAIR, user).bands_mm
    rng = np.random.default_rng(seed)
    readings = [math.nan] * len(CHAIR.sensors)
    readings[SENSOR["seat"]] = 1.0  # stuck at occupied, or truly occupied
    readings[SENSOR["roller_position"]] = position_mm
    height_mm = BASE_MM + position_mm
    previous = depth_at(0.0)
    for step in range(1, round(WATCH_S / PERIOD_S) + 1):
        t = step * PERIOD_S
        depth_mm = depth_at(t)
        speed_mm_per_s = abs(depth_mm - previous) / PERIOD_S
        previous = depth_mm
        force_n = (stiffness_n_per_mm / 6.0) * occupant.roller_force_n(height_mm, depth_mm)
        load_a = (DEPTH_IDLE_A + DEPTH_A_PER_MM_PER_S * speed_mm_per_s + LOAD_A_PER_N * force_n
                  + rng.normal(0.0, LOAD_NOISE_A))
        readings[SENSOR["roller_depth"]] = round(depth_mm, 1)
        readings[SENSOR["roller_load"]] = max(0.0, round(load_a, 2))
        fault = check.update(readings, t, Session(), bands)
        if fault is not None:
            return fault.cause, t
    return None, WATCH_S


bodies = st.builds(
    lambda shoulder_mm, back_mm: UserProfile(shoulder_height_mm=shoulder_mm,
                                             back_length_mm=back_mm),
    st.floats(480.0, 700.0), st.floats(380.0, 520.0))


def on_the_back(user: UserProfile, fraction: float | None) -> float:
    """A track position on the middle or lower back (the zones the check judges); None: the
    hollow of the lumbar curve, where the heads touch the back least."""
    if fraction is None:
        return (user.shoulder_height_mm - LUMBAR_FRACTION_OF_BACK * user.back_length_mm
                - BASE_MM)
    bands = BackZoneMap(CHAIR, user).bands_mm
    low = max(bands[Zone.LOWER_BACK][0], CHAIR.channel("roller_position").min)
    high = bands[Zone.MID_BACK][1]
    assert all(zone in PRESSED_ZONES for zone in (Zone.LOWER_BACK, Zone.MID_BACK))
    return low + fraction * (high - low)


# Where the checks are closest to a seated back: shallow heads, the softest back, the hollow.
positions = st.one_of(st.none(), st.floats(0.0, 1.0))
depths = st.one_of(st.floats(0.0, 10.0), st.floats(0.0, 40.0))
stiffnesses = st.one_of(st.just(5.0), st.floats(5.0, 15.0))


@given(user=bodies, fraction=positions, start_mm=depths,
       speed_mm_per_s=st.sampled_from([0.0, 0.0, 1.0, 5.0, 15.0]),
       stiffness_n_per_mm=stiffnesses, seed=st.integers(0, 10_000))
# Each rule's edge on the softest back, in the hollow: still heads at the shallow rule's depth,
# heads at the deep rule's depth, standing and moving at full speed.
@example(UserProfile(), None, SHALLOW_PRESSING_DEPTH_MM, 0.0, 5.0, 0)
@example(UserProfile(), None, PRESSING_DEPTH_MM, 0.0, 5.0, 0)
@example(UserProfile(), None, PRESSING_DEPTH_MM, 15.0, 5.0, 0)
def test_a_seated_person_never_looks_absent_to_the_rollers(user, fraction, start_mm,
                                                            speed_mm_per_s,
                                                            stiffness_n_per_mm, seed):
    occupant = Occupant(user.shoulder_height_mm, user.back_length_mm)

    def depth_at(t: float) -> float:  # standing, or moving between the end stops
        travel = (start_mm + speed_mm_per_s * t) % 80.0
        return travel if travel <= 40.0 else 80.0 - travel

    cause, _ = watch(user, occupant, on_the_back(user, fraction), depth_at,
                     stiffness_n_per_mm, seed)
    assert cause is None


@given(user=bodies, fraction=positions,
       depth_mm=st.one_of(st.just(SHALLOW_PRESSING_DEPTH_MM),
                          st.floats(SHALLOW_PRESSING_DEPTH_MM, 40.0)),
       seed=st.integers(0, 10_000))
def test_an_empty_seat_behind_a_stuck_switch_is_found_by_still_heads(user, fraction, depth_mm,
                                                                      seed):
    nobody = Occupant(user.shoulder_height_mm, user.back_length_mm, present=False)
    cause, at_s = watch(user, nobody, on_the_back(user, fraction), lambda t: depth_mm, 6.0, seed)
    assert cause is FaultCause.SEAT_IMPLAUSIBLE
    assert at_s <= STILL_WINDOW_S + SEAT_EVIDENCE_S + 2 * PERIOD_S
