"""The board's sensor front end: noise, quantisation, broken sensors, and its range checks.

Readings are the plant's true values plus Gaussian noise (a seeded generator, so a test sees the
same readings every run), rounded to the profile's `resolution`. A dead sensor reads far outside
its valid range (an open thermistor reads very cold); a stuck one repeats its last reading.

The firmware checks every sample: a reading outside the sensor's valid range for
SENSOR_RANGE_TRIP_READINGS samples in a row means a broken sensor; a reading beyond the observed
channel's hard range (plus a margin) for OVER_LIMIT_TRIP_READINGS samples means the hardware has
run away. Either shuts the board down.
"""

from __future__ import annotations

import math
from enum import IntEnum

import numpy as np

from massagectl.routines.device import DeviceProfile, SensorKind

# hardware.md: 5 samples in a row, 250 ms at 20 Hz: one glitch (a motor starting couples noise
# into an ADC line) is ignored, a broken or disconnected sensor stops the chair within a second.
SENSOR_RANGE_TRIP_READINGS = 5
OVER_LIMIT_TRIP_READINGS = 5
# Noise, as a fraction of the sensor's valid span: sensor noise scales with its full scale
# (an ADC's least bits). Gives 0.15 mm on the track encoder, 0.04 kPa, 0.05 C, 0.015 A.
NOISE_FRACTION_OF_SPAN = {
    SensorKind.POSITION: 0.0002,
    SensorKind.PRESSURE: 0.001,
    SensorKind.TEMPERATURE: 0.0006,
    SensorKind.SPEED: 0.004,
    SensorKind.CURRENT: 0.003,
    SensorKind.OCCUPANCY: 0.0,  # a switch: no noise
}
# A reading this far beyond the channel's hard range (fraction of the range) is over the limit.
OVER_LIMIT_MARGIN_FRACTION = 0.05
# A dead sensor reads below its valid range by a quarter of the span (at least 2 resolution
# steps, so quantisation cannot round it back in).
DEAD_OFFSET_FRACTION = 0.25
DEAD_OFFSET_MIN_STEPS = 2
# Noise is drawn in blocks: one generator call per block instead of per sample.
NOISE_BLOCK_SAMPLES = 2048


_NON_NEGATIVE = (SensorKind.CURRENT, SensorKind.SPEED, SensorKind.OCCUPANCY)


class Trip(IntEnum):
    SENSOR_RANGE = 1
    OVER_LIMIT = 2


class SensorBank:
    """Turns true values into the readings the board reports, and judges them."""

    def __init__(self, profile: DeviceProfile, seed: int) -> None:
        sensors = profile.sensors
        self.count = len(sensors)
        self.valid_min = np.array([s.valid_min for s in sensors], dtype=np.float64)
        self.valid_max = np.array([s.valid_max for s in sensors], dtype=np.float64)
        self.resolution = np.array([s.resolution for s in sensors], dtype=np.float64)
        self._steps_per_unit = 1.0 / self.resolution
        span = self.valid_max - self.valid_min
        self.sigma = np.array([NOISE_FRACTION_OF_SPAN[s.kind] for s in sensors]) * span
        # Pulse counters and single-supply current amplifiers cannot read below zero.
        self.floor = np.array(
            [0.0 if s.kind in _NON_NEGATIVE else -np.inf for s in sensors], dtype=np.float64
        )
        self.dead_value = self.valid_min - np.maximum(
            DEAD_OFFSET_FRACTION * span, DEAD_OFFSET_MIN_STEPS * self.resolution
        )
        self.limit_low = np.full(self.count, -np.inf)
        self.limit_high = np.full(self.count, np.inf)
        for i, sensor in enumerate(sensors):
            if sensor.channel is None:
                continue
            channel = profile.channel(sensor.channel)
            if channel.unit is sensor.unit:
                margin = OVER_LIMIT_MARGIN_FRACTION * (channel.max - channel.min)
                self.limit_low[i] = channel.min - margin
                self.limit_high[i] = channel.max + margin
        self._rng = np.random.default_rng(seed)
        self._noise: list[list[float]] = []
        self._noise_row = 0
        self.readings: list[float] = [math.nan] * self.count
        self.dead: set[int] = set()
        self.stuck: dict[int, float] = {}
        # Readings inside both checks need no counting: the common case costs one comparison.
        self._quiet_low = np.maximum(self.valid_min, self.limit_low)
        self._quiet_high = np.minimum(self.valid_max, self.limit_high)
        # Per-sample work runs on plain lists: for 16 values, each numpy call costs more than the
        # Python arithmetic it replaces (the results are the same floats).
        self._sample_rules = list(zip(self.floor.tolist(), self._steps_per_unit.tolist()))
        self._quiet_ranges = list(zip(self._quiet_low.tolist(), self._quiet_high.tolist()))
        self._counting = False
        self._range_runs = np.zeros(self.count, dtype=np.int64)
        self._limit_runs = np.zeros(self.count, dtype=np.int64)

    def sample(self, true_values: list[float]) -> list[float]:
        """One reading per sensor: noisy, quantised, with broken sensors applied."""
        if self._noise_row >= len(self._noise):
            block = self._rng.standard_normal((NOISE_BLOCK_SAMPLES, self.count)) * self.sigma
            self._noise = block.tolist()
            self._noise_row = 0
        noise = self._noise[self._noise_row]
        self._noise_row += 1
        readings = []
        try:
            for value, error, (floor, steps_per_unit) in zip(
                true_values, noise, self._sample_rules
            ):
                value += error
                if value < floor:
                    value = floor
                # Whole steps, then back to units by dividing by the steps per unit (an exact
                # integer for the usual resolutions), so 219 steps of 0.1 C read 21.9, not
                # 21.900000000000002. round() halves to even as numpy's rint does, and its whole
                # number has no sign, so -0.0 reads as 0.0.
                readings.append(round(value * steps_per_unit) / steps_per_unit)
        except (ValueError, OverflowError):
            # round() refuses a value that is not finite (a test breaking the physics); numpy
            # carries it through.
            readings = _quantise(np.add(true_values, noise), self.floor, self._steps_per_unit)
        for index in self.dead:
            readings[index] = float(self.dead_value[index])
        for index, value in self.stuck.items():
            readings[index] = value
        self.readings = readings
        return readings

    def judge(self) -> tuple[Trip, int, float] | None:
        """Count the latest readings against the board's checks; the first check that trips."""
        loud = any(
            value < low or value > high
            for value, (low, high) in zip(self.readings, self._quiet_ranges)
        )
        if not (loud or self._counting):
            return None
        self._counting = loud
        readings = np.array(self.readings)
        outside = (readings < self.valid_min) | (readings > self.valid_max)
        self._range_runs = (self._range_runs + 1) * outside
        over = (readings < self.limit_low) | (readings > self.limit_high)
        self._limit_runs = (self._limit_runs + 1) * over
        for runs, trip, needed in (
            (self._range_runs, Trip.SENSOR_RANGE, SENSOR_RANGE_TRIP_READINGS),
            (self._limit_runs, Trip.OVER_LIMIT, OVER_LIMIT_TRIP_READINGS),
        ):
            tripped = np.flatnonzero(runs >= needed)
            if len(tripped):
                index = int(tripped[0])
                return trip, index, float(readings[index])
        return None

    def forget_runs(self) -> None:
        """A restarted board starts counting afresh."""
        self._range_runs[:] = 0
        self._limit_runs[:] = 0
        self._counting = False

    def freeze(self, index: int, true_value: float) -> float:
        """Make sensor `index` stuck at its latest reading (or its true value if none yet)."""
        value = float(self.readings[index])
        if value != value:  # never sampled
            step = float(self.resolution[index])
            value = round(true_value / step) * step
        self.stuck[index] = value
        return value


def _quantise(readings: np.ndarray, floor: np.ndarray, steps_per_unit: np.ndarray) -> list[float]:
    """SensorBank.sample's floor and whole steps, for readings that may not be finite."""
    np.maximum(readings, floor, out=readings)
    readings *= steps_per_unit
    np.rint(readings, out=readings)
    readings /= steps_per_unit
    readings += 0.0  # -0.0 reads as 0.0
    return readings.tolist()
