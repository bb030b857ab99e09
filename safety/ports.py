"""The small interfaces the safety layer needs from the link to the board.

The host link (firmware_bridge) satisfies them without knowing about safety; tests use fakes.
"""

from __future__ import annotations

from typing import Protocol

from massagectl.firmware_bridge.messages import SetChannelMask, SetIntensity, Stop


class BoardPort(Protocol):
    """What the stop path and the run-time limits write to."""

    def send_immediate(self, message: Stop | SetIntensity | SetChannelMask) -> bool | None:
        """Write an immediate message to the port before returning.

        Returns False (or raises) when it could not be written; True or None when it was.
        """

    def set_rise_limits(self, rates_per_s: dict[int, float]) -> bool | None:
        """Give the board these rise rates (channel index -> unit per second) with SetRiseLimit,
        queued ahead of every segment sent after them, and again after every handshake.

        Returns False when they could not be written now; True or None when they were.
        """

    async def close(self) -> None:
        """Close the port; the board's watchdog then puts it in the safe state within 500 ms."""
