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
