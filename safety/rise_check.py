"""The measured rise check: an airbag (or the roller's depth) must not rise faster than admitted.

Admission and the segment guard bound how fast a plan's set points rise; the board itself must
move no output away from its safe default faster than the channel's rise rate (an intensity
rise, a channel enabled again, a late segment: hardware.md section 5, "Rise rate"), lowered to
the admitted rate with SetRiseLimit where that is lower (safety.runtime_limits). Neither is
trusted here: the channel's own sensor (the bag's pressure, the head's position) is watched,
and a reading that climbs faster than the admitted rate, more than noise and the controller's
band allow, trips. A bag that fills faster hits like a blow.

Over the last RISE_WINDOW_S, with r the admitted rate, the check is

    max over earlier readings (t_i, v_i) of  (v - v_i) - r * (t - t_i)  >  margin

which one increasing-minimum queue of v_i - r * t_i answers in constant time per reading.

Only readings of the quantity on one board timeline are compared. A gap in them never trips by
itself, and a fast rise between two readings of one stretch always counts:
- a reading outside the sensor's valid range (a dead or shorted sensor) is none: it neither
  starts nor ends a rise, and the readings on either side of it are compared as usual (the
  range check judges the sensor itself);
- a board clock that goes back (the board restarted) starts the comparison afresh, as does a
  change of the admitted rate;
- readings older than the window drop out, so after a pause in the telemetry longer than the
  window the first new readings are compared only with each other.
"""

from __future__ import annotations

from collections import deque

from massagectl.routines.device import ChannelKind, DeviceProfile
from massagectl.safety.detectors import Context, Watcher
from massagectl.safety.faults import Fault, FaultCause

# How far back a fast rise is looked for: longer than any fill an intensity rise or a zone
# switched on causes at the admitted rate (a calf bag's 16 kPa cap at 4 kPa/s: 4 s) is not
# needed; a fill twice too fast shows its excess well within 2 s.
RISE_WINDOW_S = 2.0
# The channels whose rise admission bounds, and how far above the admitted rise their own
# sensor's reading may get before it counts: the board's bang-bang band (0.3 kPa either side)
# and sensor noise (0.04 kPa) for a bag's pressure; the encoder's noise and a 0.1 mm step for
# the head's depth. Since protocol 4 the board is told the admitted rate (SetRiseLimit) and a
# sound board reads at most the band and the noise above it (0.3-0.35 kPa measured on the
# simulator with late calf holds at 2-4 kPa/s; 0.73 kPa at worst: 0.6 of band, 0.08 of noise,
# a 0.05 step): a tighter margin would catch a board that ignores it a fraction of a second
# sooner, and trip on a real board's wider band.
RISE_MARGIN = {ChannelKind.AIRBAG: 1.0, ChannelKind.DEPTH: 1.0}

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
        sensor = self.sensor
        if not sensor.valid_min <= value <= sensor.valid_max:
            return None  # no reading of the bag (see the module docstring)
        lows = self._lows
        if rate != self._rate or (lows and board_s < lows[-1][0]):
            # New limits (earlier levels were figured at another rate), or another timeline.
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
        unit = sensor.unit
        return self.fault(
            FaultCause.RISE_TOO_FAST,
            f"rose {rise:.1f} {unit} in {took_s:.2f} s ({rise / took_s:.1f} {unit}/s), faster "
            f"than the admitted {rate:g} {unit}/s: a fill that fast hits like a blow", value,
            rise=(rise / took_s, f"{unit}/s"), limit=(rate, f"{unit}/s"))


def rise_watchers_for(device: DeviceProfile) -> list[tuple[Watcher, ...]]:
    """Per sensor (in the profile's order), its rise watcher if it reads the own quantity
    (same unit) of a channel of a kind with a margin above (a bag's pressure, the head's
    depth; not a motor's current)."""
    found: list[tuple[Watcher, ...]] = []
    for sensor in device.sensors:
        channel = device.channel(sensor.channel) if sensor.channel is not None else None
        if channel is None or channel.unit != sensor.unit:
            found.append(())
            continue
        margin = RISE_MARGIN.get(channel.kind)
        found.append(() if margin is None
                     else (RiseWatch(sensor, device.channel_index(channel.id), margin),))
    return found
