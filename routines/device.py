"""Device profiles: the one vocabulary of channels, zones, units and hard limits.

A profile describes what a board can do: its actuator channels (what each moves, in which unit,
within which hard range, what it returns to when it must be safe) and its sensors. The routine
compiler, the safety layer, the wire protocol's handshake and the simulator all read the same
profile, so a limit is written down once.
"""

from __future__ import annotations

import difflib
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from massagectl.routines.errors import UnknownNameError
from massagectl.routines.loading import load_model, names_a_file, toml_names


class Zone(StrEnum):
    """Body zones a routine may name. Order is head to toe."""

    NECK = "neck"
    SHOULDERS = "shoulders"
    UPPER_BACK = "upper_back"
    MID_BACK = "mid_back"
    LOWER_BACK = "lower_back"
    SEAT = "seat"
    ARMS = "arms"
    CALVES = "calves"
    FEET = "feet"


# Zones the roller carriage reaches, from the top of the track's useful range down.
BACK_ZONES = (Zone.NECK, Zone.SHOULDERS, Zone.UPPER_BACK, Zone.MID_BACK, Zone.LOWER_BACK)


class Unit(StrEnum):
    MM = "mm"
    MM_PER_S = "mm/s"
    KPA = "kPa"
    CELSIUS = "C"
    CYCLES_PER_MIN = "cycles/min"
    HZ = "Hz"
    AMPERE = "A"
    OCCUPIED = "occupied"


class ChannelKind(StrEnum):
    """What an actuator channel drives. The unit follows from the kind."""

    POSITION = "position"  # roller carriage along the back track, mm above the track base
    WIDTH = "width"  # distance between the roller heads, mm
    DEPTH = "depth"  # how far the 3D roller heads protrude into the back, mm
    KNEAD = "knead"  # kneading motor speed, roller circles per minute
    TAP = "tap"  # percussion motor rate, Hz
    AIRBAG = "airbag"  # airbag pressure set point, kPa
    HEAT = "heat"  # contact-surface temperature set point, C; below ambient means off
    COOL = "cool"  # contact-surface temperature set point, C; above ambient means off

    @property
    def unit(self) -> Unit:
        return _CHANNEL_UNITS[self]

    @property
    def holds_position(self) -> bool:
        """Position-like channels have no safe value: being safe means the drive stops."""
        return self in (ChannelKind.POSITION, ChannelKind.WIDTH)

    @property
    def off_at_max(self) -> bool | None:
        """Where the channel's off value sits in its hard range: at the top for cooling (a set
        point above ambient cools nothing), at the bottom for every other output that works the
        body (empty bag, cold element, stopped motor, retracted head); None for position-like
        channels, which have no off value."""
        if self.holds_position:
            return None
        return self is ChannelKind.COOL

    @property
    def scaled_by_intensity(self) -> bool:
        """Channels whose output the owner's intensity setting scales toward the safe default."""
        return self in (ChannelKind.DEPTH, ChannelKind.AIRBAG, ChannelKind.TAP)


_CHANNEL_UNITS = {
    ChannelKind.POSITION: Unit.MM,
    ChannelKind.WIDTH: Unit.MM,
    ChannelKind.DEPTH: Unit.MM,
    ChannelKind.KNEAD: Unit.CYCLES_PER_MIN,
    ChannelKind.TAP: Unit.HZ,
    ChannelKind.AIRBAG: Unit.KPA,
    ChannelKind.HEAT: Unit.CELSIUS,
    ChannelKind.COOL: Unit.CELSIUS,
}


class SensorKind(StrEnum):
    POSITION = "position"  # mm, encoder on a position-like channel
    PRESSURE = "pressure"  # kPa, airbag pressure transducer
    TEMPERATURE = "temperature"  # C, thermistor at the contact surface
    SPEED = "speed"  # cycles/min or Hz, pulse counter on a motor
    CURRENT = "current"  # A, motor current (load)
    OCCUPANCY = "occupancy"  # 1 when someone sits in the seat, else 0

    @property
    def units(self) -> tuple[Unit, ...]:
        return _SENSOR_UNITS[self]


_SENSOR_UNITS = {
    SensorKind.POSITION: (Unit.MM,),
    SensorKind.PRESSURE: (Unit.KPA,),
    SensorKind.TEMPERATURE: (Unit.CELSIUS,),
    SensorKind.SPEED: (Unit.CYCLES_PER_MIN, Unit.HZ),
    SensorKind.CURRENT: (Unit.AMPERE,),
    SensorKind.OCCUPANCY: (Unit.OCCUPIED,),
}

Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
PositiveSeconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class Channel(BaseModel):
    """One actuator output of the board."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Identifier
    kind: ChannelKind
    zone: Zone | None = Field(
        default=None,
        description="Body zone the channel acts on; none for the roller, which travels the back.",
    )
    min: float = Field(allow_inf_nan=False, description="Hard lower limit, in the kind's unit.")
    max: float = Field(allow_inf_nan=False, description="Hard upper limit, in the kind's unit.")
    safe_default: float | None = Field(
        default=None,
        allow_inf_nan=False,
        description="Output when the board must be safe. Absent for position-like channels: "
        "there, safe means the drive stops where it is.",
    )
    max_rate_per_s: float = Field(
        gt=0, allow_inf_nan=False, description="Fastest change the hardware can follow, unit/s."
    )
    max_duration_s: PositiveSeconds = Field(
        description="Longest single segment; with no segment covering it for this long the "
        "board returns the channel to its safe default on its own."
    )
    max_rise_per_s: float | None = Field(
        default=None, gt=0, allow_inf_nan=False,
        description="Fastest the board moves the output away from its safe default when the "
        "intensity rises or the channel is enabled again, unit/s (hardware.md section 5); "
        "max_rate_per_s when absent.",
    )

    @property
    def unit(self) -> Unit:
        return self.kind.unit

    @property
    def off_value(self) -> float | None:
        """The value at which the output does nothing (None for position-like channels)."""
        at_max = self.kind.off_at_max
        return None if at_max is None else (self.max if at_max else self.min)

    @property
    def rise_per_s(self) -> float:
        """The board's slew rate for this channel (hardware.md section 5, intensity slew)."""
        return self.max_rate_per_s if self.max_rise_per_s is None else self.max_rise_per_s

    @model_validator(mode="after")
    def _check_ranges(self) -> Channel:
        if self.min >= self.max:
            raise ValueError(f"min ({self.min}) must be below max ({self.max})")
        if self.kind.holds_position:
            if self.safe_default is not None:
                raise ValueError(
                    f"a {self.kind} channel has no safe_default: its drive stops where it is"
                )
        elif self.safe_default is None:
            raise ValueError(f"a {self.kind} channel needs a safe_default")
        elif self.safe_default != self.off_value:
            # Safe means off: a heat channel whose "safe" value heats would keep heating
            # through every stop, and count as off while it does.
            end = "max" if self.kind.off_at_max else "min"
            raise ValueError(
                f"safe_default {self.safe_default:g} is not the off value of a {self.kind} "
                f"channel: its safe state is off, its {end} ({self.off_value:g} {self.unit})"
            )
        if self.max_rise_per_s is not None and self.max_rise_per_s > self.max_rate_per_s:
            raise ValueError(f"max_rise_per_s ({self.max_rise_per_s}) is above max_rate_per_s "
                             f"({self.max_rate_per_s}): the hardware cannot rise that fast")
        if (self.kind in (ChannelKind.AIRBAG, ChannelKind.HEAT, ChannelKind.COOL)
                and self.zone is None):
            raise ValueError(f"a {self.kind} channel must name the zone it acts on")
        return self


# Readings cross the wire as signed 24-bit thousandths of the unit (hardware.md 4.5), and a board
# sends a reading beyond that as the nearest limit: a valid range reaching past it would let a
# clipped, wrong reading pass as valid.
READING_LIMIT = 8388.607


class Sensor(BaseModel):
    """One measured value the board reports in its telemetry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Identifier
    kind: SensorKind
    unit: Unit
    channel: Identifier | None = Field(
        default=None, description="The actuator channel this sensor observes, if any."
    )
    valid_min: float = Field(allow_inf_nan=False,
                             description="Readings below mean a broken sensor.")
    valid_max: float = Field(allow_inf_nan=False,
                             description="Readings above mean a broken sensor.")
    resolution: float = Field(gt=0, allow_inf_nan=False, description="Quantisation step.")

    @model_validator(mode="after")
    def _check(self) -> Sensor:
        if self.unit not in self.kind.units:
            allowed = ", ".join(self.kind.units)
            raise ValueError(f"a {self.kind} sensor reads in {allowed}, not {self.unit}")
        if self.valid_min >= self.valid_max:
            raise ValueError(f"valid_min ({self.valid_min}) must be below valid_max")
        # As the wire rounds them: 8388.6066 arrives as 8388.607, the saturated reading itself.
        if not (round(self.valid_min, 3) > -READING_LIMIT
                and round(self.valid_max, 3) < READING_LIMIT):
            raise ValueError(f"valid range {self.valid_min:g}..{self.valid_max:g} {self.unit} "
                             f"reaches past what a SensorReport carries (+/-{READING_LIMIT:g}); "
                             "no chair sensor reads that far: check the range")
        return self


class Track(BaseModel):
    """Where the roller track sits relative to the occupant, so body heights map to track mm."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_above_seat_mm: float = Field(
        ge=0,
        allow_inf_nan=False,
        description="Height of track position 0 above the seat surface.",
    )


class DeviceProfile(BaseModel):
    """A chair or pad: channels, sensors and track geometry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Identifier
    description: str
    track: Track | None = Field(default=None, description="Absent when there is no roller.")
    channels: tuple[Channel, ...] = Field(min_length=1, max_length=32)
    sensors: tuple[Sensor, ...] = Field(default=(), max_length=64)

    @model_validator(mode="after")
    def _check_references(self) -> DeviceProfile:
        channel_ids = [channel.id for channel in self.channels]
        duplicated = sorted({i for i in channel_ids if channel_ids.count(i) > 1})
        if duplicated:
            raise ValueError(f"channel ids must be unique; repeated: {', '.join(duplicated)}")
        sensor_ids = [sensor.id for sensor in self.sensors]
        duplicated = sorted({i for i in sensor_ids if sensor_ids.count(i) > 1})
        if duplicated:
            raise ValueError(f"sensor ids must be unique; repeated: {', '.join(duplicated)}")
        for sensor in self.sensors:
            if sensor.channel is not None and sensor.channel not in channel_ids:
                raise ValueError(f"sensor {sensor.id!r} observes unknown channel "
                                 f"{sensor.channel!r}")
        has_roller = any(c.kind is ChannelKind.POSITION for c in self.channels)
        if has_roller and self.track is None:
            raise ValueError("a device with a position channel needs a [track] table")
        return self

    def channel(self, channel_id: str) -> Channel:
        for channel in self.channels:
            if channel.id == channel_id:
                return channel
        known = [c.id for c in self.channels]
        raise UnknownNameError("channel", channel_id, close_matches(channel_id, known), known)

    def channel_index(self, channel_id: str) -> int:
        return self.channels.index(self.channel(channel_id))

    def channels_of(self, kind: ChannelKind, zone: Zone | None = None) -> tuple[Channel, ...]:
        return tuple(
            c for c in self.channels if c.kind is kind and (zone is None or c.zone is zone)
        )

    def sensor(self, sensor_id: str) -> Sensor:
        for sensor in self.sensors:
            if sensor.id == sensor_id:
                return sensor
        known = [s.id for s in self.sensors]
        raise UnknownNameError("sensor", sensor_id, close_matches(sensor_id, known), known)

    def sensors_of(self, kind: SensorKind, channel_id: str | None = None) -> tuple[Sensor, ...]:
        return tuple(
            s
            for s in self.sensors
            if s.kind is kind and (channel_id is None or s.channel == channel_id)
        )

    @property
    def zones(self) -> frozenset[Zone]:
        """Zones some channel acts on directly (the roller's zones come from the track)."""
        return frozenset(c.zone for c in self.channels if c.zone is not None)

    @property
    def has_seat_sensor(self) -> bool:
        return bool(self.sensors_of(SensorKind.OCCUPANCY))


def close_matches(name: str, known: list[str]) -> list[str]:
    return difflib.get_close_matches(name, known, n=3, cutoff=0.6)


BUILTIN_DEVICE_DIR = resources.files("massagectl.routines") / "devices"


def builtin_device_names() -> list[str]:
    return toml_names(BUILTIN_DEVICE_DIR)


@cache
def _load_builtin(name: str) -> DeviceProfile:
    with resources.as_file(BUILTIN_DEVICE_DIR / f"{name}.toml") as path:
        return load_model(path, DeviceProfile)


def load_device(name_or_path: str | Path) -> DeviceProfile:
    """A built-in profile by name (`chair`, `pad`) or a profile file by path."""
    text = str(name_or_path)
    if text in builtin_device_names():
        return _load_builtin(text)
    if names_a_file(text):
        return load_model(Path(text), DeviceProfile)
    known = builtin_device_names()
    raise UnknownNameError("device", text, close_matches(text, known), known)
