"""Run-time limits: intensity down and zones off act on the board at once, and can never raise
anything above what admission accepted.

Both act through the board's immediate messages, not through the next segment: SetIntensity
scales the intensity-scaled channels (depth, airbags, tapping) toward their safe default, and
SetChannelMask puts switched-off channels in their safe state. The admitted plan is the most the
session may reach, so the scale never goes above 1 and a channel admission held off never comes
back on; raising within those bounds (intensity up after a down, a zone back on) is allowed.

A raise is slewed by the board at each channel's rise rate (hardware.md section 5). Where that
is faster than the rise this session admits (an owner who lowered an airbag's inflation limit
below the board's), the raise is refused with a clear error: the board would fill the bag
faster than allowed, and the supervisor's rise check would stop the session for it.
"""

from __future__ import annotations

import math

from massagectl.firmware_bridge.messages import SetChannelMask, SetIntensity
from massagectl.routines.device import DeviceProfile, Zone
from massagectl.routines.errors import LinkLostError, SafetyError
from massagectl.routines.intensity import LEVELS, intensity_factor
from massagectl.safety.ports import BoardPort

# The scale of the plan as admitted; run-time changes stay at or below it.
ADMITTED_SCALE = 1.0
# A board's rise rate may match an admitted rise up to float rounding.
RISE_TOLERANCE = 1e-9


class RuntimeLimitError(SafetyError):
    """A run-time change that would go beyond what admission accepted; nothing was sent."""


class RuntimeLimits:
    """The intensity scale and the enabled channels of the running session."""

    def __init__(self, port: BoardPort, device: DeviceProfile) -> None:
        self.port = port
        self.device = device
        self.all_channels_mask = (1 << len(device.channels)) - 1
        self.admitted_mask = self.all_channels_mask
        self.scale = ADMITTED_SCALE
        self.enabled_mask = self.all_channels_mask
        # Read for every sensor reading the supervisor judges: looked up once, not per call.
        self._safe_defaults = tuple(c.safe_default for c in device.channels)
        self._scaled = tuple(c.kind.scaled_by_intensity for c in device.channels)
        # Channels the board raises faster than admitted: index -> the admitted rise, per s.
        self.slower_rise: dict[int, float] = {}

    def begin(self, admitted_mask: int | None = None,
              admitted_rise: dict[int, float] | None = None) -> None:
        """A new session: full admitted scale and channels, sent to the board now.
        `admitted_rise`: per channel index, the fastest rise admitted, per s."""
        self.admitted_mask = self.all_channels_mask if admitted_mask is None else admitted_mask
        self.slower_rise = {
            index: rise for index, rise in (admitted_rise or {}).items()
            if self.device.channels[index].rise_per_s > rise * (1 + RISE_TOLERANCE)}
        self.scale = ADMITTED_SCALE
        self.enabled_mask = self.admitted_mask
        self._send(SetIntensity(self.scale))
        self._send(SetChannelMask(self.enabled_mask))

    def set_scale(self, scale: float) -> None:
        """Set the intensity scale (0..1 of the admitted plan); takes effect on the board now."""
        if not (isinstance(scale, (int, float)) and math.isfinite(scale)):
            raise RuntimeLimitError(f"intensity scale {scale!r} is not a number")
        if scale > ADMITTED_SCALE or scale < 0:
            raise RuntimeLimitError(
                f"intensity scale {scale:g} is outside 0..{ADMITTED_SCALE:g}",
                "the admitted plan is the most a session may reach; compile and admit a "
                "stronger routine instead",
            )
        if scale > self.scale:
            self._refuse_a_fast_rise([i for i, scaled in enumerate(self._scaled)
                                      if scaled and self.enabled(i)], "intensity up")
        self._send(SetIntensity(float(scale)))
        self.scale = float(scale)

    def set_level(self, level: int) -> None:
        """Set an intensity level 1..5 of the plan compiled (and admitted) at level 5."""
        try:
            scale = intensity_factor(level) / intensity_factor(max(LEVELS))
        except ValueError as error:
            raise RuntimeLimitError(str(error)) from None
        self.set_scale(scale)

    def lower_scale(self, by: float) -> float:
        """Intensity down by `by` (never below 0); returns the new scale."""
        self.set_scale(max(0.0, self.scale - abs(by)))
        return self.scale

    def channels_off(self, channel_ids: list[str]) -> None:
        mask = self.enabled_mask
        for channel_id in channel_ids:
            mask &= ~(1 << self.device.channel_index(channel_id))
        self._send_mask(mask)

    def channels_on(self, channel_ids: list[str]) -> None:
        mask = self.enabled_mask
        for channel_id in channel_ids:
            bit = 1 << self.device.channel_index(channel_id)
            if not self.admitted_mask & bit:
                raise RuntimeLimitError(f"channel {channel_id!r} was held off by admission; it "
                                        "cannot be switched on during this session")
            mask |= bit
        self._refuse_a_fast_rise([i for i in range(len(self._scaled))
                                  if mask >> i & 1 and not self.enabled(i)], "switching it on")
        self._send_mask(mask)

    def _refuse_a_fast_rise(self, indices: list[int], what: str) -> None:
        for index in indices:
            admitted = self.slower_rise.get(index)
            if admitted is None:
                continue
            channel = self.device.channels[index]
            raise RuntimeLimitError(
                f"{what} refused: the board raises {channel.id} at {channel.rise_per_s:g} "
                f"{channel.unit}/s, faster than the {admitted:g} {channel.unit}/s allowed here",
                "lower the intensity, or switch zones off, as needed; the owner's rise limit "
                "or the board's rise rate would have to change for more")

    def zone_off(self, zone: Zone) -> None:
        self.channels_off([c.id for c in self.device.channels if c.zone is zone])

    def zone_on(self, zone: Zone) -> None:
        self.channels_on([c.id for c in self.device.channels if c.zone is zone])

    def enabled(self, index: int) -> bool:
        return bool(self.enabled_mask >> index & 1)

    def effective(self, index: int, value: float) -> float:
        """What the board outputs for a commanded `value` on channel `index` right now."""
        safe_default = self._safe_defaults[index]
        if safe_default is None:
            return value
        if not self.enabled_mask >> index & 1:
            return safe_default
        if self._scaled[index]:
            return safe_default + (value - safe_default) * self.scale
        return value

    def _send_mask(self, mask: int) -> None:
        mask &= self.admitted_mask
        self._send(SetChannelMask(mask))
        self.enabled_mask = mask

    def _send(self, message: SetIntensity | SetChannelMask) -> None:
        if self.port.send_immediate(message) is False:
            raise LinkLostError(f"could not send {type(message).__name__}: the port is gone",
                                "stop the session; the board's watchdog makes it safe")
