"""Live status in the terminal while a session runs: progress, step, pressures, temperatures.

On a terminal this is a rich live panel, redrawn a few times a second of wall time whatever
the simulator's speed. Elsewhere (a pipe, a log, a test) it prints one plain line per state
change and one per minute of routine time, so logs stay short and readable.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from massagectl.controller.frontends.remote_menu import clock_text
from massagectl.controller.session.session import SessionSnapshot
from massagectl.controller.session.state import SessionState
from massagectl.routines.device import DeviceProfile, SensorKind

REDRAW_PERIOD_WALL_S = 0.25  # four redraws a second: smooth enough, cheap enough
PLAIN_LINE_EVERY_S = 60.0  # routine seconds between progress lines in plain output

KEYS_HELP = "q stop · p pause/resume · + - intensity · h heat"


# Below this an airbag is empty as far as a person can tell; the plain log leaves it out.
EMPTY_AIRBAG_KPA = 0.5


def zone_readings(device: DeviceProfile, readings: dict[str, float],
                  only_active: bool = False) -> list[tuple[str, str]]:
    """(label, value) for what a person cares about: pressures, temperatures, the roller."""
    rows = []
    for sensor in device.sensors:
        if sensor.id not in readings:
            continue
        value = readings[sensor.id]
        if sensor.kind is SensorKind.PRESSURE:
            if only_active and value < EMPTY_AIRBAG_KPA:
                continue
            zone = device.channel(sensor.channel).zone
            rows.append((f"{zone} airbag", f"{value:5.1f} kPa"))
        elif sensor.kind is SensorKind.TEMPERATURE:
            zone = device.channel(sensor.channel).zone
            rows.append((f"{zone} heat", f"{value:5.1f} °C"))
        elif sensor.kind is SensorKind.POSITION and sensor.id == "roller_position":
            base = device.track.base_above_seat_mm if device.track else 0.0
            rows.append(("roller height", f"{value + base:5.0f} mm"))
    return rows


def render(snapshot: SessionSnapshot, device: DeviceProfile) -> Panel:
    header = Table.grid(expand=True)
    header.add_column()
    header.add_column(justify="right")
    header.add_row(Text(snapshot.step or "", style="bold"), Text(str(snapshot.state)))
    done = ProgressBar(total=max(snapshot.duration_s, 1e-9), completed=snapshot.elapsed_s)
    times = Text(f"{clock_text(snapshot.elapsed_s)} elapsed · "
                 f"{clock_text(snapshot.remaining_s)} left · intensity {snapshot.intensity}/5"
                 f"{' · heat on' if snapshot.heat_on else ''}"
                 f"{' · off: ' + ', '.join(snapshot.zones_off) if snapshot.zones_off else ''}")
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
    parts = [header, progress, readings]
    for fault in snapshot.faults:
        parts.append(Text(f"FAULT {fault}", style="bold red"))
    parts.append(Text(KEYS_HELP, style="dim"))
    return Panel(Group(*parts), title=f"massagectl · {snapshot.routine}", expand=False)


class StatusDisplay:
    """Shows a session's snapshots until cancelled."""

    def __init__(self, device: DeviceProfile, console: Console | None = None) -> None:
        self.device = device
        self.console = console or Console(stderr=True)
        self._last_state = None
        self._last_line_s = -PLAIN_LINE_EVERY_S

    async def run(self, snapshot: Callable[[], SessionSnapshot]) -> None:
        if self.console.is_terminal:
            await self._live(snapshot)
        else:
            await self._plain(snapshot)

    async def _live(self, snapshot: Callable[[], SessionSnapshot]) -> None:
        with Live(render(snapshot(), self.device), console=self.console,
                  auto_refresh=False, transient=False) as live:
            try:
                while True:
                    live.update(render(snapshot(), self.device), refresh=True)
                    await _sleep_wall(REDRAW_PERIOD_WALL_S)
            finally:
                live.update(render(snapshot(), self.device), refresh=True)

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
