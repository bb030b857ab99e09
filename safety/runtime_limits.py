"""Run-time limits: intensity down and zones off act on the board at once, and can never raise
anything above what admission accepted.

Both act through the board's immediate messages, not through the next segment: SetIntensity
scales the intensity-scaled channels (depth, airbags, tapping) toward their safe default, and
SetChannelMask puts switched-off channels in their safe state. The admitted plan is the most the
session may reach, so the scale never goes above 1 and a channel admission held off never comes
back on; raising within those bounds (intensity up after a down, a zone back on) is allowed.

A raise is slewed by the board at each channel's rise rate (hardware.md section 5), as is a
segment that starts away from where the output is (a late one). Where the board's own rate is
faster than the rise this session admits (an owner who lowered an airbag's inflation limit
below the board's), `begin` tells the board the admitted rate with SetRiseLimit before the
session's first segment, so every slew, whatever arrives late, holds the admitted rate; the
supervisor's rise check still judges the readings against it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

from massagectl.firmware_bridge.messages import SetChannelMask, SetIntensity
from massagectl.routines.device import DeviceProfile, Zone
from massagectl.routines.errors import LinkLostError, SafetyError
from massagectl.routines.intensity import LEVELS, intensity_factor
from massagectl.safety.ports import BoardPort

if TYPE_CHECKING:
    from massagectl.safety.channel_limits import PlanLimits

# The scale of the plan as admitted; run-time changes stay at or below it.
ADMITTED_SCALE = 1.0
# SetRiseLimit carries thousandths of the unit per second (hardware.md 4.5); this much of a
# count is the float's rounding (2.3 * 1000 is 2299.9999999999995), not a rate.
RISE_COUNTS_PER_UNIT = 1000
RISE_ROUNDING = 1e-6


def admitted_rise(limits: PlanLimits) -> dict[int, float]:
    """Per channel index, the fastest rise `limits` admit (airbags, the roller's depth)."""
    return {channel.index: channel.max_rise_per_s for channel in limits.channels
            if channel.max_rise_per_s is not None}


def board_rise_limits(device: DeviceProfile,
                      admitted_rise: Mapping[int, float] | None) -> dict[int, float]:
    """What SetRiseLimit tells the board: every channel it slews (each with a safe default) at
    the admitted rise where that is below the board's own rate, else at the board's own. The
    board then holds the host's rates alone, whatever an earlier session left. Rounded down to
    the wire's thousandths, never up past what was admitted."""
    admitted_rise = admitted_rise or {}
    limits = {}
    for index, channel in enumerate(device.channels):
        if channel.safe_default is None:
            continue  # a position-like drive is never slewed: it moves at its own speed
        rate = min(admitted_rise.get(index, channel.rise_per_s), channel.rise_per_s)
        # Below a thousandth per second (no owner means that: a bag would take hours to fill)
        # the wire's smallest rate goes.
        counts = max(1, math.floor(rate * RISE_COUNTS_PER_UNIT + RISE_ROUNDING))
        limits[index] = counts / RISE_COUNTS_PER_UNIT
    return limits


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
        # What the board was last told to slew each channel at (SetRiseLimit), per s.
        self.rise_limits: dict[int, float] = {}

    def begin(self, admitted_mask: int | None = None,
              admitted_rise: dict[int, float] | None = None) -> None:
        """A new session: full admitted scale and channels, and the admitted rise rates, sent
        to the board now, before the session's first segment.
        `admitted_rise`: per channel index, the fastest rise admitted, per s."""
        self.admitted_mask = self.all_channels_mask if admitted_mask is None else admitted_mask
        self.rise_limits = board_rise_limits(self.device, admitted_rise)
        if self.port.set_rise_limits(self.rise_limits) is False:
            raise LinkLostError("could not send the rise limits: the port is gone",
                                "start the session again once the board is connected")
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
        self._send_mask(mask)

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
