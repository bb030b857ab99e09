"""The heater/cooler-off model against the simulated zone: a healthy zone never looks stuck,
whatever its set points, and a welded relay is always found."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from massagectl.routines.device import ChannelKind
from massagectl.safety.element_watch import ElementOffWatch
from massagectl.safety.faults import FaultCause
from massagectl.sim.physics.thermal import ThermalZone

PERIOD_S = 0.05  # the board's telemetry
NOISE_C = 0.054  # the simulated thermistor's noise (sim.sensors), read in 0.1 C steps


def drive(zone: ThermalZone, watch: ElementOffWatch, steps: list[tuple[float, float]],
          occupied: bool, seed: int, stuck_at_s: float = math.inf):
    """Run the zone through `steps` of (seconds, set point); the first fault and its time."""
    rng = np.random.default_rng(seed)
    now_s = 0.0
    for duration_s, set_point_c in steps:
        for _ in range(round(duration_s / PERIOD_S)):
            if now_s >= stuck_at_s:
                zone.heat_stuck = True
            zone.advance(PERIOD_S, set_point_c, occupied)
            now_s += PERIOD_S
            reading = round((zone.contact_c + rng.normal(0.0, NOISE_C)) * 10) / 10
            fault = watch.update(reading, now_s, set_point_c, 0.0)
            if fault is not None:
                return fault, now_s
    return None, now_s


set_points = st.lists(st.tuples(st.sampled_from([30.0, 60.0, 120.0, 240.0]),
                                st.sampled_from([0.0, 36.0, 38.0, 40.0, 42.0, 44.0])),
                      min_size=2, max_size=4)
# Each example simulates 10-30 minutes at 20 Hz: a few per CI run, many under the fuzz profile.
EXAMPLES = max(6, settings().max_examples // 100)


@settings(max_examples=EXAMPLES)
@given(steps=set_points, occupied=st.booleans(), seed=st.integers(0, 10_000))
def test_a_healthy_zone_never_looks_stuck_whatever_its_set_points(steps, occupied, seed):
    zone = ThermalZone(False, 0.0)
    fault, _ = drive(zone, ElementOffWatch("temp", 0, ChannelKind.HEAT),
                     [(400.0, 40.0), *steps], occupied, seed)
    assert fault is None, str(fault)


@settings(max_examples=EXAMPLES)
@given(set_point_c=st.sampled_from([38.0, 40.0, 42.0, 44.0]),
       then_c=st.sampled_from([None, 0.0, 36.0]),
       stuck_after_s=st.floats(0.0, 120.0), occupied=st.booleans(), seed=st.integers(0, 10_000))
def test_a_welded_relay_is_always_found(set_point_c, then_c, stuck_after_s, occupied, seed):
    zone = ThermalZone(False, 0.0)
    zone.cutoff_hot_c = math.inf  # the host alone: no cut-off to end it first
    later = set_point_c if then_c is None else then_c
    stuck_at_s = 500.0 + stuck_after_s
    fault, at_s = drive(zone, ElementOffWatch("temp", 0, ChannelKind.HEAT),
                        [(500.0, set_point_c), (600.0, later)], occupied, seed, stuck_at_s)
    assert fault is not None and fault.cause is FaultCause.HEATER_STUCK_ON
    assert at_s - stuck_at_s < 150.0
    assert zone.contact_c < 46.0  # found while the surface is still near the set point
