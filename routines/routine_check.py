"""Does a routine fit a device? Zones, hard ranges at intensity 5, and rates, per field.

This is the second pass of loading a routine (the first is its pydantic model): it needs a
device profile, and the user profile for named trigger points. The compiler runs it too, so
nothing is compiled from a routine that does not fit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from massagectl.routines.body import known_trigger_points, trigger_point_pct
from massagectl.routines.device import Channel, ChannelKind, DeviceProfile, Zone, close_matches
from massagectl.routines.errors import InvalidFileError, Problem, UnknownNameError
from massagectl.routines.intensity import AS_WRITTEN_LEVEL, LEVEL_5_PER_WRITTEN, at_level_5
from massagectl.routines.loading import field_path
from massagectl.routines.steps import Cool, Heat, Knead, Press, Stroke, Tap, TriggerPoint
from massagectl.routines.user import DEFAULT_USER, UserProfile

if TYPE_CHECKING:
    from massagectl.routines.routine import Location, Routine
    from massagectl.routines.steps import LeafStep

ROLLER_STEPS: tuple[type[Knead], type[Stroke], type[TriggerPoint], type[Tap]] = (
    Knead, Stroke, TriggerPoint, Tap)
# The motor each roller technique cannot do without, beside the carriage itself.
ROLLER_MOTOR: dict[type, ChannelKind] = {Knead: ChannelKind.KNEAD, Tap: ChannelKind.TAP}
_ZONE_KIND = {Heat: ChannelKind.HEAT, Cool: ChannelKind.COOL}
_SKIP_HINT = "mark the step optional = true to skip it there"


def zone_channels(device: DeviceProfile, step: LeafStep) -> dict[Zone, tuple[Channel, ...]]:
    """Channels of each zone a press, heat or cool step names (empty where the device lacks it)."""
    if isinstance(step, Press):
        return {zone: device.channels_of(ChannelKind.AIRBAG, zone) for zone in step.zones}
    if isinstance(step, (Heat, Cool)):
        return {step.zone: device.channels_of(_ZONE_KIND[type(step)], step.zone)}
    return {}


def check_routine(
    routine: Routine, device: DeviceProfile, user: UserProfile | None = None
) -> list[Problem]:
    """Every way `routine` does not fit `device` (and `user`'s named points); empty if it fits."""
    user = user or DEFAULT_USER
    problems = _FitCheck(routine.source, device, user)
    for location, step in routine.leaves():
        problems.step(location, step)
    problems.cool_down(routine)
    return problems.found


def raise_if_unfit(routine: Routine, device: DeviceProfile, user: UserProfile | None = None):
    problems = check_routine(routine, device, user)
    if problems:
        raise InvalidFileError(routine.source, problems)


class _FitCheck:
    def __init__(self, source: str, device: DeviceProfile, user: UserProfile) -> None:
        self.source = source
        self.device = device
        self.user = user
        self.found: list[Problem] = []
        self.driven: set[str] = set()

    def add(self, location: Location, message: str) -> None:
        self.found.append(Problem(self.source, field_path(location), message))

    def step(self, location: Location, step: LeafStep) -> None:
        if isinstance(step, ROLLER_STEPS):
            self.roller(location, step)
        elif isinstance(step, (Press, Heat, Cool)):
            self.zones(location, step)

    def zones(self, location: Location, step: Press | Heat | Cool) -> None:
        for index, (zone, channels) in enumerate(zone_channels(self.device, step).items()):
            where = location + (("zones", index) if isinstance(step, Press) else ("zone",))
            if not channels and not step.optional:
                what = "airbag" if isinstance(step, Press) else _ZONE_KIND[type(step)].value
                self.add(where, f"device {self.device.name!r} has no {what} in zone "
                         f"{zone.value!r}; {_SKIP_HINT}")
            for channel in channels:
                self.driven.add(channel.id)
                if isinstance(step, Press):
                    self.press(location, step, channel)
                else:
                    self.within(location + ("temperature_c",), step.temperature_c, channel)

    def roller(self, location: Location, step: Knead | Stroke | TriggerPoint | Tap) -> None:
        positions = self.device.channels_of(ChannelKind.POSITION)
        motor = ROLLER_MOTOR.get(type(step))
        motors = self.device.channels_of(motor) if motor else ()
        if not positions or (motor and not motors):
            if not step.optional:
                what = "roller" if not positions or motor is None else f"{motor.value} motor"
                self.add(location, f"device {self.device.name!r} has no {what} for a "
                         f"{step.kind} step; {_SKIP_HINT}")
            return
        for channel in positions + motors:
            self.driven.add(channel.id)
        for channel in motors:
            if isinstance(step, Knead):
                self.within(location + ("speed_cpm",), step.speed_cpm, channel)
            elif isinstance(step, Tap):
                self.within(location + ("frequency_hz",), step.frequency_hz, channel)
        speed_field = "speed_mm_s" if isinstance(step, Stroke) else "travel_mm_s"
        speed = getattr(step, speed_field, None)
        if speed is not None and speed > positions[0].max_rate_per_s:
            self.add(location + (speed_field,), f"{speed:g} mm/s is faster than the roller of "
                     f"device {self.device.name!r} travels ({positions[0].max_rate_per_s:g} mm/s)")
        for channel in self.device.channels_of(ChannelKind.WIDTH):
            if step.width_mm is not None:
                self.driven.add(channel.id)
                self.within(location + ("width_mm",), step.width_mm, channel)
        for channel in self.device.channels_of(ChannelKind.DEPTH):
            if step.depth_mm is not None:
                self.driven.add(channel.id)
                self.within(location + ("depth_mm",), step.depth_mm, channel)
                if isinstance(step, TriggerPoint):
                    depth = at_level_5(step.depth_mm, channel.safe_default or 0.0)
                    for ramp in ("press_s", "release_s"):
                        self.rate(location + (ramp,), depth, getattr(step, ramp), channel)
        if (isinstance(step, TriggerPoint) and step.point is not None
                and trigger_point_pct(step.point, self.user) is None):
            known = known_trigger_points(self.user)
            unknown = UnknownNameError("trigger point", step.point,
                                       close_matches(step.point, known), known)
            self.add(location + ("point",), f"{unknown.message} for user "
                     f"{self.user.name!r}; {unknown.hint}")

    def press(self, location: Location, step: Press, channel: Channel) -> None:
        self.within(location + ("pressure_kpa",), step.pressure_kpa, channel)
        pressure = at_level_5(step.pressure_kpa, channel.safe_default or 0.0)
        self.rate(location + ("ramp_in_s",), pressure, step.ramp_in_s, channel)
        self.rate(location + ("release_s",), pressure, step.release_s, channel)

    def within(self, location: Location, written: float, channel: Channel) -> None:
        """A written value, at intensity 5 where intensity scales it, within the hard range."""
        safe = channel.safe_default or 0.0
        scaled = channel.kind.scaled_by_intensity
        value = at_level_5(written, safe) if scaled else written
        unit = channel.unit.value
        whose = f"zone {channel.zone.value!r}" if channel.zone else f"channel {channel.id!r}"
        said = f"{written:g} {unit}"
        if scaled:
            said += (f" (as felt at intensity {AS_WRITTEN_LEVEL}) is {value:.3g} {unit} "
                     "at intensity 5,")
        else:
            said += " is"
        if value > channel.max:
            fits = ""
            if scaled:
                most = safe + (channel.max - safe) / LEVEL_5_PER_WRITTEN
                fits = f"; at most {most:.3g} {unit} fits"
            self.add(location, f"{said} above the {channel.max:g} {unit} hard limit of {whose} "
                     f"on device {self.device.name!r}{fits}")
        elif value < channel.min:
            self.add(location, f"{said} below the {channel.min:g} {unit} hard limit of {whose} "
                     f"on device {self.device.name!r}")

    def rate(self, location: Location, change: float, seconds: float, channel: Channel):
        needed_s = abs(change) / channel.max_rate_per_s
        if needed_s > seconds:
            unit = channel.unit.value
            self.add(location, f"reaching {change:.3g} {unit} (intensity 5) in {seconds:g} s is "
                     f"faster than channel {channel.id!r} can follow ({channel.max_rate_per_s:g} "
                     f"{unit}/s); use at least {needed_s:.3g} s")

    def cool_down(self, routine: Routine) -> None:
        for channel_id in sorted(self.driven):
            channel = self.device.channel(channel_id)
            if channel.safe_default is None:
                continue
            widest = max(channel.max - channel.safe_default, channel.safe_default - channel.min)
            needed_s = widest / channel.max_rate_per_s
            if needed_s > routine.cool_down_s:
                self.add(("cool_down_s",), f"{routine.cool_down_s:g} s is too short for channel "
                         f"{channel.id!r} to return to rest from its hard limit; use at least "
                         f"{needed_s:.3g} s")
