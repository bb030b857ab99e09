"""Telemetry detectors: one watcher per sensor, fed every reading at the board's full rate.

Each watcher keeps a few numbers of state and returns a `Fault` when it trips. What it
compares against comes from a `Context` (the supervisor): the set point the board is running
right now (after the run-time intensity scale and channel mask), the limits in force, and
whether a session runs. Thresholds are named below with the reason for each.
"""

from __future__ import annotations

from collections import deque

from massagectl.routines.device import ChannelKind, DeviceProfile, SensorKind
from massagectl.safety.channel_limits import ChannelLimits
from massagectl.safety.element_watch import ElementOffWatch
from massagectl.safety.faults import FaultCause
from massagectl.safety.limits import COLD_UNDERSHOOT_C, HEAT_HARD_MAX_C
from massagectl.safety.plausibility import FollowWatch, PumpWatch
from massagectl.safety.thermal_dose import DoseMeter
from massagectl.safety.watcher import CONFIRM_READINGS, Context, Watcher

__all__ = ["CONFIRM_READINGS", "Context", "Watcher", "watchers_for"]

# Measured pressure may exceed its cap by the board's bang-bang band (0.3 kPa), sensor noise and
# the overshoot of a pump at full flow before that is a fault.
OVER_PRESSURE_MARGIN_KPA = 1.5
# The measured stretch above the occlusion-risk pressure may outlast the commanded one by the
# bag's fill and vent times (a few seconds).
PRESSURE_HELD_GRACE_S = 5.0
# Stuck valve: pressure this far above the set point (the higher of now and VENT_LAG_S ago, as
# a vent lags a falling set point) for this long. An open vent empties a chair bag in about a
# second (three 0.4 s time constants); three seconds above means the vent is not opening.
STUCK_VALVE_MARGIN_KPA = 2.0
VENT_LAG_S = 1.0
STUCK_VALVE_AFTER_S = 3.0
# The thermostat band and the cover's lag overshoot a set point by a few tenths of a degree.
OVER_TEMPERATURE_MARGIN_C = 1.0
# A surface nobody heats stays below body temperature (the occupant warms it to 33-35 C), so a
# heat zone that is off or forbidden trips above this (plus the margin).
UNHEATED_MAX_C = 37.0
# Heater stuck on: with the heat off for HEATER_OFF_SETTLE_S (the element, time constant ~40 s,
# still warms the cover after it switches off), a rise of HEATER_RUNAWAY_RISE_C within
# HEATER_RUNAWAY_WINDOW_S. A room warms far slower; a welded relay heats the cover at several
# degrees per minute.
HEATER_OFF_SETTLE_S = 60.0
HEATER_RUNAWAY_RISE_C = 1.0
HEATER_RUNAWAY_WINDOW_S = 60.0
# Cold: a surface below the cold floor by the thermostat's undershoot (safety.limits,
# COLD_UNDERSHOOT_C) and this margin for the cover's lag and noise is too cold for the skin.
UNDER_TEMPERATURE_MARGIN_C = 0.5
# A zone that was cooled warms back toward the room and the body with the heat off (the
# surface's slow time constant is ~5 min): a rise then is no heater, for three of them.
REWARM_AFTER_COLD_S = 15 * 60.0
# Motor stall: driven (set point more than STALL_TRACKING_MM away) yet moved less than
# STALL_MIN_TRAVEL_MM (four encoder steps) in MOTOR_STALL_S. Rongtai's firmware calls 10 s
# without position pulses a fault; the host acts sooner: a carriage at 30-60 mm/s moves
# 60-120 mm in 2 s.
MOTOR_STALL_S = 2.0
STALL_MIN_TRAVEL_MM = 2.0
STALL_TRACKING_MM = 5.0
# A drive measured this far beyond its end stop has passed its limit switch.
END_STOP_OVERRUN_MM = 3.0
# Stuck sensor: a reading that does not change at all while the board's controller drives hard
# toward a set point far from it (a pump filling, a heater at full power) has frozen; the
# board's own controller is then blind too. Pressure answers a pump within a fraction of a
# second; a contact surface warms or cools by a tenth of a degree within a minute.
FROZEN_PRESSURE_S = 2.0
FROZEN_PRESSURE_GAP_KPA = 2.0
FROZEN_TEMPERATURE_S = 60.0
FROZEN_TEMPERATURE_GAP_C = 3.0
# Someone shifting their weight lifts off the seat for a moment; a second empty means they
# got up (and hands may be near the mechanism).
SEAT_VACATED_S = 1.0


class RangeWatch(Watcher):
    """Readings outside the sensor's valid range mean a broken sensor or wire."""

    def __init__(self, sensor, channel_index):
        super().__init__(sensor, channel_index)
        self._low, self._high = sensor.valid_min, sensor.valid_max

    def update(self, value, board_s, ctx):
        if self._low <= value <= self._high and not self._count:
            return None  # every sensor, every reading: the common case costs one comparison
        sensor = self.sensor
        if self.confirmed(not self._low <= value <= self._high):
            return self.fault(FaultCause.SENSOR_OUT_OF_RANGE,
                              f"reads {value:g} {sensor.unit}, outside its valid range "
                              f"{sensor.valid_min:g}..{sensor.valid_max:g}", value)
        return None


class PressureWatch(Watcher):
    """Over-pressure, stuck valve, and time above the occlusion-risk pressure."""

    def __init__(self, sensor, channel_index):
        super().__init__(sensor, channel_index)
        self._over_since: float | None = None
        self._stretch_start: float | None = None
        self._below_since: float | None = None

    def update(self, value, board_s, ctx):
        limits = ctx.limits_for(self.channel_index)
        cap = limits.cap.value + OVER_PRESSURE_MARGIN_KPA
        if self.confirmed(value > cap):
            return self.fault(FaultCause.OVER_PRESSURE, f"{value:g} kPa, above the cap "
                              f"{limits.cap.value:g} kPa + {OVER_PRESSURE_MARGIN_KPA:g}", value,
                              limit=(cap, "kPa"))
        commanded = _highest(ctx, board_s, limits)
        if value > commanded + STUCK_VALVE_MARGIN_KPA:
            self._over_since = board_s if self._over_since is None else self._over_since
            if board_s - self._over_since > STUCK_VALVE_AFTER_S:
                return self.fault(FaultCause.STUCK_VALVE, f"{value:g} kPa for "
                                  f"{board_s - self._over_since:.1f} s with the set point at "
                                  f"{commanded:g} kPa: the vent does not open", value,
                                  set_point=(commanded, "kPa"))
        else:
            self._over_since = None
        return self._held(value, board_s, limits)

    def _held(self, value, board_s, limits: ChannelLimits):
        hold = limits.hold
        if hold is None:
            return None
        if value > hold.occlusion_kpa:
            self._below_since = None
            if self._stretch_start is None:
                self._stretch_start = board_s
            held_s = board_s - self._stretch_start
            if held_s > hold.max_hold_s + PRESSURE_HELD_GRACE_S:
                return self.fault(FaultCause.PRESSURE_HELD,
                                  f"above {round(hold.occlusion_kpa, 1):g} kPa "
                                  f"for {held_s:.1f} s (at most {hold.max_hold_s:g} s)", value,
                                  held=(held_s, "s"))
        elif self._stretch_start is not None:
            self._below_since = board_s if self._below_since is None else self._below_since
            if board_s - self._below_since >= hold.release_s:
                self._stretch_start = self._below_since = None
        return None


class TemperatureWatch(Watcher):
    """Over-temperature, thermal dose, and a heater that heats while it is off."""

    def __init__(self, sensor, channel_index, cool_index: int | None = None):
        super().__init__(sensor, channel_index)
        self.cool_index = cool_index  # the zone's cool channel (a thermoelectric module)
        self.dose = DoseMeter()
        self._off_since: float | None = None
        self._cooled_s: float | None = None  # when the zone was last cooled
        self._window: deque[tuple[float, float]] = deque()  # increasing minima (time, C)

    def update(self, value, board_s, ctx):
        limits = ctx.limits_for(self.channel_index)
        ceiling = max(min(limits.cap.value + OVER_TEMPERATURE_MARGIN_C, HEAT_HARD_MAX_C),
                      UNHEATED_MAX_C + OVER_TEMPERATURE_MARGIN_C)
        # Count first, then judge: the dose of a reading above the ceiling is the largest of
        # all, and it belongs to the skin whatever trips on it.
        dose = self.dose.add(board_s, value)
        if self.confirmed(value > ceiling):
            return self.fault(FaultCause.OVER_TEMPERATURE, f"{value:g} C at the contact surface, "
                              f"above {ceiling:g} C", value, limit=(ceiling, "C"))
        if dose >= limits.heat.dose_budget:
            return self.fault(FaultCause.THERMAL_DOSE, f"thermal dose {dose:.1%} of a burn "
                              f"reached the {limits.heat.dose_budget:.0%} budget", value,
                              dose=(dose, "burn fraction"))
        return self._runaway(value, board_s, ctx, limits)

    def _runaway(self, value, board_s, ctx, limits: ChannelLimits):
        commanded = ctx.commanded(self.channel_index, board_s)
        if self.cool_index is not None:
            cool = ctx.commanded(self.cool_index, board_s)
            if cool is not None and cool < ctx.limits_for(self.cool_index).channel.safe_default:
                self._cooled_s = board_s
        rewarming = self._cooled_s is not None and board_s - self._cooled_s < REWARM_AFTER_COLD_S
        if rewarming or (commanded is not None and commanded > limits.channel.safe_default):
            self._off_since = None
            self._window.clear()
            return None
        if self._off_since is None:
            self._off_since = board_s
        if board_s - self._off_since < HEATER_OFF_SETTLE_S:
            return None
        window = self._window
        while window and window[-1][1] >= value:
            window.pop()
        window.append((board_s, value))
        while window[0][0] < board_s - HEATER_RUNAWAY_WINDOW_S:
            window.popleft()
        rise = value - window[0][1]
        if rise >= HEATER_RUNAWAY_RISE_C:
            return self.fault(FaultCause.HEATER_STUCK_ON, f"rose {rise:.1f} C in "
                              f"{board_s - window[0][0]:.0f} s with the heat off", value,
                              rise=(rise, "C"))
        return None


# Between two readings further apart than this, the zone's on-time is not counted (the board
# was silent: a stale-telemetry trip is under way).
ON_TIME_GAP_S = 1.0


class ColdWatch(Watcher):
    """A cool channel's surface below the cold floor (numbness, then cold injury)."""

    def update(self, value, board_s, ctx):
        floor = ctx.limits_for(self.channel_index).floor.value
        lowest = floor - COLD_UNDERSHOOT_C - UNDER_TEMPERATURE_MARGIN_C
        if self.confirmed(value < lowest):
            return self.fault(FaultCause.UNDER_TEMPERATURE, f"{value:g} C at the contact "
                              f"surface, below {lowest:g} C (the cold floor {floor:g} C less "
                              "the thermostat's undershoot): too cold for the skin", value,
                              limit=(lowest, "C"))
        return None


class ElementWatch(Watcher):
    """A heater or cooler that works while the thermostat has it off (safety.element_watch),
    and how long its channel was on (`on_s`: what the chair's record carries)."""

    channel_index: int  # always a heat or cool channel

    def __init__(self, sensor, channel_index: int, kind: ChannelKind):
        super().__init__(sensor, channel_index)
        self.kind = kind
        self.on_s = 0.0
        self._last_s: float | None = None
        self._model = ElementOffWatch(sensor.id, channel_index, kind)

    def update(self, value, board_s, ctx):
        index = self.channel_index
        commanded = ctx.commanded(index, board_s)
        safe = ctx.limits_for(index).channel.safe_default
        on = commanded is not None and (commanded < safe if self.kind is ChannelKind.COOL
                                        else commanded > safe)
        if on and self._last_s is not None and 0.0 < board_s - self._last_s <= ON_TIME_GAP_S:
            self.on_s += board_s - self._last_s
        self._last_s = board_s
        # Whether someone sits: their skin takes heat from the surface (safety.element_watch).
        return self._model.update(value, board_s, commanded, safe, getattr(ctx, "occupied", None))


class DriveWatch(Watcher):
    """A position sensor on a drive: motor stall and end stops."""

    def __init__(self, sensor, channel_index, channel_min: float, channel_max: float):
        super().__init__(sensor, channel_index)
        self.channel_min = channel_min
        self.channel_max = channel_max
        self._anchor: tuple[float, float] | None = None  # (board_s, mm) of the last movement

    def update(self, value, board_s, ctx):
        beyond = (value < self.channel_min - END_STOP_OVERRUN_MM
                  or value > self.channel_max + END_STOP_OVERRUN_MM)
        if self.confirmed(beyond):
            return self.fault(FaultCause.END_STOP, f"at {value:g} mm, beyond the end stops "
                              f"{self.channel_min:g}..{self.channel_max:g} mm", value)
        commanded = ctx.commanded(self.channel_index, board_s)
        driven = commanded is not None and abs(commanded - value) > STALL_TRACKING_MM
        anchor = self._anchor
        if not driven or anchor is None or abs(value - anchor[1]) >= STALL_MIN_TRAVEL_MM:
            self._anchor = (board_s, value)
        elif board_s - anchor[0] > MOTOR_STALL_S:
            return self.fault(FaultCause.MOTOR_STALL, f"driven toward {commanded:g} mm but "
                              f"moved less than {STALL_MIN_TRAVEL_MM:g} mm in "
                              f"{board_s - anchor[0]:.1f} s", value, set_point=(commanded, "mm"))
        return None


class FrozenWatch(Watcher):
    """A reading that stays exactly the same while the set point is far from it."""

    def __init__(self, sensor, channel_index, after_s: float, gap: float, when_off: bool):
        super().__init__(sensor, channel_index)
        self.after_s = after_s
        self.gap = gap
        self.when_off = when_off  # also while the channel is in its safe state
        self._reading: float | None = None
        self._since: float | None = None

    def update(self, value, board_s, ctx):
        commanded = ctx.commanded(self.channel_index, board_s)
        if commanded is None and self.when_off:
            commanded = ctx.limits_for(self.channel_index).channel.safe_default
        driven = commanded is not None and abs(commanded - value) >= self.gap
        if not driven or value != self._reading:
            self._reading, self._since = value, board_s
            return None
        if board_s - self._since >= self.after_s:
            return self.fault(FaultCause.SENSOR_STUCK, f"stayed at {value:g} {self.sensor.unit} "
                              f"for {board_s - self._since:.1f} s while driven toward "
                              f"{commanded:g}", value, set_point=(commanded, str(self.sensor.unit)))
        return None


class SeatWatch(Watcher):
    """The occupancy sensor: an empty seat during a session stops it."""

    def __init__(self, sensor, channel_index):
        super().__init__(sensor, channel_index)
        self._empty_since: float | None = None

    def update(self, value, board_s, ctx):
        if not ctx.session_active or value >= 0.5:
            self._empty_since = None
            return None
        if self._empty_since is None:
            self._empty_since = board_s
        if board_s - self._empty_since >= SEAT_VACATED_S:
            return self.fault(FaultCause.SEAT_VACATED, f"seat empty for "
                              f"{board_s - self._empty_since:.1f} s during a session", value)
        return None


def _highest(ctx: Context, board_s: float, limits: ChannelLimits) -> float:
    """The higher set point of now and VENT_LAG_S ago (the safe default while it is safe)."""
    safe = limits.safe_value
    now = ctx.commanded(limits.index, board_s)
    before = ctx.commanded(limits.index, board_s - VENT_LAG_S)
    return max(safe if now is None else now, safe if before is None else before)


def watchers_for(device: DeviceProfile) -> list[tuple[Watcher, ...]]:
    """The watchers of each sensor index, in the order of the profile's sensors."""
    found = []
    for sensor in device.sensors:
        index = None if sensor.channel is None else device.channel_index(sensor.channel)
        channel = None if index is None else device.channels[index]
        watchers: list[Watcher] = [RangeWatch(sensor, index)]
        if sensor.kind is SensorKind.PRESSURE and channel and channel.kind is ChannelKind.AIRBAG:
            watchers.append(PressureWatch(sensor, index))
            watchers.append(PumpWatch(sensor, index))
            watchers.append(FrozenWatch(sensor, index, FROZEN_PRESSURE_S,
                                        FROZEN_PRESSURE_GAP_KPA, when_off=True))
        elif (sensor.kind is SensorKind.TEMPERATURE and channel
              and channel.kind is ChannelKind.HEAT):
            cool = next((i for i, c in enumerate(device.channels)
                         if c.kind is ChannelKind.COOL and c.zone is channel.zone), None)
            watchers.append(TemperatureWatch(sensor, index, cool))
            watchers.append(FrozenWatch(sensor, index, FROZEN_TEMPERATURE_S,
                                        FROZEN_TEMPERATURE_GAP_C, when_off=False))
        if sensor.kind is SensorKind.TEMPERATURE and channel and channel.zone is not None:
            # Every heat or cool channel on the sensor's zone (a thermoelectric zone has both).
            for i, other in enumerate(device.channels):
                if other.kind in (ChannelKind.HEAT, ChannelKind.COOL) \
                        and other.zone is channel.zone:
                    watchers.append(ElementWatch(sensor, i, other.kind))
                    if other.kind is ChannelKind.COOL:
                        watchers.append(ColdWatch(sensor, i))
        elif (sensor.kind is SensorKind.SPEED and channel
              and channel.kind in (ChannelKind.KNEAD, ChannelKind.TAP)):
            watchers.append(FollowWatch(sensor, index))
        elif sensor.kind is SensorKind.POSITION and channel is not None:
            watchers.append(DriveWatch(sensor, index, channel.min, channel.max))
        elif sensor.kind is SensorKind.OCCUPANCY:
            watchers.append(SeatWatch(sensor, index))
        found.append(tuple(watchers))
    return found
