"""Everything the board drives and senses, built from a device profile.

The board hands the plant one commanded value per channel (None for a position-like drive that
is stopped) and asks it to run for a while; the plant answers with the true value behind every
sensor of the profile. Noise, quantisation and broken sensors are added later (sim.sensors).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from operator import attrgetter

from massagectl.routines.device import ChannelKind, DeviceProfile, Sensor, SensorKind
from massagectl.routines.errors import InputError
from massagectl.sim.physics.airbag import Airbag
from massagectl.sim.physics.drives import LinearDrive, SpinMotor, knead_motor, tap_motor
from massagectl.sim.physics.occupant import Occupant
from massagectl.sim.physics.thermal import AMBIENT_C, ThermalZone

# Motor current sense amplifiers carry an RC filter so 20 Hz sampling does not alias the drive's
# PWM ripple; it makes the load reading lag the contact by about this much.
CURRENT_FILTER_TIME_CONSTANT_S = 0.05

_LINEAR = (ChannelKind.POSITION, ChannelKind.WIDTH, ChannelKind.DEPTH)
# What each kind of part is observed by, and the attribute holding that quantity.
_QUANTITY = {
    LinearDrive: (SensorKind.POSITION, attrgetter("position_mm")),
    SpinMotor: (SensorKind.SPEED, attrgetter("speed")),
    Airbag: (SensorKind.PRESSURE, attrgetter("pressure_kpa")),
    ThermalZone: (SensorKind.TEMPERATURE, attrgetter("contact_c")),
}


class Plant:
    """The chair's hardware and its occupant."""

    def __init__(self, profile: DeviceProfile, occupant: Occupant) -> None:
        self.profile = profile
        self.occupant = occupant
        self.track_base_mm = profile.track.base_above_seat_mm if profile.track else 0.0
        self.drives: dict[int, LinearDrive] = {}
        self.motors: dict[int, SpinMotor] = {}
        self.airbags: dict[int, Airbag] = {}
        self.zones: dict[int, ThermalZone] = {}
        for index, channel in enumerate(profile.channels):
            if channel.kind in _LINEAR:
                self.drives[index] = LinearDrive(channel.min, channel.max, channel.max_rate_per_s)
            elif channel.kind is ChannelKind.KNEAD:
                self.motors[index] = knead_motor()
            elif channel.kind is ChannelKind.TAP:
                self.motors[index] = tap_motor()
            elif channel.kind is ChannelKind.AIRBAG:
                self.airbags[index] = Airbag(channel.max_rate_per_s, channel.safe_default or 0.0)
            else:
                cooling = channel.kind is ChannelKind.COOL
                safe_c = channel.safe_default or 0.0
                # A heat and a cool channel on one body zone drive one thermoelectric module.
                shared = next((z for i, z in self.zones.items()
                               if profile.channels[i].zone is channel.zone), None)
                if shared is not None:
                    shared.add_mode(cooling, safe_c)
                    self.zones[index] = shared
                else:
                    self.zones[index] = ThermalZone(cooling, safe_c)
        self._carriage = self._first(ChannelKind.POSITION)
        self._depth = self._first(ChannelKind.DEPTH)
        self._drive_items = list(self.drives.items())
        self._motor_items = list(self.motors.items())
        self._airbag_items = list(self.airbags.items())
        # One entry per module: (zone, heat channel index, cool channel index).
        modules: dict[int, list] = {}
        for index, zone in self.zones.items():
            entry = modules.setdefault(id(zone), [zone, None, None])
            entry[2 if profile.channels[index].kind is ChannelKind.COOL else 1] = index
        self._module_items = [tuple(entry) for entry in modules.values()]
        self._parts = {**self.drives, **self.motors, **self.airbags, **self.zones}
        self._sensed_load_n = 0.0  # the load as the current sensors see it (filtered)
        self.readers: list[Callable[[], float]] = [self._reader(s) for s in profile.sensors]

    def _first(self, kind: ChannelKind) -> LinearDrive | None:
        for index, channel in enumerate(self.profile.channels):
            if channel.kind is kind:
                return self.drives[index]
        return None

    def advance(self, dt_s: float, outputs: list[float | None]) -> None:
        """Run the hardware for `dt_s` true seconds with these commanded outputs."""
        for index, drive in self._drive_items:
            drive.target_mm = outputs[index]
            drive.advance(dt_s)
        for index, motor in self._motor_items:
            motor.command = outputs[index] or 0.0
            motor.advance(dt_s)
        occupied = self.occupant.present
        for index, airbag in self._airbag_items:
            if airbag.holds_body is not occupied:
                airbag.holds_body = occupied
            airbag.advance(dt_s, outputs[index])
        for zone, heat_index, cool_index in self._module_items:
            heat_c = None if heat_index is None else outputs[heat_index]
            cool_c = None if cool_index is None else outputs[cool_index]
            if heat_index is None:
                zone.advance(dt_s, cool_c, occupied)
            else:
                zone.advance(dt_s, heat_c, occupied, cool_c)
        if self._carriage is not None:
            load_n = self.load_n()
            lag = math.exp(-dt_s / CURRENT_FILTER_TIME_CONSTANT_S)
            self._sensed_load_n = load_n + (self._sensed_load_n - load_n) * lag

    def roller_height_mm(self) -> float | None:
        """Height of the roller heads above the seat, if the device has a carriage."""
        if self._carriage is None:
            return None
        return self.track_base_mm + self._carriage.position_mm

    def load_n(self) -> float:
        """Force between the rollers (or a pad's nodes) and the occupant's back."""
        height_mm = self.roller_height_mm()
        if height_mm is None:
            return 0.0
        if self._depth is None:
            return self.occupant.lean_force_n(height_mm)
        return self.occupant.roller_force_n(height_mm, self._depth.position_mm)

    def actual_reader(self, index: int) -> Callable[[], float]:
        """Reads the physical value behind channel `index`, in the channel's unit."""
        part = self._parts[index]
        return partial(_QUANTITY[type(part)][1], part)

    def true_readings(self) -> list[float]:
        return [read() for read in self.readers]

    def _reader(self, sensor: Sensor) -> Callable[[], float]:
        if sensor.kind is SensorKind.OCCUPANCY:
            return lambda: 1.0 if self.occupant.present else 0.0
        if sensor.channel is None:
            if sensor.kind is SensorKind.TEMPERATURE:
                return lambda: AMBIENT_C
            raise _unmodelled(sensor, "it observes no channel")
        index = self.profile.channel_index(sensor.channel)
        part = self._parts[index]
        if sensor.kind is SensorKind.CURRENT and isinstance(part, (LinearDrive, SpinMotor)):
            # Only the depth drive and the massage motors press on the occupant.
            if part is self._depth or isinstance(part, SpinMotor):
                return lambda: part.current_a(self._sensed_load_n)
            return lambda: part.current_a(0.0)
        if sensor.kind is SensorKind.CURRENT and isinstance(part, ThermalZone):
            # An element's supply current, through the leg of its channel's direction.
            return partial(part.current_a, self.profile.channels[index].kind is ChannelKind.COOL)
        if sensor.kind is _QUANTITY[type(part)][0]:
            return self.actual_reader(index)
        raise _unmodelled(sensor, f"channel {sensor.channel!r} has no such quantity")


def _unmodelled(sensor: Sensor, why: str) -> InputError:
    return InputError(
        f"sensor {sensor.id!r} ({sensor.kind}) cannot be simulated: {why}",
        "give it a channel of a kind that has that quantity",
    )
