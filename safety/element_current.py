"""A heat (or cool) element's current against its thermostat: a welded relay seen at once.

A board that senses each element's current (a sensor of kind current on the heat or cool
channel, hardware.md 5.1) shows a welded relay directly: the element draws its rated current
(0.92 A for the reference 22 W element on 24 V) where the board's thermostat surely has its
relay open. Without the sensor the host can only see the relay's heat arriving where it
should not, as a curvature of the surface's temperature, tens of seconds later
(safety.element_watch, which still runs on every board).

The host does not see the relay; it knows the thermostat's rules (hardware.md 5: off at the
set point, on again at the set point less its band, 0.3 C) and what the board runs:

- surely open: the heat is off (no set point, or the channel's safe default) now and
  SWITCH_LAG_S before; or the surface reads past the set point by more than the band (a
  reading 0.3 C past it is a surface past it, whatever the sensor's noise of 0.05 C and its
  0.1 C steps, and there the thermostat has opened); or the board has confirmed a shutdown
  with every output safe. Not while a stop is under way and unconfirmed (the host forgets what
  it sent at once, the board hears the Stop later), and a zone switched off by the channel
  mask only after MASK_SETTLE_S (the board hears the mask later; a lost one is sent again
  after the next StatusReport).
- surely closed: the set point on now and SWITCH_LAG_S before, the board not stopped, and
  the surface short of the set point by more than the band plus the sensor's noise (0.6 C).

Current of ELEMENT_DRAWS_A or more with the relay surely open, two readings in a row (0.1 s),
is a welded relay: `heater_stuck_on` (`cooler_stuck_on`). Hardly any current with the relay
surely closed, for longer than the board's rise rate takes to bring the set point up from its
safe default (a zone switched on slews, hardware.md 5) and a second more, is an element, fuse
or current sensor that failed: `heater_not_heating` (the cooler: `sensor_implausible`). That
one matters here because a dead current sensor would hide a welded relay from this check.

The board has its own duty (hardware.md 5): it knows its relay exactly, so it reports the same
welded relay as FaultReport(OVER_LIMIT) on the current sensor and shuts down latched, even at
the set point, where the host has to wait until the surface rises past the band (a median
12 s on the reference zone, at most 65 s: hardware.md 5.1; the temperature watch may be
sooner).
"""

from __future__ import annotations

from massagectl.firmware_bridge.messages import DeviceState, FaultCode, FaultReport
from massagectl.routines.device import Channel, ChannelKind, DeviceProfile, Sensor, SensorKind
from massagectl.safety.faults import Fault, FaultCause
from massagectl.safety.plausibility import Lasting
from massagectl.safety.watcher import Watcher

# An open relay passes nothing: the reading is the sensor's noise (0.009 A on the reference
# 0..3 A sensor). The smallest element a chair carries (20 W on 24 V) draws 0.83 A. A quarter
# of that lies twenty noise steps above an open relay's reading.
ELEMENT_DRAWS_A = 0.2
# The board switches an element within this of its set point changing (its thermostat runs at
# the telemetry rate or faster, a relay releases in 10-20 ms): a reading this soon after the
# heat went off or on may still show the relay as it was.
SWITCH_LAG_S = 0.1
# The thermostat's band (hardware.md 5): off at the set point, on again this far below it. A
# reading past the set point by more than this has the relay surely open; short of it by more
# than twice this (the band, and the sensor's noise), surely closed.
THERMOSTAT_BAND_C = 0.3
SURELY_OFF_PAST_C = THERMOSTAT_BAND_C
SURELY_ON_SHORT_C = 2 * THERMOSTAT_BAND_C
# A zone switched off with the channel mask is off on the board once the mask arrives: at
# once, or after the next StatusReport (2 Hz) shows a lost one and the link sends it again.
MASK_SETTLE_S = 1.0
# The surface reading must be this fresh to judge the thermostat by (three readings at 20 Hz).
FRESH_S = 0.15
# Beyond the slew of a set point from its safe default, a relay surely closed that draws no
# current for this long has failed (a relay closes in milliseconds).
NOT_DRAWING_MARGIN_S = 1.0
# Float rounding of a reading minus a set point (42.3 - 42.0 is not exactly 0.3).
ROUNDING_C = 1e-6


def thermostat_relay(set_point: float | None, safe: float, sign: float,
                     surface_c: float | None) -> bool | None:
    """What the board's thermostat surely does with its relay: True closed, False open, None
    either. `sign`: +1 for a heat channel, -1 for a cool one (its thermostat mirrored)."""
    if set_point is None or sign * (set_point - safe) <= 0.0:
        return False  # the channel is off
    if surface_c is None:
        return None
    past_c = sign * (surface_c - set_point)
    if past_c > SURELY_OFF_PAST_C + ROUNDING_C:
        return False
    if past_c < -SURELY_ON_SHORT_C - ROUNDING_C:
        return True
    return None


class ZoneSurface(Watcher):
    """The zone's temperature sensor, for the element current checks: remembers the latest
    reading, judges nothing."""

    def __init__(self, sensor: Sensor, channel_index: int | None) -> None:
        super().__init__(sensor, channel_index)
        self.reading: tuple[float, float] | None = None  # (board_s, C)

    def update(self, value, board_s, ctx):
        self.reading = (board_s, value)
        return None

    def latest(self, board_s: float) -> float | None:
        reading = self.reading
        if reading is None or not 0.0 <= board_s - reading[0] <= FRESH_S:
            return None
        return reading[1]


class ElementCurrentWatch(Watcher):
    """An element current sensor against what its thermostat surely does."""

    channel_index: int  # always a heat or cool channel

    def __init__(self, sensor: Sensor, channel_index: int, channel: Channel,
                 surface: ZoneSurface | None) -> None:
        super().__init__(sensor, channel_index)
        self.cooling = channel.kind is ChannelKind.COOL
        self.sign = -1.0 if self.cooling else 1.0
        self.surface = surface
        safe = channel.safe_default or 0.0
        farthest = channel.min if self.cooling else channel.max
        self.not_drawing_after_s = abs(farthest - safe) / channel.rise_per_s \
            + NOT_DRAWING_MARGIN_S
        self._masked = Lasting()
        self._idle = Lasting()

    def update(self, value, board_s, ctx):
        relay, why = self.relay(board_s, ctx)
        drawing = value >= ELEMENT_DRAWS_A
        if self.confirmed(relay is False and drawing):
            return self._welded(value, why)
        idle_s = self._idle.update(relay is True and not drawing, board_s)
        if idle_s >= self.not_drawing_after_s:
            return self._not_drawing(value, idle_s, why)
        return None

    def relay(self, board_s: float, ctx) -> tuple[bool | None, str]:
        """What the board's thermostat surely does with the relay (None: it may do either),
        and why the host says so."""
        index = self.channel_index
        safe = ctx.limits_for(index).channel.safe_default or 0.0
        now = ctx.commanded(index, board_s)
        before = ctx.commanded(index, board_s - SWITCH_LAG_S)
        off = thermostat_relay(now, safe, self.sign, None) is False \
            and thermostat_relay(before, safe, self.sign, None) is False
        if off and getattr(ctx, "board_state", None) is DeviceState.SHUTDOWN \
                and getattr(ctx, "outputs_safe", False):
            return False, "the board is stopped with every output safe"
        stop_path = getattr(ctx, "stop_path", None)
        if stop_path is not None and stop_path.stopping:
            return None, ""
        runtime = getattr(ctx, "runtime", None)
        masked = runtime is not None and not runtime.enabled(index)
        if self._masked.update(masked, board_s) >= MASK_SETTLE_S:
            return False, "its zone is switched off"
        if masked:
            return None, ""
        if off:
            return False, f"the {'cooling' if self.cooling else 'heat'} is off"
        surface_c = None if self.surface is None else self.surface.latest(board_s)
        relay = thermostat_relay(now, safe, self.sign, surface_c)
        if relay is None or relay != thermostat_relay(before, safe, self.sign, surface_c):
            return None, ""
        # The set point the surface was judged against (the other may be off).
        set_point = now if thermostat_relay(now, safe, self.sign, None) is None else before
        if set_point is None or surface_c is None:
            return None, ""  # never: both off is `off` above, and an on one needs the surface
        return relay, (f"the surface at {surface_c:g} C, "
                       f"{abs(surface_c - set_point):.1f} C "
                       f"{'short of' if relay else 'past'} its set point {set_point:g} C")

    def _welded(self, value: float, why: str) -> Fault:
        element, what = ("cooler", "cooling") if self.cooling else ("heater", "heat")
        cause = FaultCause.COOLER_STUCK_ON if self.cooling else FaultCause.HEATER_STUCK_ON
        return self.fault(cause, f"the {element} draws {value:.2f} A while its thermostat has "
                          f"it off ({why}): its relay is welded, and the {what} cannot be "
                          "switched off: get up from the chair and unplug it", value)

    def _not_drawing(self, value: float, idle_s: float, why: str) -> Fault:
        element = "cooler" if self.cooling else "heater"
        cause = FaultCause.SENSOR_IMPLAUSIBLE if self.cooling else FaultCause.HEATER_NOT_HEATING
        return self.fault(cause, f"the {element} draws no current ({value:.2f} A) for "
                          f"{idle_s:.0f} s while its thermostat surely has it on ({why}): the "
                          "element, its fuse or its current sensor failed (a dead current "
                          "sensor hides a welded relay): have the chair serviced", value)


def element_channel(device: DeviceProfile, sensor: Sensor) -> int | None:
    """The heat or cool channel whose element current `sensor` measures, if it does."""
    if sensor.kind is not SensorKind.CURRENT or sensor.channel is None:
        return None
    index = device.channel_index(sensor.channel)
    if device.channels[index].kind not in (ChannelKind.HEAT, ChannelKind.COOL):
        return None
    return index


def element_current_watchers_for(device: DeviceProfile) -> list[tuple[Watcher, ...]]:
    """Per sensor index: an element current sensor's watch, and the temperature sensor of its
    zone's surface (which the watch reads); nothing for the rest, nor for a device without
    element current sensors."""
    found: list[tuple[Watcher, ...]] = [() for _ in device.sensors]
    surfaces: dict[int, ZoneSurface] = {}
    for index, sensor in enumerate(device.sensors):
        channel_index = element_channel(device, sensor)
        if channel_index is None:
            continue
        channel = device.channels[channel_index]
        surface_index = _surface_sensor(device, channel)
        surface = None
        if surface_index is not None:
            surface = surfaces.get(surface_index)
            if surface is None:
                observed = device.sensors[surface_index]
                surface = surfaces[surface_index] = ZoneSurface(
                    observed, device.channel_index(observed.channel or channel.id))
                found[surface_index] = (surface,)
        found[index] = (ElementCurrentWatch(sensor, channel_index, channel, surface),)
    return found


def _surface_sensor(device: DeviceProfile, channel: Channel) -> int | None:
    """The temperature sensor of the channel, or of its zone's heat or cool module."""
    for index, sensor in enumerate(device.sensors):
        if sensor.kind is not SensorKind.TEMPERATURE or sensor.channel is None:
            continue
        observed = device.channel(sensor.channel)
        if observed.id == channel.id or (observed.zone is channel.zone
                                         and observed.kind in (ChannelKind.HEAT,
                                                               ChannelKind.COOL)):
            return index
    return None


def welded_relay_reported(device: DeviceProfile, report: FaultReport) -> Fault | None:
    """A board's FaultReport(OVER_LIMIT) on an element current sensor: its relay is welded
    (hardware.md 5); None for any other report."""
    if report.code is not FaultCode.OVER_LIMIT or not 0 <= report.index < len(device.sensors):
        return None
    sensor = device.sensors[report.index]
    channel_index = element_channel(device, sensor)
    if channel_index is None:
        return None
    cooling = device.channels[channel_index].kind is ChannelKind.COOL
    element, what = ("cooler", "cooling") if cooling else ("heater", "heat")
    return Fault(FaultCause.COOLER_STUCK_ON if cooling else FaultCause.HEATER_STUCK_ON,
                 f"{sensor.id}: the board reports the {element} drawing {report.value:.2f} A "
                 f"with its relay open: the relay is welded, and the {what} cannot be "
                 "switched off: get up from the chair and unplug it",
                 values={sensor.id: (report.value, "A")})

