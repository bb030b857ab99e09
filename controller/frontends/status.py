"""Live status in the terminal while a session runs: progress, step, pressures, temperatures.

On a terminal this is a rich live panel, redrawn a few times a second of wall time whatever
the simulator's speed; a key's answer (done, or why not) shows in it for a few seconds, and its
last frame says how the session ended. Elsewhere (a pipe, a log, a test) it prints one plain
line per state change and one per minute of routine time, so logs stay short and readable.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from massagectl.controller.frontends.remote_menu import clock_text
from massagectl.controller.session.session import SessionOutcome, SessionSnapshot
from massagectl.controller.session.state import SessionState
from massagectl.routines.device import ChannelKind, DeviceProfile, SensorKind

REDRAW_PERIOD_WALL_S = 0.25  # four redraws a second: smooth enough, cheap enough
PLAIN_LINE_EVERY_S = 60.0  # routine seconds between progress lines in plain output

KEYS_HELP = "q stop · p pause/resume · + - intensity · h heat"
NOTICE_WALL_S = 4.0  # how long a key's answer stays in the panel: long enough to read it


# Below this an airbag is empty as far as a person can tell; the plain log leaves it out.
EMPTY_AIRBAG_KPA = 0.5


# What the roller's sensors are called in the panel, by the kind of channel they measure.
ROLLER_LABELS = {ChannelKind.POSITION: "roller height", ChannelKind.DEPTH: "roller depth",
                 ChannelKind.KNEAD: "knead", ChannelKind.TAP: "tap"}


def zone_readings(device: DeviceProfile, readings: dict[str, float],
                  only_active: bool = False) -> list[tuple[str, str]]:
    """(label, value) for what a person cares about: pressures, temperatures, the roller."""
    rows = []
    for sensor in device.sensors:
        if sensor.id not in readings or sensor.channel is None:
            continue
        value = readings[sensor.id]
        channel = device.channel(sensor.channel)
        if sensor.kind is SensorKind.PRESSURE:
            if only_active and value < EMPTY_AIRBAG_KPA:
                continue
            # A bag cannot hold less than nothing: below zero is the sensor's noise.
            rows.append((f"{channel.zone} airbag", f"{max(0.0, value):5.1f} kPa"))
        elif sensor.kind is SensorKind.TEMPERATURE:
            rows.append((f"{channel.zone} heat", f"{value:5.1f} °C"))
        elif sensor.kind is SensorKind.POSITION and channel.kind is ChannelKind.POSITION:
            base = device.track.base_above_seat_mm if device.track else 0.0
            rows.append((ROLLER_LABELS[channel.kind], f"{value + base:5.0f} mm"))
        elif channel.kind in ROLLER_LABELS and sensor.kind in (SensorKind.POSITION,
                                                               SensorKind.SPEED):
            digits = 1 if sensor.unit.value == "Hz" else 0
            if only_active and round(value, digits) <= 0:
                continue
            rows.append((ROLLER_LABELS[channel.kind],
                         f"{max(0.0, value):5.{digits}f} {sensor.unit.value}"))
    return rows


def _times(snapshot: SessionSnapshot, ended: SessionOutcome | None) -> str:
    """The progress line: where the session is (or ended), intensity, heat, zones off."""
    if ended is not None:
        return (f"{clock_text(ended.massage_s)} of {clock_text(snapshot.duration_s)} done · "
                f"intensity {snapshot.intensity}/5")
    if snapshot.scan_duration_s:
        left = snapshot.scan_duration_s - snapshot.scan_elapsed_s
        when = f"body scan: {clock_text(left)} left, then {clock_text(snapshot.duration_s)}"
    else:
        when = (f"{clock_text(snapshot.elapsed_s)} elapsed · "
                f"{clock_text(snapshot.remaining_s)} left")
    heat = " · heat on" if snapshot.heat_on else " · heat off" if snapshot.heat_off else ""
    zones = " · off: " + ", ".join(snapshot.zones_off) if snapshot.zones_off else ""
    return f"{when} · intensity {snapshot.intensity}/5{heat}{zones}"


def render(snapshot: SessionSnapshot, device: DeviceProfile,
           ended: SessionOutcome | None = None, notice: str = "") -> Panel:
    """The panel; `ended`: the last frame, saying how the session ended; `notice`: a key's
    answer."""
    header = Table.grid(expand=True)
    header.add_column()
    header.add_column(justify="right")
    step = "" if ended is not None else snapshot.step
    state = ended.ended if ended is not None else str(snapshot.state)
    header.add_row(Text(step, style="bold"), Text(state))
    if ended is not None:
        done = ProgressBar(total=max(snapshot.duration_s, 1e-9), completed=ended.massage_s)
    elif snapshot.scan_duration_s:
        done = ProgressBar(total=snapshot.scan_duration_s, completed=snapshot.scan_elapsed_s)
    else:
        done = ProgressBar(total=max(snapshot.duration_s, 1e-9), completed=snapshot.elapsed_s)
    times = Text(_times(snapshot, ended))
    readings = Table.grid(padding=(0, 2))
    pairs = zone_readings(device, snapshot.readings)
    for first in range(0, len(pairs), 3):
        cells = [f"{label}: {value}" for label, value in pairs[first:first + 3]]
        readings.add_row(*cells)
    # The bar and the times on rows of their own: a ProgressBar ends without a newline, so in a
    # Group the times would land on the bar's line and be cut off at the panel's edge.
    progress = Table.grid(expand=True)
    progress.add_column()
    progress.add_row(done)
    progress.add_row(times)
    parts: list[RenderableType] = [header, progress, readings]
    # Once ended, the summary below the panel says each fault; the panel does not repeat it.
    for fault in snapshot.faults if ended is None else ():
        parts.append(Text(f"FAULT {fault}", style="bold red"))
    if notice:
        parts.append(Text(notice, style="bold"))
    if ended is None:
        parts.append(Text(KEYS_HELP, style="dim"))
    return Panel(Group(*parts), title=f"massagectl · {snapshot.routine}", expand=False)


class StatusDisplay:
    """Shows a session's snapshots until cancelled."""

    def __init__(self, device: DeviceProfile, console: Console | None = None) -> None:
        self.device = device
        self.console = console or Console(stderr=True)
        self._last_state: SessionState | None = None
        self._last_line_s = -PLAIN_LINE_EVERY_S
        self.outcome: SessionOutcome | None = None  # set when the session has ended
        self._notice = ""
        self._notice_until = 0.0

    def notice(self, text: str) -> None:
        """Show a key's answer for a few seconds (in plain output: one line)."""
        if not self.console.is_terminal:
            self.console.print(text, highlight=False, soft_wrap=True)
            return
        self._notice, self._notice_until = text, time.monotonic() + NOTICE_WALL_S

    def _frame(self, snapshot: SessionSnapshot) -> Panel:
        notice = self._notice if time.monotonic() < self._notice_until else ""
        return render(snapshot, self.device, self.outcome, "" if self.outcome else notice)

    async def run(self, snapshot: Callable[[], SessionSnapshot]) -> None:
        if self.console.is_terminal:
            await self._live(snapshot)
        else:
            await self._plain(snapshot)

    async def _live(self, snapshot: Callable[[], SessionSnapshot]) -> None:
        with Live(self._frame(snapshot()), console=self.console,
                  auto_refresh=False, transient=False) as live:
            try:
                while True:
                    live.update(self._frame(snapshot()), refresh=True)
                    await _sleep_wall(REDRAW_PERIOD_WALL_S)
            finally:
                live.update(self._frame(snapshot()), refresh=True)

    async def _plain(self, snapshot: Callable[[], SessionSnapshot]) -> None:
        while True:
            self.plain_line(snapshot())
            await _sleep_wall(REDRAW_PERIOD_WALL_S)

    def plain_line(self, now: SessionSnapshot) -> None:
        due = now.elapsed_s - self._last_line_s >= PLAIN_LINE_EVERY_S
        if (now.state == self._last_state and not due) or (
                now.state is SessionState.IDLE and self._last_state is None):
            return
        self._last_state = now.state
        self._last_line_s = now.elapsed_s
        pairs = ", ".join(f"{label} {value.strip()}" for label, value
                          in zone_readings(self.device, now.readings, only_active=True))
        self.console.print(f"{clock_text(now.elapsed_s)} {now.state}: {now.step}"
                           + (f" ({pairs})" if pairs else ""), highlight=False, soft_wrap=True)


async def _sleep_wall(seconds: float) -> None:
    """Sleep in wall time, whatever speed the loop's clock runs at."""
    loop = asyncio.get_running_loop()
    speed = getattr(loop, "speed", 1.0)
    if speed is None:
        # A clock that skips idle time: check the wall clock once per loop second, which is
        # cheap (a few thousand wake-ups per session) and still redraws several times a second.
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            await asyncio.sleep(1.0)
        return
    await asyncio.sleep(seconds * speed)
