"""The board's self-description (DeviceInfo + actuator map) and its comparison with a profile.

`device_profile_map(profile)` gives what a board built for that profile reports, so the simulator
answers Identify consistently. `map_differences(identity, profile)` lists every way a board's
answer differs from the profile the host was configured with (for another kind of device, with
other channel or sensor counts: what it is and both lists); the link refuses such a board.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from massagectl.firmware_bridge.messages import ChannelInfo, DeviceInfo, SensorInfo
from massagectl.firmware_bridge.wire import PROTOCOL_VERSION
from massagectl.firmware_bridge.wire_types import to_counts
from massagectl.routines.device import DeviceProfile, builtin_device_names, load_device

DEFAULT_CLOCK_HZ = 1_000_000  # 1 us ticks: far below the 1 ms schedule target; 32 bits last 71 min
# Segments a board holds ahead: 2 s of the busiest plan (12 channels, a segment each 0.5 s) is
# 48; 64 leaves headroom and costs a small board 64 x 26 bytes of RAM.
DEFAULT_QUEUE_CAPACITY = 64
SIMULATED_FIRMWARE_VERSION = "sim-1"
# A crystal or RC oscillator clock the host can schedule on: slower than 1 kHz cannot resolve the
# 1 ms target; faster than 1 GHz wraps 32 bits in under 5 s.
MIN_CLOCK_HZ = 1_000
MAX_CLOCK_HZ = 1_000_000_000


@dataclass(frozen=True)
class DeviceIdentity:
    """A board's answer to Identify: DeviceInfo and one ChannelInfo / SensorInfo each."""

    info: DeviceInfo
    channels: tuple[ChannelInfo, ...]
    sensors: tuple[SensorInfo, ...]

    def messages(self) -> tuple:
        """The answer in the order the board sends it."""
        return (self.info, *self.channels, *self.sensors)

    @property
    def serial_number(self) -> str:
        """The board's serial number: the chair's identity for its per-chair safety state."""
        return self.info.serial_number

    @property
    def display_rows(self) -> int:
        return self.info.display_rows

    @property
    def display_cols(self) -> int:
        return self.info.display_cols


def device_profile_map(
    profile: DeviceProfile,
    *,
    clock_hz: int = DEFAULT_CLOCK_HZ,
    queue_capacity: int = DEFAULT_QUEUE_CAPACITY,
    firmware_version: str = SIMULATED_FIRMWARE_VERSION,
    serial_number: str = "",
    display_rows: int = 0,
    display_cols: int = 0,
) -> DeviceIdentity:
    """What a board built for `profile` reports when identified."""
    channel_index = {channel.id: index for index, channel in enumerate(profile.channels)}
    channels = tuple(
        ChannelInfo(
            index=index,
            kind=channel.kind,
            zone=channel.zone,
            min=channel.min,
            max=channel.max,
            safe_default=channel.safe_default,
            max_duration_ticks=round(channel.max_duration_s * clock_hz),
            rise_per_s=channel.rise_per_s,
        )
        for index, channel in enumerate(profile.channels)
    )
    sensors = tuple(
        SensorInfo(
            index=index,
            kind=sensor.kind,
            channel=None if sensor.channel is None else channel_index[sensor.channel],
            valid_min=sensor.valid_min,
            valid_max=sensor.valid_max,
            unit=sensor.unit,
        )
        for index, sensor in enumerate(profile.sensors)
    )
    info = DeviceInfo(
        protocol_version=PROTOCOL_VERSION,
        firmware_version=firmware_version,
        clock_hz=clock_hz,
        queue_capacity=queue_capacity,
        channel_count=len(channels),
        sensor_count=len(sensors),
        serial_number=serial_number,
        display_rows=display_rows,
        display_cols=display_cols,
    )
    return DeviceIdentity(info, channels, sensors)


def _same(a: float | None, b: float | None) -> bool:
    """Equal as the wire carries them (thousandths of the unit)."""
    if a is None or b is None:
        return a is b
    return to_counts(a, "value") == to_counts(b, "value")


def _show(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# One compared field: name, the device's value, the profile's, whether they agree, unit suffix.
_Check = tuple[str, object, object, bool, str]


def _differing(label: str, checks: list[_Check]) -> list[str]:
    """Lines like `channel 3 'knead_speed': device says max 80 cycles/min, profile says 60`."""
    return [
        f"{label}: device says {name} {_show(device_value)}"
        f"{suffix if device_value is not None else ''}, profile says {_show(profile_value)}"
        for name, device_value, profile_value, equal, suffix in checks
        if not equal
    ]


def map_differences(identity: DeviceIdentity, profile: DeviceProfile) -> list[str]:
    """Every difference between the board's answer and the profile, one line each."""
    info = identity.info
    found = []
    if info.protocol_version != PROTOCOL_VERSION:
        found.append(
            f"protocol version: device speaks {info.protocol_version}, "
            f"this host speaks {PROTOCOL_VERSION}"
        )
    if not MIN_CLOCK_HZ <= info.clock_hz <= MAX_CLOCK_HZ:
        found.append(
            f"clock: device says {info.clock_hz} Hz, outside {MIN_CLOCK_HZ}..{MAX_CLOCK_HZ} Hz"
        )
    if info.queue_capacity < 1:
        found.append("queue capacity: device says 0 segments")
    if (info.channel_count != len(profile.channels)
            or info.sensor_count != len(profile.sensors)):
        # Another kind of device altogether (a pad where a chair was expected): comparing its
        # channels index by index would only list unrelated pairs, a long line that hides the
        # one fact that matters. Name it and show both lists instead.
        return found + _another_device(identity, profile)
    for index, channel in enumerate(profile.channels):
        if index >= len(identity.channels):
            break
        got = identity.channels[index]
        unit = channel.unit
        label = f"channel {index} '{channel.id}'"
        checks: list[_Check] = [
            ("kind", got.kind, channel.kind, got.kind == channel.kind, ""),
            ("zone", got.zone, channel.zone, got.zone == channel.zone, ""),
            ("min", got.min, channel.min, _same(got.min, channel.min), f" {unit}"),
            ("max", got.max, channel.max, _same(got.max, channel.max), f" {unit}"),
            ("safe default", got.safe_default, channel.safe_default,
             _same(got.safe_default, channel.safe_default), f" {unit}"),
            ("rise rate", got.rise_per_s, channel.rise_per_s,
             _same(got.rise_per_s, channel.rise_per_s), f" {unit}/s"),
        ]
        expected_ticks = round(channel.max_duration_s * info.clock_hz)
        if got.max_duration_ticks != expected_ticks and info.clock_hz > 0:
            checks.append(("max duration", got.max_duration_ticks / info.clock_hz,
                           channel.max_duration_s, False, " s"))
        found.extend(_differing(label, checks))
    channel_ids = [channel.id for channel in profile.channels]
    for index, sensor in enumerate(profile.sensors):
        if index >= len(identity.sensors):
            break
        reported = identity.sensors[index]
        label = f"sensor {index} '{sensor.id}'"
        want_channel = None if sensor.channel is None else channel_ids.index(sensor.channel)
        sensor_checks: list[_Check] = [
            ("kind", reported.kind, sensor.kind, reported.kind == sensor.kind, ""),
            ("channel", reported.channel, want_channel, reported.channel == want_channel, ""),
            ("valid min", reported.valid_min, sensor.valid_min,
             _same(reported.valid_min, sensor.valid_min), f" {sensor.unit}"),
            ("valid max", reported.valid_max, sensor.valid_max,
             _same(reported.valid_max, sensor.valid_max), f" {sensor.unit}"),
            ("unit", reported.unit, sensor.unit, reported.unit == sensor.unit, ""),
        ]
        found.extend(_differing(label, sensor_checks))
    return found


def _another_device(identity: DeviceIdentity, profile: DeviceProfile) -> list[str]:
    """Three lines: what the device is, and its list and the profile's of what differs in
    number (channels, else sensors)."""
    info = identity.info
    known = _built_in_match(identity)
    who = (f"a '{known.name}' board" if known is not None
           else "a board no built-in profile describes")
    lines = [
        f"device: {who} (firmware {info.firmware_version}) with {info.channel_count} channels "
        f"and {info.sensor_count} sensors; profile '{profile.name}' has "
        f"{len(profile.channels)} channels and {len(profile.sensors)} sensors"
    ]
    what = "channels" if info.channel_count != len(profile.channels) else "sensors"
    if known is not None:
        device_items = [item.id for item in getattr(known, what)]
    else:  # the board does not send ids: say what each output or sensor is
        device_items = [_described(item.kind, getattr(item, "zone", None))
                        for item in getattr(identity, what)]
    lines.append(f"device {what}: {', '.join(device_items)}")
    lines.append(f"profile '{profile.name}' {what}: "
                 f"{', '.join(item.id for item in getattr(profile, what))}")
    return lines


def _described(kind: object, zone: object) -> str:
    return str(kind) if zone is None else f"{kind} {zone}"


def _built_in_match(identity: DeviceIdentity) -> DeviceProfile | None:
    """The built-in profile a board answering exactly this way was built for, if any (at the
    board's own clock, which only scales the max durations)."""
    for name in builtin_device_names():
        profile = load_device(name)
        expected = device_profile_map(profile, clock_hz=identity.info.clock_hz)
        if expected.channels == identity.channels and expected.sensors == identity.sensors:
            return profile
    return None


@dataclass
class IdentityCollector:
    """Gathers the answer to Identify as its messages arrive (any order, repeats allowed)."""

    info: DeviceInfo | None = None
    channels: dict[int, ChannelInfo] = field(default_factory=dict)
    sensors: dict[int, SensorInfo] = field(default_factory=dict)
    received: int = 0  # parts of answers received, repeats included

    def add(self, message: object) -> None:
        if isinstance(message, DeviceInfo | ChannelInfo | SensorInfo):
            self.received += 1
        if isinstance(message, DeviceInfo):
            self.info = message
        elif isinstance(message, ChannelInfo):
            self.channels[message.index] = message
        elif isinstance(message, SensorInfo):
            self.sensors[message.index] = message

    def parts(self) -> int:
        """How many distinct parts of the answer have arrived."""
        return (self.info is not None) + len(self.channels) + len(self.sensors)

    def identity(self) -> DeviceIdentity | None:
        """The complete answer, or None while a part is missing."""
        info = self.info
        if info is None:
            return None
        if any(i not in self.channels for i in range(info.channel_count)):
            return None
        if any(i not in self.sensors for i in range(info.sensor_count)):
            return None
        return DeviceIdentity(
            info,
            tuple(self.channels[i] for i in range(info.channel_count)),
            tuple(self.sensors[i] for i in range(info.sensor_count)),
        )
