"""What the host last asked with immediate messages, to send again what a status shows lost.

Immediate messages are not acked. Instead the board's StatusReport (2 Hz and on every change)
carries its state, intensity scale and channel mask; where they disagree with what the host
asked, the message is sent again. Stop counts as asked until the host sends Reset; a Stop with
cause FAULT counts until then as well, and is sent again while the board shows no latch.
"""

from __future__ import annotations

from massagectl.firmware_bridge import messages as m

SCALE_TOLERANCE = 5e-4  # half a thousandth: the wire's resolution of an intensity scale


class ImmediateIntent:
    def __init__(self) -> None:
        self.stopped = False
        self.stopped_for_fault = False
        self.intensity: float | None = None
        self.enabled_mask: int | None = None

    def sent(self, message: object) -> None:
        if isinstance(message, m.Stop):
            self.stopped = True
            self.stopped_for_fault |= message.cause != m.HostStopCause.REQUESTED
        elif isinstance(message, m.Reset):
            self.stopped = self.stopped_for_fault = False
        elif isinstance(message, m.ClearFault):
            self.stopped_for_fault = False
        elif isinstance(message, m.SetIntensity):
            self.intensity = message.scale
        elif isinstance(message, m.SetChannelMask):
            self.enabled_mask = message.enabled_mask

    def repairs(self, status: m.StatusReport) -> list[object]:
        """The immediate messages the board shows it did not get."""
        missing: list[object] = []
        if self.stopped_for_fault and not status.fault_latched:
            missing.append(m.Stop(m.HostStopCause.FAULT))
        elif self.stopped and status.state is m.DeviceState.READY:
            missing.append(m.Stop())
        if self.intensity is not None and abs(status.intensity_scale - self.intensity) > (
            SCALE_TOLERANCE
        ):
            missing.append(m.SetIntensity(self.intensity))
        if self.enabled_mask is not None and status.enabled_mask != self.enabled_mask:
            missing.append(m.SetChannelMask(self.enabled_mask))
        return missing
