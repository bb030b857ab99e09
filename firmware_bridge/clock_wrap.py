"""The board's clock on the wire: a tick counter that travels as its low 32 bits (hardware.md 4.5).

    wrap_clock(ticks)            the 32-bit wire form of a tick count
    unwrap_clock(clock, near)    the tick count nearest to `near` whose wire form is `clock`
    ClockUnwrapper().ticks(c)    a stream of wire clocks as tick counts, against the latest one

The board counts up from power-on and wraps from 2**32 - 1 to 0 (71.6 min at 1 MHz). Everything
that compares clocks works on unwrapped tick counts (Python ints, which never wrap), and the
only ambiguity is settled here: a wire clock means the count nearest to a reference, from half
a wrap behind it to just under half a wrap ahead. So two clocks must never be half a wrap
(HALF_WRAP_TICKS: 35.8 min at 1 MHz) or more apart; the host keeps every clock it sends or
receives within seconds of the board's. The link's clock synchronisation, the supervisor's
board seconds and the simulated board all unwrap through this module.
"""

from __future__ import annotations

from massagectl.firmware_bridge.wire import CLOCK_MODULUS

HALF_WRAP_TICKS = CLOCK_MODULUS // 2


def wrap_clock(ticks: int) -> int:
    """The 32-bit wire form of a tick count."""
    return ticks % CLOCK_MODULUS


def unwrap_clock(clock: int, near: int) -> int:
    """The tick count congruent to `clock` (mod 2**32) nearest to `near`: within
    -HALF_WRAP_TICKS .. HALF_WRAP_TICKS - 1 of it."""
    return near + (clock - near + HALF_WRAP_TICKS) % CLOCK_MODULUS - HALF_WRAP_TICKS


class ClockUnwrapper:
    """Unwraps the clocks of one board's messages, each against the latest count seen so far.

    The first clock is taken as it stands (a count below one wrap). An older clock than the
    latest (a message that waited in a queue) unwraps behind it and leaves the reference where
    it is, so the reference never moves back.
    """

    def __init__(self) -> None:
        self.latest_ticks: int | None = None

    def ticks(self, clock: int) -> int:
        latest = self.latest_ticks
        if latest is None:
            ticks = wrap_clock(clock)
        else:
            ticks = unwrap_clock(clock, latest)
            if ticks <= latest:
                return ticks
        self.latest_ticks = ticks
        return ticks
