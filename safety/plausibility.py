"""Plausibility: readings checked against their commands and against each other, so that one
stuck sensor cannot hide a fault.

- PumpWatch (an airbag's pressure): the board pumps while the pressure reads below the set
  point by more than its band, and a live reading then climbs every sample. A reading that
  stays the same while the pump surely runs has frozen, and the board's controller, blind
  too, pumps on: STOP follows a quarter of a second later (the simulated board's controller
  itself stops a pump that runs blind for 0.25 s).
- FollowWatch (a motor's speed sensor): a motor follows its command with its rotor's lag, and
  a first-order lag never leaves the range of the commands it followed. A reading outside the
  range of the last FOLLOW_WINDOW_S of commands, by more than the sensor's noise, is frozen or
  lying.
- SeatCheck (seat switch, depth, roller load, carriage, airbag pressures): a seat switch that
  says "occupied" while heads pressed into the back meet no load (deep, or shallower but
  standing still, where the motor's idle current is all an empty chair draws), or while the
  airbags fill as fast as bags with nobody in them, is stuck (or the load sensor is); and a
  load with the heads retracted means the load sensor is stuck. Either way the session stops.
  With the heads retracted or off the middle and lower back and no bag filling from low
  pressure, nothing the board senses tells an empty seat from an occupied one: a stuck seat
  switch is then caught at the next press or fill (hardware.md 5.1).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from massagectl.routines.device import ChannelKind, DeviceProfile, SensorKind, Zone
from massagectl.safety.faults import Fault, FaultCause
from massagectl.safety.sliding_window import SlidingWindow
from massagectl.safety.watcher import Context, Watcher

# The board pumps below the set point less its band (0.3 kPa, hardware.md 5). A reading this
# far below the lower of the set point now and PUMP_LAG_S ago has the pump surely running:
# the band, the noise, and the board's own slew of a rise (an intensity up or a zone back on
# starts from where the output was, protocol 3) all stay inside it.
PUMP_RUNS_BELOW_KPA = 1.0
PUMP_LAG_S = 0.5
# A running pump moves a live reading by 0.13 kPa or more per 20 Hz sample (2.7 kPa/s even at
# 25 kPa, against 0.05 kPa steps). Five identical readings while it runs (0.2 s) mean the
# sensor froze; a calf bag gains about 1.5 kPa in that time, so it stops below its cap
# unless the reading froze within 1.5 kPa of it.
FROZEN_PUMPING_READINGS = 5
# Just below the set point the pump may be running (the board keeps pumping until the set
# point once it started) or off. A healthy reading there still moves, by its noise (0.04 kPa
# on the reference sensor, about a step) and the leak; a second of identical readings is a
# frozen sensor (meanwhile the simulated board's controller stops a pump that runs blind
# after 0.25 s, sim/physics/airbag.py).
FROZEN_BELOW_SET_POINT_READINGS = 20
# Below the set point by at least a sensor step (0.05 kPa): an empty bag at a set point of
# nearly nothing reads its noise around 0.
PUMP_STEP_KPA = 0.05
# Motor speeds: the knead rotor's time constant is 0.4 s and the tap motor's 0.25 s, so after
# 2 s every older command has faded below 1 %. Noise and tolerance: 5 % of the sensor's span.
FOLLOW_WINDOW_S = 2.0
FOLLOW_TOLERANCE_OF_SPAN = 0.05
FOLLOW_CONFIRM_S = 1.0
# Heads this deep on the middle or lower back press a seated back with 40 N or more (soft
# tissue gives ~10 mm under 60 N), which the reference depth motor carries as 0.6 A and more;
# pressing nothing it draws 0.15 A idle, up to 0.45 A while moving at full speed.
PRESSING_DEPTH_MM = 8.0
EMPTY_LOAD_MAX_A = 0.5
PRESSED_ZONES = (Zone.MID_BACK, Zone.LOWER_BACK)
# Shallower, the heads must stand still to tell: pressing nothing, a still depth motor draws
# only its idle current (0.15 A on the reference board, noise 0.015 A), where moving adds up to
# 0.3 A. Heads standing this deep on the middle or lower back press even a soft back (5 N/mm,
# the softest the deep rule allows for) with 16 N at the lumbar hollow's 0.8 of full contact:
# 0.19 A more than idle at the reference motor's 0.012 A/N, 0.34 A in all. The limit lies
# between: six noise steps above idle, 0.09 A below the softest back.
SHALLOW_PRESSING_DEPTH_MM = 4.0
STILL_LOAD_MAX_A = 0.25
# Still: the depth reading stayed within less than this over the last STILL_WINDOW_S (a reading
# may flicker by a step or two of the reference sensor's 0.1 mm; 0.6 mm/s at most, which the
# reference motor's 0.02 A per mm/s turns into about 0.01 A), long enough for the load's filter
# (0.05 s) to settle.
STILL_DEPTH_MM = 0.3
STILL_WINDOW_S = 0.5
# Heads retracted this far press nothing; the load then reads idle, never above this.
RETRACTED_DEPTH_MM = 1.0
RETRACTED_LOAD_MAX_A = 0.5
# An airbag with a body part in it fills at 0.75 of its pump rate or more below 10 kPa (the
# reference pump loses a quarter of its flow there); an empty bag, unfolding first, at a quarter
# (sim/physics/airbag.py). Half the rate lies between.
# Judged over FILL_WINDOW_S of continuous pumping at least 1 kPa below the set point.
FILL_BELOW_KPA = 10.0
FILL_WINDOW_S = 0.5
FILL_PUMPING_BELOW_KPA = 1.0
EMPTY_FILL_OF_PUMP_RATE = 0.5
# Empty-seat evidence must last this long (a person shifting their weight lifts off briefly).
SEAT_EVIDENCE_S = 1.0


class Lasting:
    """How long a condition has held, reading by reading (0 when it does not)."""

    def __init__(self) -> None:
        self.since: float | None = None

    def update(self, holds: bool, board_s: float) -> float:
        if not holds:
            self.since = None
            return 0.0
        if self.since is None:
            self.since = board_s
        return board_s - self.since


class PumpWatch(Watcher):
    """An airbag's pressure reading that does not move while the pump runs."""

    channel_index: int  # an airbag's

    def __init__(self, sensor, channel_index):
        super().__init__(sensor, channel_index)
        self._reading: float | None = None
        self._same = 0

    def update(self, value, board_s, ctx):
        commanded = _pumping_to(ctx, self.channel_index, board_s)
        may_pump = commanded is not None and value < commanded - PUMP_STEP_KPA
        if not may_pump or commanded is None or value != self._reading:
            self._reading, self._same = (value, 1) if may_pump else (None, 0)
            return None
        self._same += 1
        surely = value <= commanded - PUMP_RUNS_BELOW_KPA
        if self._same < (FROZEN_PUMPING_READINGS if surely else FROZEN_BELOW_SET_POINT_READINGS):
            return None
        return self.fault(FaultCause.SENSOR_STUCK, f"stayed at {value:g} kPa for {self._same} "
                          f"readings while the pump fills toward {commanded:.1f} kPa: the sensor "
                          "froze and the board's controller cannot see the bag", value,
                          set_point=(commanded, "kPa"))


class FollowWatch(Watcher):
    """A motor speed reading that does not follow its command."""

    def __init__(self, sensor, channel_index):
        super().__init__(sensor, channel_index)
        self.tolerance = FOLLOW_TOLERANCE_OF_SPAN * (sensor.valid_max - sensor.valid_min)
        self._commands = SlidingWindow(FOLLOW_WINDOW_S)
        self._outside = Lasting()

    def update(self, value, board_s, ctx):
        commanded = ctx.commanded(self.channel_index, board_s)
        if commanded is None or getattr(ctx, "outputs_safe", False):
            commanded = ctx.limits_for(self.channel_index).channel.safe_default or 0.0
        commands = self._commands
        commands.add(board_s, commanded)
        if commands.covered_s < FOLLOW_WINDOW_S - 0.1:
            return None  # not enough history yet to say where the motor should be
        low = commands.low - self.tolerance
        high = commands.high + self.tolerance
        outside_s = self._outside.update(not low <= value <= high, board_s)
        if outside_s < FOLLOW_CONFIRM_S:
            return None
        unit = self.sensor.unit
        return self.fault(FaultCause.SENSOR_IMPLAUSIBLE, f"reads {value:g} {unit} for "
                          f"{outside_s:.1f} s while commanded "
                          f"{low + self.tolerance:.1f}..{high - self.tolerance:.1f} {unit}: the "
                          "sensor is stuck or the motor does not do what it is told", value,
                          set_point=(commanded, str(unit)))


@dataclass(frozen=True)
class _Bag:
    sensor: int
    channel: int
    fill_kpa_per_window: float  # the least a bag holding a body part rises in FILL_WINDOW_S
    own_rise_per_s: float  # the board's rise rate for the bag, as its map gives it


class SeatCheck:
    """The seat switch against the roller load and the airbags' back-pressure."""

    def __init__(self, device: DeviceProfile) -> None:
        index = {s.id: i for i, s in enumerate(device.sensors)}

        def sensor_of(kind: SensorKind, channel_kind: ChannelKind) -> int | None:
            for i, sensor in enumerate(device.sensors):
                if sensor.kind is kind and sensor.channel is not None \
                        and device.channel(sensor.channel).kind is channel_kind:
                    return i
            return None

        seats = device.sensors_of(SensorKind.OCCUPANCY)
        self.seat = index[seats[0].id] if seats else None
        self.depth = sensor_of(SensorKind.POSITION, ChannelKind.DEPTH)
        self.load = sensor_of(SensorKind.CURRENT, ChannelKind.DEPTH)
        self.carriage = sensor_of(SensorKind.POSITION, ChannelKind.POSITION)
        self.bags = [
            _Bag(i, device.channel_index(s.channel),
                 EMPTY_FILL_OF_PUMP_RATE * device.channel(s.channel).max_rate_per_s
                 * FILL_WINDOW_S, device.channel(s.channel).rise_per_s)
            for i, s in enumerate(device.sensors)
            if s.kind is SensorKind.PRESSURE and s.channel is not None
            and device.channel(s.channel).kind is ChannelKind.AIRBAG]
        self._fills: dict[int, deque[tuple[float, float]]] = {b.sensor: deque() for b in self.bags}
        self._fill_kpa_per_window = {b.sensor: b.fill_kpa_per_window for b in self.bags}
        self._rise_per_s = {b.sensor: b.own_rise_per_s for b in self.bags}
        # Per bag sensor: until when (board s) the board may still be catching up a late
        # segment, its set point below the plan's.
        self._catching_up_until: dict[int, float] = {}
        self._depths = SlidingWindow(STILL_WINDOW_S)  # the depth readings, mm
        self._empty = Lasting()
        self._loaded = Lasting()

    def slewed_at(self, rise_per_s: dict[int, float]) -> None:
        """The rise rates the board was told (SetRiseLimit, channel index -> kPa/s). A fill the
        board slews goes no faster than its rate, with or without a body: where the host lowered
        a bag's rate below the board's own, the least a body-filled bag rises is lowered in the
        same proportion (on the reference chair the board's own calf rate, 4 kPa/s, is that
        least: half the pump's 8)."""
        for bag in self.bags:
            told = rise_per_s.get(bag.channel, bag.own_rise_per_s)
            self._rise_per_s[bag.sensor] = min(told, bag.own_rise_per_s)
            share = min(1.0, told / bag.own_rise_per_s) if bag.own_rise_per_s > 0 else 1.0
            self._fill_kpa_per_window[bag.sensor] = bag.fill_kpa_per_window * share

    def catching_up(self, channel_index: int, board_s: float) -> None:
        """The board reports a late segment on this channel (FaultReport LATE_SEGMENT): it
        catches up from where the output was at its rise rate (hardware.md 4.10), so its set
        point lies below the plan's, the pump may rest while the reading is far below the plan,
        and a fill tells nothing of the seat until a catch-up from the safe state would have
        passed FILL_BELOW_KPA (3.3 s at 3 kPa/s)."""
        for bag in self.bags:
            if bag.channel == channel_index and self._rise_per_s[bag.sensor] > 0:
                self._catching_up_until[bag.sensor] = (
                    board_s + FILL_BELOW_KPA / self._rise_per_s[bag.sensor] + PUMP_LAG_S)
                self._fills[bag.sensor].clear()

    @property
    def useful(self) -> bool:
        return self.seat is not None and (self.load is not None or bool(self.bags))

    def update(self, readings: list[float], board_s: float, ctx: Context,
               back_bands: dict[Zone, tuple[float, float]] | None) -> Fault | None:
        seat = self.seat
        if seat is None:  # not `useful`: the supervisor keeps no SeatCheck then
            return None
        stuck_load = self._retracted_but_loaded(readings, board_s)
        if stuck_load is not None:
            return stuck_load
        why = self._pressing_nothing(readings, board_s, back_bands) or self._bags_fill_empty(
            readings, board_s, ctx)
        empty_s = self._empty.update(
            why is not None and readings[seat] >= 0.5 and ctx.session_active, board_s)
        if empty_s < SEAT_EVIDENCE_S:
            return None
        return Fault(FaultCause.SEAT_IMPLAUSIBLE, f"the seat switch says occupied, but {why} "
                     f"for {empty_s:.1f} s: the seat is empty and its switch "
                     "stuck, or a load sensor is", values={"seat": (readings[seat], "")})

    def _pressing_nothing(self, readings, board_s, back_bands) -> str | None:
        if self.depth is None or self.load is None or self.carriage is None or not back_bands:
            return None
        depth_mm, load_a = readings[self.depth], readings[self.load]
        still = self._still(depth_mm, board_s)
        position_mm = readings[self.carriage]
        on_back = any(low <= position_mm <= high
                      for zone, (low, high) in back_bands.items() if zone in PRESSED_ZONES)
        if not on_back:
            return None
        if depth_mm >= PRESSING_DEPTH_MM and load_a < EMPTY_LOAD_MAX_A:
            return (f"the rollers {depth_mm:g} mm deep on the back carry only {load_a:g} A "
                    f"(a back pressed that deep takes {EMPTY_LOAD_MAX_A:g} A or more)")
        if still and depth_mm >= SHALLOW_PRESSING_DEPTH_MM and load_a < STILL_LOAD_MAX_A:
            return (f"the rollers standing {depth_mm:g} mm deep on the back carry only "
                    f"{load_a:g} A, what the depth motor draws pressing nothing (a back "
                    f"pressed {SHALLOW_PRESSING_DEPTH_MM:g} mm takes {STILL_LOAD_MAX_A:g} A "
                    "or more)")
        return None

    def _still(self, depth_mm: float, board_s: float) -> bool:
        """Whether the heads stood still (within STILL_DEPTH_MM) for the last STILL_WINDOW_S."""
        depths = self._depths
        depths.add(board_s, depth_mm)
        if depths.covered_s < STILL_WINDOW_S - 0.1:
            return False  # not watched long enough yet
        return depths.high - depths.low < STILL_DEPTH_MM

    def _bags_fill_empty(self, readings, board_s, ctx) -> str | None:
        found = None
        for bag in self.bags:
            fills = self._fills[bag.sensor]
            value = readings[bag.sensor]
            # Above FILL_BELOW_KPA the set point does not matter: asked only below it.
            commanded = None if value > FILL_BELOW_KPA else _pumping_to(ctx, bag.channel,
                                                                         board_s)
            if (commanded is None or value > FILL_BELOW_KPA
                    or value > commanded - FILL_PUMPING_BELOW_KPA
                    or board_s < self._catching_up_until.get(bag.sensor, -math.inf)):
                fills.clear()
                continue
            fills.append((board_s, value))
            while board_s - fills[0][0] > FILL_WINDOW_S:
                fills.popleft()
            if board_s - fills[0][0] >= FILL_WINDOW_S - 1e-6:
                rise = value - fills[0][1]
                if rise < self._fill_kpa_per_window[bag.sensor] and found is None:
                    found = (f"an airbag rose only {rise:.1f} kPa in {FILL_WINDOW_S:g} s of "
                             "pumping, as a bag with nobody in it does")
        return found

    def _retracted_but_loaded(self, readings, board_s) -> Fault | None:
        if self.depth is None or self.load is None:
            return None
        depth_mm, load_a = readings[self.depth], readings[self.load]
        loaded = depth_mm <= RETRACTED_DEPTH_MM and load_a > RETRACTED_LOAD_MAX_A
        if self._loaded.update(loaded, board_s) < SEAT_EVIDENCE_S:
            return None
        return Fault(FaultCause.SENSOR_IMPLAUSIBLE, f"roller load reads {load_a:g} A with the "
                     f"heads retracted ({depth_mm:g} mm), where nothing can press on them: the "
                     "load sensor is stuck", values={"roller_load": (load_a, "A")})


def _pumping_to(ctx: Context, channel_index: int, board_s: float) -> float | None:
    """The set point a bag's pump surely works toward: the lower of now and PUMP_LAG_S ago;
    None when nothing pumps (no set point, or the board says every output is safe)."""
    if getattr(ctx, "outputs_safe", False):
        return None
    now = ctx.commanded(channel_index, board_s)
    before = ctx.commanded(channel_index, board_s - PUMP_LAG_S)
    if now is None or before is None:
        return None
    return before if before < now else now  # min(now, before), without the call
