"""The MQTT bridge: the chair's state out and its commands in, with Home Assistant discovery."""
