"""Helpers shared by the firmware_bridge tests: hypothesis strategies and stream decoding."""

from __future__ import annotations

from hypothesis import strategies as st

from massagectl.firmware_bridge import messages as m
from massagectl.firmware_bridge.codec import from_counts
from massagectl.firmware_bridge.events import NEED_DATA
from massagectl.firmware_bridge.framing import Block, BlockDecoder
from massagectl.firmware_bridge.wire import (
    MAX_SENSOR_VALUES_PER_REPORT,
    MAX_TEXT_BYTES,
    READING_MAX,
    READING_MIN,
)
from massagectl.routines.device import ChannelKind, SensorKind, Unit, Zone

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 2**32 - 1)
# Values as the wire carries them (thousandths), so a round trip is exact.
values = st.integers(-(2**31), 2**31 - 1).map(from_counts)
readings = st.integers(READING_MIN, READING_MAX).map(from_counts)  # SensorReport's 24 bits
scales = st.integers(0, 1000).map(lambda permille: permille / 1000)
texts = st.text(max_size=MAX_TEXT_BYTES // 4)
channels = st.integers(0, 31)
rise_rates = st.integers(1, 2**31 - 1).map(from_counts)  # SetRiseLimit: above 0

host_messages = st.one_of(
    st.just(m.Identify()),
    st.builds(m.ScheduleSegment, channels, u32, u32, values, values, values, u32),
    st.just(m.Reset()),
    st.just(m.QueryStatus()),
    st.builds(m.ShowText, u8, texts),
    st.just(m.ClearFault()),
    st.builds(m.SetRiseLimit, channels, rise_rates),
    st.just(m.Stop()),
    st.builds(m.SetIntensity, scales),
    st.builds(m.SetChannelMask, u32),
    st.just(m.Heartbeat()),
    st.just(m.KeepAlive()),
)

device_messages = st.one_of(
    st.builds(m.DeviceInfo, u8, st.text(max_size=8), u32, u16, st.integers(0, 32),
              st.integers(0, 64)),
    st.builds(m.ChannelInfo, channels, st.sampled_from(ChannelKind),
              st.none() | st.sampled_from(Zone), values, values, st.none() | values, u32),
    st.builds(m.SensorInfo, st.integers(0, 63), st.sampled_from(SensorKind),
              st.none() | channels, values, values, st.none() | st.sampled_from(Unit)),
    st.builds(m.ClockReport, u32),
    st.builds(m.SensorReport, u32, st.integers(0, 52),
              st.lists(readings, max_size=MAX_SENSOR_VALUES_PER_REPORT).map(tuple)),
    st.builds(m.StatusReport, u32, st.sampled_from(m.DeviceState), st.sampled_from(m.StopCause),
              st.booleans(), u16, scales, u32, u32),
    st.builds(m.KeyPress, u32, st.sampled_from(m.RemoteKey)),
    st.builds(m.FaultReport, u32, st.sampled_from(m.FaultCode), st.integers(-1, 63), values),
)


def events_of(endpoint) -> list:
    """Drain an endpoint's events."""
    found = []
    while (event := endpoint.next_event()) is not NEED_DATA:
        found.append(event)
    return found


def blocks_in(decoder: BlockDecoder, data: bytes) -> list[Block]:
    decoder.feed(data)
    found = []
    while (item := decoder.next_item()) is not None:
        if isinstance(item, Block):
            found.append(item)
    return found
