"""A described chair for the bridge's tests: the built-in chair profile with a made-up serial."""

from __future__ import annotations

from massagectl.mqtt_bridge.description import describe_chair
from massagectl.mqtt_bridge.discovery import ChairDescription
from massagectl.routines.device import load_device
from massagectl.routines.library import builtin_routine_names


def described_chair(serial_number: str = "SN-0042", **options) -> ChairDescription:
    return describe_chair(load_device(options.pop("device", "chair")),
                          serial_number=serial_number, firmware_version="1.2.0",
                          routines=tuple(builtin_routine_names()), **options)
