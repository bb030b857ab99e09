"""Thermal dose: the fraction of a skin burn that a temperature history has delivered.

Moritz & Henriques (1947, as summarised by Kowa): 44 C is the lowest temperature that burns
skin, after about 6 h; each degree above halves the time (about 6 min at 50 C, valid up to
51 C). A burn happens when the accumulated dose reaches 1:

    dose = integral of dt / burn_time(T(t))

Below 44 C no human data exist. The rate is continued downwards with the time quadrupling per
degree (the R = 0.25 of Sapareto & Dewey's CEM43 tissue-damage model), which keeps the rate
continuous at 44 C and makes 42 C worth 1/16 of 44 C; at skin temperature (37 C and below) the
rate is zero. The rate never decreases when the temperature rises (tests check it), so a bound
on the temperature is a bound on the dose.

Above 51 C the true burn time falls faster than the halving rule; the rule is continued anyway
because the over-temperature trip ends heat at 45 C long before.

Budget: heat ends at `HeatLimits.dose_budget` = 0.10 of a burn. A tenth, because the halving rule
multiplies any temperature error: the thermistor reads the cover, not the skin, and a 3 C error
(sensor, placement, pressure from body weight cutting perfusion) is a factor of 8; the 1947
threshold came from healthy skin, and heating-pad burns happen at low settings in people with
reduced sensation (FDA/CPSC advisory, 1995). At the 42 C default cap a 30 min session uses
0.005 of a burn; only settings near the 45 C hard limit reach the budget (after ~18 min).
"""

from __future__ import annotations

import math

import numpy as np

# The lowest burning temperature and its exposure time (Moritz & Henriques 1947).
BURN_THRESHOLD_C = 44.0
BURN_TIME_AT_THRESHOLD_S = 6 * 3600.0
# Burn time halves per degree above the threshold (factor 2) and, below it, quadruples per degree
# (factor 4, CEM43's R = 0.25).
FACTOR_PER_C_ABOVE = 2.0
FACTOR_PER_C_BELOW = 4.0
# Skin sits at 32-37 C; tissue at body temperature is not damaged however long it stays there.
NO_DOSE_AT_OR_BELOW_C = 37.0


def dose_rate_per_s(temperature_c: float) -> float:
    """Fraction of a burn delivered per second at `temperature_c` (NaN counts as a burn now)."""
    if not temperature_c <= NO_DOSE_AT_OR_BELOW_C:
        if math.isnan(temperature_c):
            return math.inf
        excess_c = min(temperature_c - BURN_THRESHOLD_C, 200.0)  # 2**200 is finite in float64
        factor = FACTOR_PER_C_ABOVE if excess_c >= 0 else FACTOR_PER_C_BELOW
        return factor**excess_c / BURN_TIME_AT_THRESHOLD_S
    return 0.0


def dose_rates_per_s(temperatures_c: np.ndarray) -> np.ndarray:
    """`dose_rate_per_s` over an array."""
    temperatures_c = np.asarray(temperatures_c, dtype=np.float64)
    excess_c = np.minimum(temperatures_c - BURN_THRESHOLD_C, 200.0)
    base = np.where(excess_c >= 0, FACTOR_PER_C_ABOVE, FACTOR_PER_C_BELOW)
    rates = base**excess_c / BURN_TIME_AT_THRESHOLD_S
    rates = np.where(temperatures_c <= NO_DOSE_AT_OR_BELOW_C, 0.0, rates)
    return np.where(np.isnan(temperatures_c), np.inf, rates)


def burn_time_s(temperature_c: float) -> float:
    """Exposure at a constant temperature that reaches a full burn (inf where none)."""
    rate = dose_rate_per_s(temperature_c)
    return math.inf if rate == 0.0 else 1.0 / rate


class DoseMeter:
    """Accumulates the dose of one heat zone from timed temperature readings.

    Between two readings the higher of the two is taken (the rate is monotonic, so this never
    under-counts a rising or falling temperature between samples).
    """

    def __init__(self) -> None:
        self.dose = 0.0
        self._last_s: float | None = None
        self._last_c = 0.0

    def add(self, time_s: float, temperature_c: float) -> float:
        if self._last_s is not None and time_s > self._last_s:
            hottest_c = max(self._last_c, temperature_c)
            if math.isnan(temperature_c) or math.isnan(self._last_c):
                hottest_c = math.nan
            self.dose += dose_rate_per_s(hottest_c) * (time_s - self._last_s)
        if self._last_s is None or time_s >= self._last_s:
            self._last_s, self._last_c = time_s, temperature_c
        return self.dose
