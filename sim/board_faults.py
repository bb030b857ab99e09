"""How each device fault of sim.faults takes hold of a board's hardware and firmware."""

from __future__ import annotations

from typing import TYPE_CHECKING

from massagectl.routines.device import ChannelKind, SensorKind
from massagectl.routines.errors import InputError
from massagectl.sim.faults import FAULT_CHANNEL_KINDS, FaultKind

if TYPE_CHECKING:
    from massagectl.sim.board import SimBoard

# The board's controllers regulate on these sensors; a broken one misleads the controller too.
_CONTROLLER_SENSORS = {SensorKind.PRESSURE: "airbags", SensorKind.TEMPERATURE: "zones"}


class FaultSwitches:
    """The faults currently switched on, and the code that applies them to one board."""

    def __init__(self, board: SimBoard) -> None:
        self._board = board
        self.unplugged = False
        # Firmware bugs (sim.faults.FIRMWARE_BUGS), by the FaultKind's value.
        self.deaf_to_stop = False
        self.no_watchdog = False
        self.no_clamp = False
        self.no_max_duration = False
        self.no_slew = False
        self.ignores_rise_limit = False
        self.forgetful_latch = False
        self.no_range_check = False
        self.no_nak = False
        self.repeats_duplicates = False
        self.active: set[tuple[FaultKind, str | None]] = set()

    def switch(self, kind: FaultKind, target: str | None, *, on: bool, now_s: float) -> None:
        index = self._target_index(kind, target)
        board = self._board
        board._event("inject", fault=kind.value, target=target, on=on)
        if kind is FaultKind.RESET:
            if on:
                board._reboot(now_s)
            return
        if on:
            self.active.add((kind, target))
        else:
            self.active.discard((kind, target))
        plant = board.plant
        if kind is FaultKind.UNPLUG:
            self.unplugged = on
        elif kind.firmware_bug:
            setattr(self, kind.value, on)
        elif kind is FaultKind.SEAT_VACATED:
            board.occupant.present = not on
        elif kind is FaultKind.STUCK_VALVE:
            plant.airbags[index].vent_stuck_closed = on
        elif kind is FaultKind.HEATER_STUCK_ON:
            zone = plant.zones[index]
            if board.profile.channels[index].kind is ChannelKind.COOL:
                zone.cool_stuck = on
            else:
                zone.heat_stuck = on
            if not on:
                zone.cutoff_open = False  # repaired: a new relay, the cut-off reset
                board.cutoff_open.difference_update(
                    i for i, z in plant.zones.items() if z is zone)
        elif kind is FaultKind.MOTOR_STALL:
            plant.drives[index].stalled = on
        elif kind is FaultKind.DEAD_SENSOR:
            self._switch_dead(index, on)
        elif kind is FaultKind.STUCK_SENSOR:
            self._switch_stuck(index, on)

    def _switch_dead(self, index: int, on: bool) -> None:
        sensors = self._board.sensors
        if on:
            sensors.dead.add(index)
        else:
            sensors.dead.discard(index)
        self._mislead_controller(index)

    def _switch_stuck(self, index: int, on: bool) -> None:
        sensors = self._board.sensors
        if on:
            sensors.freeze(index, self._board.plant.readers[index]())
        else:
            sensors.stuck.pop(index, None)
        self._mislead_controller(index)

    def _mislead_controller(self, sensor_index: int) -> None:
        """Give the controller behind this sensor what the broken sensor reads (or the truth)."""
        board = self._board
        sensor = board.profile.sensors[sensor_index]
        group = _CONTROLLER_SENSORS.get(sensor.kind)
        if group is None or sensor.channel is None:
            return
        controlled = getattr(board.plant, group).get(board.profile.channel_index(sensor.channel))
        if controlled is None:
            return
        sensors = board.sensors
        if sensor_index in sensors.dead:
            controlled.sensed_override = float(sensors.dead_value[sensor_index])
        elif sensor_index in sensors.stuck:
            controlled.sensed_override = sensors.stuck[sensor_index]
        else:
            controlled.sensed_override = None

    def _target_index(self, kind: FaultKind, target: str | None) -> int:
        profile = self._board.profile
        if kind.target is None:
            if target is not None:
                raise InputError(f"fault {kind.value} takes no target, got {target!r}")
            return -1
        if target is None:
            raise InputError(f"fault {kind.value} needs a {kind.target} to act on")
        if kind.target == "sensor":
            return profile.sensors.index(profile.sensor(target))
        channel = profile.channel(target)
        allowed = FAULT_CHANNEL_KINDS[kind]
        if channel.kind not in allowed:
            raise InputError(
                f"fault {kind.value} cannot happen to {target!r}, a {channel.kind} channel",
                "it needs a channel of kind " + " or ".join(str(k) for k in allowed),
            )
        return profile.channel_index(target)
