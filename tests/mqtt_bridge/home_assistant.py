"""What Home Assistant's MQTT discovery accepts, as far as these tests need it.

Facts from Home Assistant's MQTT integration documentation (mqtt.markdown and the per-platform
pages, 2025): the options each platform takes, the device classes and the units each sensor
device class accepts, and the abbreviations the device-based payload uses.
"""

from __future__ import annotations

COMMON = {
    "name", "unique_id", "device", "origin", "availability", "availability_mode", "icon",
    "entity_category", "qos", "enabled_by_default", "json_attributes_topic",
    "json_attributes_template", "default_entity_id", "value_template", "state_topic",
    "encoding", "entity_picture",
}
PLATFORM_OPTIONS = {
    "button": {"command_topic", "payload_press", "retain", "device_class"},
    "select": {"command_topic", "options", "retain", "command_template"},
    "number": {"command_topic", "min", "max", "step", "mode", "unit_of_measurement",
               "device_class", "retain", "command_template"},
    "switch": {"command_topic", "payload_on", "payload_off", "state_on", "state_off",
               "device_class", "retain", "optimistic"},
    "sensor": {"device_class", "unit_of_measurement", "state_class", "options",
               "suggested_display_precision", "expire_after", "force_update"},
    "binary_sensor": {"device_class", "payload_on", "payload_off", "expire_after",
                      "force_update", "off_delay"},
    "event": {"event_types", "device_class"},
}
REQUIRED = {
    "button": {"command_topic"},
    "select": {"command_topic", "options"},
    "number": {"command_topic"},
    "switch": {"command_topic"},
    "sensor": {"state_topic"},
    "binary_sensor": {"state_topic"},
    "event": {"state_topic", "event_types"},
}
SENSOR_UNITS = {
    "duration": {"d", "h", "min", "s", "ms"},
    "pressure": {"cbar", "bar", "hPa", "mmHg", "inHg", "kPa", "mbar", "Pa", "psi"},
    "temperature": {"°C", "°F", "K"},
    "timestamp": {None},
    "enum": {None},
}
BINARY_SENSOR_CLASSES = {"running", "problem", "connectivity", "occupancy", "power", "heat"}
ENTITY_CATEGORIES = {"config", "diagnostic"}
DEPRECATED = {"object_id"}
DEVICE_KEYS = {"identifiers", "connections", "name", "manufacturer", "model", "model_id",
               "serial_number", "sw_version", "hw_version", "suggested_area", "via_device",
               "configuration_url"}
ORIGIN_KEYS = {"name", "sw_version", "support_url"}
DEVICE_PAYLOAD_ABBREVIATIONS = {"dev": "device", "o": "origin", "cmps": "components",
                                "p": "platform"}


def problems_with(component: str, config: dict) -> list[str]:
    """Everything Home Assistant would refuse or warn about in one entity's config."""
    found = []
    allowed = COMMON | PLATFORM_OPTIONS[component]
    found += [f"{component}: unknown option {key!r}" for key in config if key not in allowed]
    found += [f"{component}: deprecated option {key!r}" for key in config if key in DEPRECATED]
    found += [f"{component}: missing {key!r}" for key in REQUIRED[component] - set(config)]
    if component == "sensor" and "device_class" in config:
        units = SENSOR_UNITS.get(config["device_class"])
        if units is None:
            found.append(f"sensor: device class {config['device_class']!r} not checked here")
        elif config.get("unit_of_measurement") not in units:
            found.append(f"sensor: unit {config.get('unit_of_measurement')!r} not accepted "
                         f"for {config['device_class']}")
        if config["device_class"] in ("enum", "timestamp") and "state_class" in config:
            found.append("sensor: enum and timestamp sensors take no state_class")
        if config["device_class"] == "enum" and not config.get("options"):
            found.append("sensor: an enum sensor needs options")
    if component == "binary_sensor" and config.get("device_class") not in (
            None, *BINARY_SENSOR_CLASSES):
        found.append(f"binary_sensor: device class {config['device_class']!r}")
    if config.get("entity_category") not in (None, *ENTITY_CATEGORIES):
        found.append(f"entity_category {config['entity_category']!r}")
    if component == "number" and config.get("mode") not in (None, "auto", "box", "slider"):
        found.append(f"number: mode {config['mode']!r}")
    for entry in config.get("availability", []):
        if "topic" not in entry:
            found.append("availability entry without a topic")
    if config.get("availability_mode") not in (None, "all", "any", "latest"):
        found.append(f"availability_mode {config['availability_mode']!r}")
    if not isinstance(config.get("unique_id"), str):
        found.append("no unique_id")
    return found
