r"""The body scan: find the occupant's shoulder line with the roller, as commercial chairs do.

The roller heads come out a little and the carriage travels slowly up the back. While the heads
press on the back the depth motor's current (the `roller_load` sensor) stays high; above the
shoulder line they only brush the neck and the current falls. The shoulder line is where the
current crosses halfway between the two levels on its last fall:

    load |~~~~~\_/~~~~~~~/^^\~~~~~~\
         |      lumbar    blades    \________  neck
         +----------------------------|----------> height above the seat
                                 shoulder line

The scan is a plan like any other (admitted, supervised, streamed); this module builds it and
reads the shoulder line out of the samples it produced.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from massagectl.routines.device import ChannelKind, DeviceProfile, SensorKind
from massagectl.routines.plan import Plan, Segment, segment_table, split_segment
from massagectl.routines.user import UserProfile

# Just enough protrusion to feel the back through a cushion: ~50 N on a back (BACK_STIFFNESS
# of about 6 N/mm), far below a kneading depth.
SCAN_DEPTH_MM = 8.0
# Slow enough that a 20 Hz load reading samples the shoulder edge every millimetre.
SCAN_SPEED_MM_PER_S = 15.0
# Getting to the start and back home, well below the carriage's rated speed.
MOVE_SPEED_MM_PER_S = 30.0
DEPTH_RAMP_S = 2.0
# Every adult's seated shoulder line is above this (UserProfile allows 400 mm at the least);
# starting here keeps the scan short.
SCAN_FROM_ABOVE_SEAT_MM = 380.0
# Running median over this many samples: removes sensor noise, keeps the edge (~35 mm wide).
SMOOTHING_SAMPLES = 9
# The back's and the neck's levels are read this far below and above a first estimate of the
# edge: beyond the shoulder's fall-off, short of the shoulder blades' bump.
PLATEAU_NEAR_MM = 25.0
PLATEAU_FAR_MM = 60.0
# A contact step smaller than this (in A) is no shoulder: nobody sits there, or nothing touched.
MIN_CONTACT_STEP_A = 0.1


class ScanError(Exception):
    """The samples show no shoulder line (nobody there, or the scan was cut short)."""


@dataclass(frozen=True)
class ScanPlan:
    plan: Plan
    travel_from_s: float  # plan time the slow upward travel starts
    travel_to_s: float
    track_base_mm: float  # height of track position 0 above the seat


@dataclass(frozen=True)
class ScanResult:
    shoulder_height_mm: float  # above the seat
    back_level_a: float
    neck_level_a: float
    samples: int


def scan_supported(device: DeviceProfile) -> bool:
    """A scan needs a roller position, a depth drive, and a load sensor on the depth drive."""
    position = device.channels_of(ChannelKind.POSITION)
    depth = device.channels_of(ChannelKind.DEPTH)
    return bool(
        position and depth and device.sensors_of(SensorKind.POSITION, position[0].id)
        and device.sensors_of(SensorKind.CURRENT, depth[0].id)
    )


def scan_plan(device: DeviceProfile) -> ScanPlan:
    """Out to the start, depth in, slowly up to the top of the track, depth out, back home."""
    position = device.channels_of(ChannelKind.POSITION)[0]
    depth = device.channels_of(ChannelKind.DEPTH)[0]
    if device.track is None:  # a profile with a position channel has one (routines.device)
        raise ScanError(f"device {device.name!r} has no roller track to scan along")
    base_mm = device.track.base_above_seat_mm
    home = position.min
    start = min(max(position.min, SCAN_FROM_ABOVE_SEAT_MM - base_mm), position.max)
    top = position.max
    approach_s = _whole_ms(max(abs(start - home) / MOVE_SPEED_MM_PER_S, 0.5))
    travel_s = _whole_ms((top - start) / SCAN_SPEED_MM_PER_S)
    home_s = _whole_ms((top - home) / MOVE_SPEED_MM_PER_S)
    times = np.cumsum([0.0, approach_s, DEPTH_RAMP_S, travel_s, DEPTH_RAMP_S, home_s])
    depth_mm = min(SCAN_DEPTH_MM, depth.max)
    lanes = {
        position.id: [(home, start), (start, start), (start, top), (top, top), (top, home)],
        depth.id: [(0.0, 0.0), (0.0, depth_mm), (depth_mm, depth_mm), (depth_mm, 0.0),
                   (0.0, 0.0)],
    }
    segments = []
    for channel_id, pieces in lanes.items():
        limit_s = device.channel(channel_id).max_duration_s
        for (begin, end), start_s, end_s in zip(pieces, times[:-1], times[1:]):
            segment = Segment(channel_id, float(start_s), float(end_s - start_s), begin, end,
                              step=0)
            segments.extend(split_segment(segment, limit_s))
    plan = Plan("body_scan", device, float(times[-1]), segment_table(segments, device),
                steps=("body scan",))
    return ScanPlan(plan, float(times[2]), float(times[3]), base_mm)


def find_shoulder_line(positions_mm: np.ndarray, loads_a: np.ndarray,
                       track_base_mm: float) -> ScanResult:
    """The shoulder line from (track position, load) samples of an upward travel."""
    order = np.argsort(positions_mm, kind="stable")
    positions = np.asarray(positions_mm, dtype=float)[order]
    loads = _running_median(np.asarray(loads_a, dtype=float)[order], SMOOTHING_SAMPLES)
    if len(loads) < 3 * SMOOTHING_SAMPLES:
        raise ScanError(f"only {len(loads)} samples: the scan did not cover the back")
    high, low = np.percentile(loads, 90), np.percentile(loads, 10)
    if high - low < MIN_CONTACT_STEP_A:
        raise ScanError("the roller felt no back: is someone sitting in the chair?")
    edge_mm = _last_fall(positions, loads, (high + low) / 2)
    # Refine with the levels just either side of the edge: the lumbar hollow and the shoulder
    # blades would bias a threshold taken from the whole back.
    back = loads[(positions >= edge_mm - PLATEAU_FAR_MM) & (positions <= edge_mm - PLATEAU_NEAR_MM)]
    neck = loads[(positions >= edge_mm + PLATEAU_NEAR_MM) & (positions <= edge_mm + PLATEAU_FAR_MM)]
    if len(back) and len(neck):
        back_level, neck_level = float(np.median(back)), float(np.median(neck))
        edge_mm = _last_fall(positions, loads, (back_level + neck_level) / 2)
    else:  # the edge lies at the end of the track's reach: keep the first estimate
        back_level, neck_level = float(high), float(low)
    return ScanResult(edge_mm + track_base_mm, back_level, neck_level, len(loads))


def scanned_user(user: UserProfile, result: ScanResult) -> UserProfile:
    """The user profile with the scanned shoulder line (validated like a profile file)."""
    data = user.model_dump()
    data["shoulder_height_mm"] = round(result.shoulder_height_mm, 1)
    return UserProfile.model_validate(data)


def _last_fall(positions: np.ndarray, loads: np.ndarray, threshold: float) -> float:
    above = loads >= threshold
    falls = np.flatnonzero(above[:-1] & ~above[1:])
    if len(falls) == 0:
        raise ScanError("the load never fell off: the shoulder line is above the track's reach")
    i = falls[-1]
    span = loads[i] - loads[i + 1]
    fraction = (loads[i] - threshold) / span if span > 0 else 0.5
    return float(positions[i] + fraction * (positions[i + 1] - positions[i]))


def _running_median(values: np.ndarray, width: int) -> np.ndarray:
    if len(values) < width:
        return values
    padded = np.pad(values, width // 2, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, width)
    return np.median(windows, axis=1)


def _whole_ms(seconds: float) -> float:
    return float(np.ceil(seconds * 1000.0) / 1000.0)
