"""Session traces: what was sent to the board and what it measured, saved for later study.

The recorder listens to the link like the supervisor does, on real hardware and on the
simulator alike. Everything is on one time axis, host seconds since the recording started:
segments at the host time their board clock maps to, sensor readings at their board clock
mapped the same way. A trace file is a compressed numpy archive:

    sensor_times_s   (n,)            one row per telemetry sample
    sensor_values    (n, sensors)    NaN where a chunk of the sample was lost
    segments         (m,) records    channel, start_s, duration_s, start/end value, amplitude,
                                     period_s: the segment formula of routines.plan
    events           JSON lines      state changes, intensity and channel switches, stops, faults
    meta             JSON            device profile, routine, wall-clock start, clock rate
"""

from __future__ import annotations

import json
import zipfile
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from massagectl.firmware_bridge.messages import ScheduleSegment, SensorReport
from massagectl.routines.device import ChannelKind, DeviceProfile, SensorKind
from massagectl.routines.errors import InvalidFileError, Problem
from massagectl.routines.plan import segment_values

TRACE_SEGMENT_DTYPE = np.dtype([
    ("channel", np.int16), ("start_s", np.float64), ("duration_s", np.float64),
    ("start_value", np.float64), ("end_value", np.float64), ("amplitude", np.float64),
    ("period_s", np.float64),
])
TRACE_FORMAT = 1


class SessionRecorder:
    """Collects a session's segments, telemetry and events; `save` writes them."""

    def __init__(self, device: DeviceProfile, link, origin_host_s: float) -> None:
        self.device = device
        self.link = link
        self.origin_host_s = origin_host_s
        self.clock_hz = link.identity.info.clock_hz
        self.started = datetime.now(UTC).isoformat(timespec="seconds")
        self.routine = ""
        self.user = ""  # the user profile's name, for the list of past sessions
        self._times: list[float] = []
        self._reports: list[tuple[int, int, tuple[float, ...]]] = []  # (row, first, values)
        self._last_clock: int | None = None
        self._segments: list[tuple] = []
        self._events: list[dict] = []

    def _host_s(self, raw_clock: int) -> float:
        """Session seconds of a board clock (unwrapped, then mapped through the clock sync)."""
        clock = self.link.clock
        return clock.host_time_at(clock.unwrap(raw_clock)) - self.origin_host_s

    def on_message(self, message: object, host_s: float) -> None:
        if not isinstance(message, SensorReport):
            return
        # Kept as they came (cheap at 20 Hz); the table is built once, when saved.
        if message.clock != self._last_clock:
            self._last_clock = message.clock
            self._times.append(self._host_s(message.clock))
        self._reports.append((len(self._times) - 1, message.first_index, message.values))

    def on_segment(self, segment: ScheduleSegment) -> None:
        start_s = self._host_s(segment.start_clock)
        self._segments.append((
            segment.channel, start_s, segment.duration_ticks / self.clock_hz,
            segment.start_value, segment.end_value, segment.amplitude,
            segment.period_ticks / self.clock_hz,
        ))

    def event(self, host_s: float, kind: str, detail: str = "", **values: float) -> None:
        self._events.append({"t_s": round(host_s - self.origin_host_s, 6), "kind": kind,
                             "detail": detail, **values})

    def save(self, path: Path) -> Path:
        """Write the trace to `path`, which must not exist yet (FileExistsError)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": TRACE_FORMAT, "routine": self.routine, "user": self.user,
            "started": self.started,
            "clock_hz": self.clock_hz, "device": self.device.model_dump(mode="json"),
        }
        sensor_count = len(self.device.sensors)
        sensors = np.full((len(self._times), sensor_count), np.nan)
        for row, first, values in self._reports:
            end = min(first + len(values), sensor_count)
            sensors[row, first:end] = values[: end - first]
        with path.open("xb") as handle:  # never over another session's trace
            np.savez_compressed(
                handle,
                sensor_times_s=np.asarray(self._times, dtype=np.float64),
                sensor_values=sensors,
                segments=np.array(self._segments, dtype=TRACE_SEGMENT_DTYPE),
                events=np.array("\n".join(json.dumps(e) for e in self._events)),
                meta=np.array(json.dumps(meta)),
            )
        return path


@dataclass(frozen=True)
class SessionTrace:
    """A saved trace, loaded."""

    device: DeviceProfile
    routine: str
    started: str
    sensor_times_s: np.ndarray
    sensor_values: np.ndarray
    segments: np.ndarray
    events: tuple[dict, ...]

    @property
    def duration_s(self) -> float:
        """Up to the session's end: segments queued beyond a stop never ran."""
        ends = [float(self.sensor_times_s[-1])] if len(self.sensor_times_s) else [0.0]
        end_events = [e["t_s"] for e in self.events if e.get("kind") == "end"]
        if end_events:
            ends.append(float(end_events[-1]))
        elif len(self.segments):
            ends.append(float(np.max(self.segments["start_s"] + self.segments["duration_s"])))
        return max(ends)

    def measured(self, sensor_id: str) -> tuple[np.ndarray, np.ndarray]:
        index = [s.id for s in self.device.sensors].index(sensor_id)
        values = self.sensor_values[:, index]
        keep = ~np.isnan(values)
        return self.sensor_times_s[keep], values[keep]

    def planned(self, channel_id: str, times_s: np.ndarray) -> np.ndarray:
        """What was sent for a channel, at the given times (NaN where nothing covered it),
        with the intensity scale and channel switches the session applied."""
        index = self.device.channel_index(channel_id)
        channel = self.device.channels[index]
        rows = self.segments[self.segments["channel"] == index]
        values = np.full(np.shape(times_s), np.nan)
        for row in rows:
            inside = (times_s >= row["start_s"]) & (times_s < row["start_s"] + row["duration_s"])
            values[inside] = segment_values(
                row["start_s"], row["duration_s"], row["start_value"], row["end_value"],
                row["amplitude"], row["period_s"], times_s[inside])
        if channel.safe_default is not None:
            safe = channel.safe_default
            if channel.kind.scaled_by_intensity:
                scale = self._step_series("intensity", "scale", times_s, 1.0)
                values = safe + (values - safe) * scale
            enabled = self._step_series("channels", "mask", times_s, -1.0)
            off = (enabled >= 0) & ((enabled.astype(np.int64) >> index) & 1 == 0)
            values = np.where(off, safe, values)
        return values

    def _step_series(self, kind: str, key: str, times_s: np.ndarray, initial: float):
        series = np.full(np.shape(times_s), initial, dtype=float)
        for event in self.events:
            if event["kind"] == kind:
                series[times_s >= event["t_s"]] = event[key]
        return series

    def observing_sensor(self, channel_id: str) -> str | None:
        """The sensor that measures what the channel commands, in the same unit."""
        kind = self.device.channel(channel_id).kind
        wanted = {ChannelKind.POSITION: SensorKind.POSITION, ChannelKind.WIDTH: SensorKind.POSITION,
                  ChannelKind.DEPTH: SensorKind.POSITION, ChannelKind.KNEAD: SensorKind.SPEED,
                  ChannelKind.TAP: SensorKind.SPEED, ChannelKind.AIRBAG: SensorKind.PRESSURE,
                  ChannelKind.HEAT: SensorKind.TEMPERATURE,
                  ChannelKind.COOL: SensorKind.TEMPERATURE}[kind]
        found = self.device.sensors_of(wanted, channel_id)
        return found[0].id if found else None


def load_trace(path: str | Path) -> SessionTrace:
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            events_text = str(data["events"])
            trace = SessionTrace(
                device=DeviceProfile.model_validate(meta["device"]),
                routine=meta.get("routine", ""),
                started=meta.get("started", ""),
                sensor_times_s=data["sensor_times_s"],
                sensor_values=data["sensor_values"],
                segments=data["segments"],
                events=tuple(json.loads(line) for line in events_text.splitlines() if line),
            )
    except FileNotFoundError:
        raise InvalidFileError(path, [Problem(str(path), "", "no such trace file")]) from None
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile, zlib.error):
        # The reader's own words (a pydantic dump, a zip error) help nobody here.
        message = "a session trace that is damaged or incomplete; it cannot be read"
        raise InvalidFileError(path, [Problem(str(path), "", message)]) from None
    if meta.get("format") != TRACE_FORMAT:
        message = f"trace format {meta.get('format')!r}; this version reads {TRACE_FORMAT}"
        raise InvalidFileError(path, [Problem(str(path), "", message)])
    return trace
