"""Each technique as channel patterns: which channel does what during one step.

Roller positions come from the body map (routines.body); a position beyond the track's reach
is not refused but worked at the nearest end of the track, with a note in the plan. A depth or
width the device cannot set, and a zone an optional step names that the device lacks, are
notes too. Intensity-scaled values are returned at intensity 5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from massagectl.routines.body import TrackMap, trigger_point_pct
from massagectl.routines.device import Channel, ChannelKind, DeviceProfile
from massagectl.routines.intensity import at_level_5
from massagectl.routines.patterns import SAME_VALUE, Hold, Passes, Pattern, Sequence, Sweep
from massagectl.routines.routine_check import ROLLER_MOTOR, ROLLER_STEPS, zone_channels
from massagectl.routines.steps import (
    Cool,
    Heat,
    Knead,
    LeafStep,
    Press,
    Stroke,
    Tap,
    TriggerPoint,
)
from massagectl.routines.user import UserProfile

# A sweep over a narrow band still takes this long per back-and-forth: faster feels like a
# shake, not a massage.
MIN_SWEEP_PERIOD_MS = 4000


@dataclass
class Techniques:
    """Turns steps into patterns for one device and one occupant, collecting notes."""

    device: DeviceProfile
    user: UserProfile
    _notes: list[str] = field(default_factory=list)
    # Steps whose depth or width the device cannot set, by channel kind: one note for all.
    _unhonoured: dict[ChannelKind, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.track = TrackMap.for_device(self.device, self.user)

    def note(self, label: str, text: str) -> None:
        line = f"{label}: {text}"
        if line not in self._notes:
            self._notes.append(line)

    @property
    def notes(self) -> list[str]:
        """What could not be honoured exactly, one line each."""
        lines = list(self._notes)
        for kind, labels in self._unhonoured.items():
            steps = f"{_count(len(labels), 'step')}: {', '.join(labels)}"
            lines.append(f"{kind.value}_mm not honoured: device {self.device.name!r} has no "
                         f"{kind.value} control ({steps})")
        return lines

    def patterns(self, step: LeafStep, label: str) -> dict[str, Pattern]:
        """Channel id -> pattern for the channels `step` drives; others rest meanwhile."""
        if isinstance(step, ROLLER_STEPS):
            return self._roller(step, label)
        found: dict[str, Pattern] = {}
        if not isinstance(step, (Press, Heat, Cool)):
            return found  # a pause drives nothing
        for zone, channels in zone_channels(self.device, step).items():
            if not channels:
                self.note(label, f"skipped zone {zone.value!r}: device {self.device.name!r} "
                          "has none (the step is optional)")
            for channel in channels:
                found[channel.id] = self._zone_pattern(step, channel)
        return found

    def _zone_pattern(self, step: Press | Heat | Cool, channel: Channel) -> Pattern:
        safe = channel.safe_default or 0.0
        if isinstance(step, Press):
            pressure = at_level_5(step.pressure_kpa, safe)
            keyframes = ((_ms(step.ramp_in_s), pressure), (_ms(step.hold_s), pressure),
                         (_ms(step.release_s), safe))
            return Sequence(safe, keyframes, elastic=1)
        return Hold(step.temperature_c)  # heat or cool

    def _roller(self, step: Knead | Stroke | TriggerPoint | Tap, label: str) -> dict[str, Pattern]:
        motor_kind = ROLLER_MOTOR.get(type(step))
        motors = self.device.channels_of(motor_kind) if motor_kind else ()
        if self.track is None or (motor_kind and not motors):
            self.note(label, f"skipped: device {self.device.name!r} cannot do it (optional)")
            return {}
        position = self.track.position
        found: dict[str, Pattern] = {}
        if isinstance(step, (Knead, Tap)):
            top, bottom = self._locate(step.band, label, "band")
            found[position.id] = self._sweep(min(top, bottom), max(top, bottom),
                                             step.travel_mm_s, position, label)
            for motor in motors:
                speed = step.speed_cpm if isinstance(step, Knead) else at_level_5(
                    step.frequency_hz, motor.safe_default or 0.0)
                found[motor.id] = Hold(speed)
        elif isinstance(step, Stroke):
            first, second = self._locate(step.band, label, "band")
            if abs(second - first) <= SAME_VALUE:
                found[position.id] = Hold(first)
            else:
                pass_ms = math.ceil(abs(second - first) / step.speed_mm_s * 1000)
                # A stroke clamped to a few mm would otherwise turn into a rapid shuffle.
                pass_ms = max(pass_ms, MIN_SWEEP_PERIOD_MS // 2)
                found[position.id] = Passes(first, second, pass_ms)
        else:
            pct = step.position_pct
            if pct is None and step.point is not None:
                pct = trigger_point_pct(step.point, self.user)
            if pct is None:  # the fit check refuses an unknown point before anything compiles
                raise ValueError(f"{label}: trigger point {step.point!r} has no position")
            [spot] = self._locate((pct,), label, "the point")
            found[position.id] = Hold(spot)
        self._depth_and_width(step, label, found, position)
        return found

    def _depth_and_width(self, step: Knead | Stroke | TriggerPoint | Tap, label: str,
                         found: dict[str, Pattern], position: Channel) -> None:
        asked = ((ChannelKind.DEPTH, step.depth_mm), (ChannelKind.WIDTH, step.width_mm))
        for kind, written in asked:
            if written is None:
                continue
            channels = self.device.channels_of(kind)
            if not channels:
                paths = self._unhonoured.setdefault(kind, [])
                path = label.split(" ")[0]  # the field path, without the "(kind)"
                if path not in paths:
                    paths.append(path)
            for channel in channels:
                if kind is ChannelKind.WIDTH:
                    found[channel.id] = Hold(written)
                    continue
                safe = channel.safe_default or 0.0
                depth = at_level_5(written, safe)
                if isinstance(step, TriggerPoint):
                    keyframes = ((_ms(step.press_s), depth), (_ms(step.hold_s), depth),
                                 (_ms(step.release_s), safe))
                    # Sink in only once the roller has arrived on the point.
                    found[channel.id] = Sequence(safe, keyframes, elastic=1, wait_for=position.id)
                else:
                    found[channel.id] = Hold(depth)

    def _locate(self, pcts: tuple[float, ...], label: str, what: str) -> list[float]:
        """Track mm of body positions; beyond the track's reach, the nearest end, noted."""
        track = self._track()
        spots = [track.locate(pct) for pct in pcts]
        if any(spot.clamped for spot in spots):
            self.note(label, self._reach_note(pcts, what))
        return [spot.track_mm for spot in spots]

    def _track(self) -> TrackMap:
        """The roller's track; roller steps only get this far on a device that has one."""
        if self.track is None:
            raise ValueError(f"device {self.device.name!r} has no roller track")
        return self.track

    def _reach_note(self, pcts: tuple[float, ...], what: str) -> str:
        """Which part of a point or band the track cannot reach, and what the roller does."""
        top, bottom = self._track().reach_pct()
        reach = (f"the reach of device {self.device.name!r} for user {self.user.name!r} "
                 f"({top:.0f} % to {bottom:.0f} %)")
        where = " to ".join(f"{pct:g} %" for pct in pcts)
        low, high = min(pcts), max(pcts)
        if high < top or low > bottom:
            side, end = ("above", top) if high < top else ("below", bottom)
            return (f"{what} at {where} lies wholly {side} {reach}; the roller works at "
                    f"{end:.0f} % instead, the nearest it gets")
        outside = [part for part, beyond in ((f"above {top:.0f} %", low < top),
                                              (f"below {bottom:.0f} %", high > bottom)) if beyond]
        covered = f"{max(low, top):.0f} % to {min(high, bottom):.0f} %"
        return (f"{what} at {where}: the part {' and '.join(outside)} is beyond {reach}; "
                f"the roller covers {covered} of it")

    def _sweep(self, low: float, high: float, travel_mm_s: float, channel: Channel,
               label: str) -> Sweep:
        amplitude = (high - low) / 2
        # Whole periods must fit a segment, so a long span may be cut into periods of about
        # half the channel's max_duration; the sweep must still stay within max_rate there.
        shortest_period_s = channel.max_duration_s / 2 - 0.001
        widest = channel.max_rate_per_s * shortest_period_s / (2 * math.pi)
        if amplitude > widest:
            self.note(label, f"band narrowed to {2 * widest:.0f} mm: the roller of device "
                      f"{self.device.name!r} cannot sweep {high - low:.0f} mm fast enough")
            amplitude = widest
        period_ms = max(MIN_SWEEP_PERIOD_MS,
                        math.ceil(2 * math.pi * amplitude / travel_mm_s * 1000))
        return Sweep((low + high) / 2, amplitude, period_ms)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _ms(seconds: float) -> int:
    return round(seconds * 1000)
