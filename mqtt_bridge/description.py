"""What the bridge says about a chair, taken from its device profile and its board."""

from __future__ import annotations

from massagectl import __version__
from massagectl.controller.service.operations import ChairState
from massagectl.firmware_bridge.messages import RemoteKey
from massagectl.mqtt_bridge.discovery import ChairDescription
from massagectl.mqtt_bridge.topics import ChairTopics, chair_id_from_serial
from massagectl.routines.device import BACK_ZONES, DeviceProfile, SensorKind, Zone
from massagectl.routines.intensity import LEVELS
from massagectl.safety.faults import FaultCause
from massagectl.safety.limits import SESSION_TIMER_CHOICES_MIN

# How a session ended, as the session reports it (`SessionOutcome.ended`).
SESSION_ENDS = ("finished", "stopped", "fault", "error")


def switchable_zones(device: DeviceProfile) -> tuple[str, ...]:
    """Zones a person may switch off: the roller's back zones (when there is a roller) and every
    zone an actuator acts on, head to toe."""
    zones = set(device.zones)
    if device.track is not None:
        zones.update(BACK_ZONES)
    return tuple(zone.value for zone in sorted(zones, key=list(Zone).index))


def sensors_by_zone(device: DeviceProfile, kind: SensorKind) -> dict[str, str]:
    """Zone -> the sensor of `kind` on the channel that acts there, in profile order."""
    by_zone: dict[str, str] = {}
    for sensor in device.sensors_of(kind):
        if sensor.channel is not None:
            zone = device.channel(sensor.channel).zone
            if zone is not None:
                by_zone.setdefault(zone.value, sensor.id)
    return by_zone


def describe_chair(
    device: DeviceProfile,
    *,
    serial_number: str,
    firmware_version: str,
    routines: tuple[str, ...],
    base_topic: str = "massagectl",
    node_id: str | None = None,
    discovery_prefix: str = "homeassistant",
    name: str | None = None,
) -> ChairDescription:
    """The chair as discovery and the command parser see it. The chair id in topics is
    `node_id` when the owner set one, else derived from the serial number."""
    chair_id = node_id or chair_id_from_serial(serial_number)
    return ChairDescription(
        topics=ChairTopics(base_topic, chair_id),
        serial_number=serial_number,
        name=name or f"Massage {device.name} {serial_number}",
        model=device.name,
        firmware_version=firmware_version,
        software_version=__version__,
        routines=routines,
        zones=switchable_zones(device),
        pressure_zones=tuple(sensors_by_zone(device, SensorKind.PRESSURE)),
        temperature_zones=tuple(sensors_by_zone(device, SensorKind.TEMPERATURE)),
        session_states=tuple(state.value for state in ChairState),
        timer_choices_min=SESSION_TIMER_CHOICES_MIN,
        intensity_levels=LEVELS,
        remote_keys=tuple(key.name.lower() for key in RemoteKey),
        trip_causes=tuple(cause.value for cause in FaultCause),
        session_ends=SESSION_ENDS,
        has_seat_sensor=device.has_seat_sensor,
        discovery_prefix=discovery_prefix,
    )
