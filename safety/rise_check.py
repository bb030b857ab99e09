"""The measured rise check: an airbag (or the roller's depth) must not rise faster than admitted.

Admission and the segment guard bound how fast a plan's set points rise; the board itself must
slew an intensity rise and a channel enabled again at no more than the channel's rise rate
(hardware.md section 5). Neither is trusted here: the channel's own sensor (the bag's pressure,
the head's position) is watched, and a reading that climbs faster than the admitted rate, more
than noise and the controller's band allow, trips. A bag that fills faster hits like a blow.

Over the last RISE_WINDOW_S, with r the admitted rate, the check is

    max over earlier readings (t_i, v_i) of  (v - v_i) - r * (t - t_i)  >  margin

which one increasing-minimum queue of v_i - r * t_i answers in constant time per reading.
"""

from __future__ import annotations

from collections import deque

from massagectl.routines.device import DeviceProfile, SensorKind
from massagectl.safety.detectors import Context, Watcher
from massagectl.safety.faults import Fault, FaultCause

# How far back a fast rise is looked for: longer than any fill an intensity rise or a zone
# switched on causes at the admitted rate (a calf bag's 16 kPa cap at 4 kPa/s: 4 s) is not
# needed; a fill twice too fast shows its excess well within 2 s.
RISE_WINDOW_S = 2.0
# How far above the admitted rise a reading may get before it counts, per sensor kind: the
# board's bang-bang band (0.3 kPa either side) and sensor noise (0.04 kPa) for pressure; the
# encoder's noise and a 0.1 mm step for the head's position.
RISE_MARGIN = {SensorKind.PRESSURE: 1.0, SensorKind.POSITION: 1.0}

class RiseWatch(Watcher):
    """A channel's own reading rising faster than its admitted rise rate."""

    channel_index: int

    def __init__(self, sensor, channel_index: int, margin: float) -> None:
        super().__init__(sensor, channel_index)
        self.margin = margin
        self._rate: float | None = None
        self._lows: deque[tuple[float, float]] = deque()  # (board_s, v - r * t), increasing

    def update(self, value: float, board_s: float, ctx: Context) -> Fault | None:
        rate = ctx.limits_for(self.channel_index).max_rise_per_s
        if rate is None:
            return None
        lows = self._lows
        if rate != self._rate:  # new limits: earlier readings were judged at another rate
            self._rate = rate
            lows.clear()
        level = value - rate * board_s
        while lows and lows[-1][1] >= level:
            lows.pop()
        lows.append((board_s, level))
        while lows[0][0] < board_s - RISE_WINDOW_S:
            lows.popleft()
        since_s, lowest = lows[0]
        excess = level - lowest
        if not self.confirmed(excess > self.margin):  # two readings in a row: not a spike
            return None
        took_s = board_s - since_s
        rise = excess + rate * took_s
        unit = self.sensor.unit
        return self.fault(
            FaultCause.RISE_TOO_FAST,
            f"rose {rise:.1f} {unit} in {took_s:.2f} s ({rise / took_s:.1f} {unit}/s), faster "
            f"than the admitted {rate:g} {unit}/s: a fill that fast hits like a blow", value,
            rise=(rise / took_s, f"{unit}/s"), limit=(rate, f"{unit}/s"))


def rise_watchers_for(device: DeviceProfile) -> list[tuple[Watcher, ...]]:
    """Per sensor (in the profile's order), its rise watcher if it reads a channel's own
    quantity (same unit) of a kind with a margin above; channels without an admitted rise
    limit are passed over at run time."""
    found: list[tuple[Watcher, ...]] = []
    for sensor in device.sensors:
        channel = device.channel(sensor.channel) if sensor.channel is not None else None
        margin = RISE_MARGIN.get(sensor.kind)
        if channel is None or margin is None or channel.unit != sensor.unit:
            found.append(())
            continue
        found.append((RiseWatch(sensor, device.channel_index(channel.id), margin),))
    return found
