"""Device-level faults a test can switch on and off, each with the effect real hardware shows.

    RESET            the board restarts: queue, state and clock lost; POWER_ON; outputs safe
    UNPLUG           the cable is out: no frame reaches the board, nothing it sends arrives;
                     its watchdog trips after 500 ms of silence (clear it to replug)
    STUCK_VALVE      an airbag's vent stays shut when commanded open: pressure stays up
    DEAD_SENSOR      a sensor reads far outside its valid range (open or shorted wiring)
    STUCK_SENSOR     a sensor repeats its last reading (the board's controllers see it too)
    HEATER_STUCK_ON  a heat zone's relay is welded: the element heats whatever the board says
    MOTOR_STALL      a linear drive is energised but does not move (no encoder pulses)
    SEAT_VACATED     the occupant stands up: no seat signal, no contact on the back
    DEAF_TO_STOP     a firmware bug: the host's STOP is ignored (the watchdog, the remote's
                     STOP key and the board's own checks still work)

Firmware bugs, each breaking one duty of hardware.md, so that `massagectl conformance` can be
shown to catch it (switch them on for `massagectl sim` with --board-fault):

    NO_WATCHDOG          the watchdog never fires
    NO_CLAMP             segments beyond the hard range are accepted and not clamped
    NO_MAX_DURATION      segments longer than max_duration are accepted
    NO_SLEW              an intensity rise, a re-enabled channel or a late segment jumps at once
    IGNORES_RISE_LIMIT   SetRiseLimit is acked but changes nothing: slews go at the map's rate
    FORGETFUL_LATCH      Reset clears a latched fault
    NO_RANGE_CHECK       a sensor out of its valid range never shuts the board down
    NO_NAK               the board never sends a NAK
    REPEATS_DUPLICATES   a duplicate DATA block is acted on again

RESET is an event; the others stay on until cleared. Faults of the hardware are not visible to
the board's own idea of its outputs (`outputs_safe`): a welded relay is exactly what the host's
supervisor has to catch from telemetry.
"""

from __future__ import annotations

from enum import StrEnum

from massagectl.routines.device import ChannelKind


class FaultKind(StrEnum):
    RESET = "reset"
    UNPLUG = "unplug"
    STUCK_VALVE = "stuck_valve"
    DEAD_SENSOR = "dead_sensor"
    STUCK_SENSOR = "stuck_sensor"
    HEATER_STUCK_ON = "heater_stuck_on"
    MOTOR_STALL = "motor_stall"
    SEAT_VACATED = "seat_vacated"
    DEAF_TO_STOP = "deaf_to_stop"
    NO_WATCHDOG = "no_watchdog"
    NO_CLAMP = "no_clamp"
    NO_MAX_DURATION = "no_max_duration"
    NO_SLEW = "no_slew"
    IGNORES_RISE_LIMIT = "ignores_rise_limit"
    FORGETFUL_LATCH = "forgetful_latch"
    NO_RANGE_CHECK = "no_range_check"
    NO_NAK = "no_nak"
    REPEATS_DUPLICATES = "repeats_duplicates"

    @property
    def firmware_bug(self) -> bool:
        """A bug of the board's firmware (a flag of FaultSwitches), not of its hardware."""
        return self in FIRMWARE_BUGS

    @property
    def target(self) -> str | None:
        """What the fault needs named: a channel, a sensor, or nothing."""
        return _TARGETS.get(self)


_TARGETS = {
    FaultKind.STUCK_VALVE: "channel",
    FaultKind.HEATER_STUCK_ON: "channel",
    FaultKind.MOTOR_STALL: "channel",
    FaultKind.DEAD_SENSOR: "sensor",
    FaultKind.STUCK_SENSOR: "sensor",
}

# The channel kinds each channel fault can happen to.
FAULT_CHANNEL_KINDS = {
    FaultKind.STUCK_VALVE: (ChannelKind.AIRBAG,),
    FaultKind.HEATER_STUCK_ON: (ChannelKind.HEAT, ChannelKind.COOL),
    FaultKind.MOTOR_STALL: (ChannelKind.POSITION, ChannelKind.WIDTH, ChannelKind.DEPTH),
}

FIRMWARE_BUGS = frozenset({
    FaultKind.DEAF_TO_STOP, FaultKind.NO_WATCHDOG, FaultKind.NO_CLAMP, FaultKind.NO_MAX_DURATION,
    FaultKind.NO_SLEW, FaultKind.FORGETFUL_LATCH, FaultKind.NO_RANGE_CHECK, FaultKind.NO_NAK,
    FaultKind.REPEATS_DUPLICATES, FaultKind.IGNORES_RISE_LIMIT,
})
