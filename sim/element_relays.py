"""The board's check of its heat and cool elements' relays against their current sensors.

A board that senses an element's current (a sensor of kind current on a heat or cool channel)
knows at every sample whether that element's relay (or bridge leg) is commanded closed: its
own thermostat decides it (hardware.md 5). Current through an element whose relay is
commanded open can only come through a welded relay: no STOP switches it off, and only the
thermal cut-off will. The board reports it (FaultReport OVER_LIMIT: the sensor and the current,
a measured value beyond the board's own limit) and shuts down latched, in SHUTDOWN too, so
that no host can start the chair again before a person has seen to it.
"""

from __future__ import annotations

from massagectl.routines.device import ChannelKind, DeviceProfile, SensorKind
from massagectl.sim.physics.plant import Plant
from massagectl.sim.physics.thermal import ThermalZone

# An open relay passes nothing: the reading is the sensor's noise (0.009 A on the reference
# board's 0..3 A sensor). The smallest element a chair carries (20 W on 24 V) draws 0.83 A.
# A quarter of that lies twenty noise steps above an open relay's reading.
ELEMENT_DRAWS_A = 0.2
# Two readings in a row (0.1 s at 20 Hz): one reading may be a glitch coupled into the ADC.
WELDED_READINGS = 2


class ElementRelays:
    """The element current sensors of a board and the relays they watch."""

    def __init__(self, profile: DeviceProfile, plant: Plant) -> None:
        # (sensor index, the element's zone, whether the sensor is on its cooling leg)
        self.watched: list[tuple[int, ThermalZone, bool]] = []
        for index, sensor in enumerate(profile.sensors):
            if sensor.kind is not SensorKind.CURRENT or sensor.channel is None:
                continue
            channel_index = profile.channel_index(sensor.channel)
            kind = profile.channels[channel_index].kind
            if kind in (ChannelKind.HEAT, ChannelKind.COOL):
                self.watched.append((index, plant.zones[channel_index],
                                     kind is ChannelKind.COOL))
        self._runs = [0] * len(self.watched)

    def judge(self, readings: list[float], latched: bool) -> tuple[int, float] | None:
        """The first element drawing current with its relay commanded open for
        WELDED_READINGS readings: (sensor index, current). Said once per run of readings, and
        again on each later reading while no fault is latched (after a ClearFault)."""
        found = None
        for position, (index, zone, cooling) in enumerate(self.watched):
            commanded_closed = zone.cooling_on if cooling else zone.heating
            drawing = readings[index] >= ELEMENT_DRAWS_A and not commanded_closed
            runs = self._runs[position] = self._runs[position] + 1 if drawing else 0
            if found is None and (runs == WELDED_READINGS
                                  or (runs > WELDED_READINGS and not latched)):
                found = (index, readings[index])
        return found
