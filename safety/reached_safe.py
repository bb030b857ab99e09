"""After a shutdown: did each output's hardware reach its safe state in time (hardware.md 5)?

The board's `outputs_safe` says what it commands, at once; the hardware follows at its own
pace. The supervisor arms this at every shutdown the board reports, and every reading of a
sensor that observes a channel is judged once its channel's time is up:

    depth       (position sensor)  within 1 mm of the safe default, after (max - safe) / max
                                   rate + 0.5 s
    knead, tap  (speed sensor)     below 5 % of max, after max / max rate + 0.5 s
    airbag      (pressure sensor)  below 1 kPa, after 3 s
    position    (position sensor)  moved less than 2 mm in the last 0.5 s, after 1 s

A reading that has not got there by then is one problem, named with the channel, the reading
and the bound; heat and cool have no bound (a surface cools at its own pace). A channel that is
commanded again (a session starts or resumes) is no longer judged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from massagectl.routines.device import ChannelKind, DeviceProfile, SensorKind

DEPTH_TOLERANCE_MM = 1.0
SPEED_FRACTION = 0.05
AIRBAG_VENTED_KPA = 1.0
# An open vent empties a chair bag in about a second; three leave room for a large bag.
AIRBAG_VENT_S = 3.0
# A drive told to stop has stopped when it moved less than this in the last half second.
DRIVE_STILL_MM = 2.0
DRIVE_STILL_WINDOW_S = 0.5
DRIVE_STOP_S = 1.0
# The hardware's own ramp time is followed by this much for the last readings to arrive.
MARGIN_S = 0.5


class Commanded(Protocol):
    def commanded(self, channel_index: int, board_s: float) -> float | None:
        """The set point at `board_s` (None: the channel is in its safe state)."""


@dataclass
class _Rule:
    channel_index: int
    channel_id: str
    kind: ChannelKind
    unit: str  # the sensor's
    within_s: float
    # The safe default (depth), the lowest reading that is not safe (speed, airbag), or the least
    # move that is not standing (a drive).
    target: float
    deadline_s: float | None = None  # board seconds; None: not armed
    still_from: tuple[float, float] | None = None  # (board_s, mm) where a drive stood


def _rule(index: int, channel, sensor) -> _Rule | None:
    kind = channel.kind
    rate = channel.max_rate_per_s
    unit = str(sensor.unit)
    if kind is ChannelKind.DEPTH and sensor.kind is SensorKind.POSITION:
        return _Rule(index, channel.id, kind, unit,
                     (channel.max - channel.safe_default) / rate + MARGIN_S, channel.safe_default)
    if kind in (ChannelKind.KNEAD, ChannelKind.TAP) and sensor.kind is SensorKind.SPEED:
        return _Rule(index, channel.id, kind, unit, channel.max / rate + MARGIN_S,
                     SPEED_FRACTION * channel.max)
    if kind is ChannelKind.AIRBAG and sensor.kind is SensorKind.PRESSURE:
        return _Rule(index, channel.id, kind, unit, AIRBAG_VENT_S, AIRBAG_VENTED_KPA)
    if kind in (ChannelKind.POSITION, ChannelKind.WIDTH) and sensor.kind is SensorKind.POSITION:
        return _Rule(index, channel.id, kind, unit, DRIVE_STOP_S, DRIVE_STILL_MM)
    return None  # a motor's current, a temperature (a surface cools at its own pace), the seat


class ReachedSafe:
    """See the module docstring. `rules[sensor_index]` is None for sensors it does not judge."""

    def __init__(self, device: DeviceProfile) -> None:
        self.rules: list[_Rule | None] = []
        for sensor in device.sensors:
            index = None if sensor.channel is None else device.channel_index(sensor.channel)
            self.rules.append(None if index is None
                              else _rule(index, device.channels[index], sensor))
        # Whether any rule has a deadline: outside the seconds after a shutdown none has, and
        # the supervisor then skips `judge` for its twenty readings a second per sensor.
        self.armed = False

    def shut_down(self, board_s: float) -> None:
        """The board reported a shutdown at `board_s`: every output must get to safe."""
        for rule in self.rules:
            if rule is not None:
                rule.deadline_s = board_s + rule.within_s
                rule.still_from = None
                self.armed = True

    def forget(self) -> None:
        """The board restarted: nothing to judge."""
        for rule in self.rules:
            if rule is not None:
                rule.deadline_s = None
        self.armed = False

    def _disarm(self, rule: _Rule) -> None:
        rule.deadline_s = None
        self.armed = any(r is not None and r.deadline_s is not None for r in self.rules)

    def judge(self, sensor_index: int, value: float, board_s: float,
              context: Commanded) -> str | None:
        """One reading of sensor `sensor_index` (an index into the profile's sensors); a
        problem once, when a channel is not safe by its time."""
        rule = self.rules[sensor_index]
        if rule is None or rule.deadline_s is None:
            return None
        deadline_s = rule.deadline_s
        if context.commanded(rule.channel_index, board_s) is not None:
            self._disarm(rule)  # running again: its segments lead, the detectors judge
            return None
        if rule.kind in (ChannelKind.POSITION, ChannelKind.WIDTH):
            return self._judge_drive(rule, deadline_s, value, board_s)
        if board_s < deadline_s:
            return None
        self._disarm(rule)
        if rule.kind is ChannelKind.DEPTH:
            if abs(value - rule.target) <= DEPTH_TOLERANCE_MM:
                return None
            return (f"{rule.channel_id} at {value:.1f} {rule.unit} {rule.within_s:.1f} s after "
                    f"the shutdown, not back to {rule.target:g} {rule.unit}")
        if value < rule.target:
            return None
        return (f"{rule.channel_id} still at {value:.2f} {rule.unit} {rule.within_s:.1f} s "
                f"after the shutdown (safe below {rule.target:g} {rule.unit})")

    def _judge_drive(self, rule: _Rule, deadline_s: float, value: float,
                     board_s: float) -> str | None:
        if rule.still_from is None or abs(value - rule.still_from[1]) >= rule.target:
            rule.still_from = (board_s, value)
        elif board_s - rule.still_from[0] >= DRIVE_STILL_WINDOW_S:
            self._disarm(rule)  # it stands
            return None
        if board_s < deadline_s:
            return None
        self._disarm(rule)
        return (f"{rule.channel_id} still moving {rule.within_s:.1f} s after the shutdown "
                f"(at {value:.1f} {rule.unit})")
