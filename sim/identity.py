"""What the simulated board answers to Identify: its device info and actuator and sensor map."""

from __future__ import annotations

from firmware_bridge.messages import ChannelInfo, DeviceInfo, SensorInfo
from firmware_bridge.wire import PROTOCOL_VERSION
from routines.device import DeviceProfile

FIRMWARE_VERSION = "sim-1.0"


def identify_answer(
    profile: DeviceProfile, clock_hz: int, queue_capacity: int
) -> list[DeviceInfo | ChannelInfo | SensorInfo]:
    """DeviceInfo, then one ChannelInfo per channel and one SensorInfo per sensor, in order."""
    answer: list[DeviceInfo | ChannelInfo | SensorInfo] = [
        DeviceInfo(
            protocol_version=PROTOCOL_VERSION,
            firmware_version=FIRMWARE_VERSION,
            clock_hz=clock_hz,
            queue_capacity=queue_capacity,
            channel_count=len(profile.channels),
            sensor_count=len(profile.sensors),
        )
    ]
    for index, channel in enumerate(profile.channels):
        answer.append(
            ChannelInfo(
                index=index,
                kind=channel.kind,
                zone=channel.zone,
                min=channel.min,
                max=channel.max,
                safe_default=channel.safe_default,
                max_duration_ticks=round(channel.max_duration_s * clock_hz),
            )
        )
    channel_ids = [channel.id for channel in profile.channels]
    for index, sensor in enumerate(profile.sensors):
        answer.append(
            SensorInfo(
                index=index,
                kind=sensor.kind,
                channel=None if sensor.channel is None else channel_ids.index(sensor.channel),
                valid_min=sensor.valid_min,
                valid_max=sensor.valid_max,
                unit=sensor.unit,
            )
        )
    return answer
