"""Wire: bytes each way for every built-in routine, whole length and busiest 10 s, in virtual time.

Each routine runs as `massagectl run NAME --speed max --quiet --no-scan` does (in-process, the
built-in board behind an in-memory line paced at 115200 baud); every byte written to the line
is counted per second of the session's clock. Figures are shares of the line's 11,520 bytes/s
(8N1) each way, and the comparison with the naive design: streaming every channel's value at
50 Hz, all channels in one block per sample (the leanest such frame).
"""

from __future__ import annotations

import asyncio
import io
import tempfile
from collections import defaultdict
from pathlib import Path

from rich.console import Console

from benchmarks.compile import chair_routine_names
from benchmarks.figures import Figure, Target
from benchmarks.rig import fresh_chair_records
from massagectl.controller.app import RunOptions, run_routine
from massagectl.controller.config import Config, LogSettings
from massagectl.firmware_bridge.memory_transport import BITS_PER_BYTE, MemoryTransport
from massagectl.firmware_bridge.wire import BLOCK_OVERHEAD_BYTES
from massagectl.routines.device import load_device

BAUD = 115200
LINE_BYTES_PER_S = BAUD / BITS_PER_BYTE
WINDOW_S = 10
SAMPLED_HZ = 50
SHARE_PERCENT = Target("max", "<=", 5.0)
FEWER_THAN_SAMPLING = Target("min", ">=", 20.0)


def sampled_bytes_per_s(channels: int) -> float:
    """The naive design: every channel's value in one block, SAMPLED_HZ times a second."""
    return SAMPLED_HZ * (BLOCK_OVERHEAD_BYTES + 1 + 4 * channels)


class ByteCounter:
    """Counts what MemoryTransport.write carries, per direction and per second of loop time."""

    def __init__(self) -> None:
        self.per_second: dict[str, dict[int, int]] = {"to_board": defaultdict(int),
                                                      "to_host": defaultdict(int)}
        self._original = MemoryTransport.write

    def __enter__(self) -> ByteCounter:
        original, per_second = self._original, self.per_second

        def counted(transport: MemoryTransport, data: bytes) -> None:
            original(transport, data)
            way = "to_board" if transport.name == "memory:host" else "to_host"
            per_second[way][int(asyncio.get_running_loop().time())] += len(data)

        MemoryTransport.write = counted
        return self

    def __exit__(self, *exc_info) -> None:
        MemoryTransport.write = self._original

    def rates(self, way: str) -> tuple[float, list[float]]:
        """Bytes/s over the whole session, and over each 10 s window (sliding by 1 s)."""
        counts = self.per_second[way]
        first, last = min(counts), max(counts)
        series = [counts.get(second, 0) for second in range(first, last + 1)]
        windows = [sum(series[i:i + WINDOW_S]) / WINDOW_S
                   for i in range(max(1, len(series) - WINDOW_S + 1))]
        return sum(series) / len(series), windows


def routine_bytes(name: str) -> ByteCounter:
    with tempfile.TemporaryDirectory(prefix="bench-wire-") as directory:
        logs = LogSettings(directory=Path(directory))
        options = RunOptions(routine=name, config=Config(logs=logs), speed=None,
                             show_status=False, body_scan=False)
        with ByteCounter() as counter, fresh_chair_records():
            result = run_routine(options, Console(file=io.StringIO()))
    if result.outcome.ended != "finished":
        raise RuntimeError(f"{name} did not finish: {result.outcome.detail}")
    return counter


def figures(names: list[str] | None = None) -> list[Figure]:
    names = names or chair_routine_names()
    channels = len(load_device("chair").channels)
    sampled = sampled_bytes_per_s(channels)
    naive = Figure("4 wire", "50 Hz sampling", "% line", [100 * sampled / LINE_BYTES_PER_S])
    result, ratios, up_shares = [], [], []
    for name in names:
        counter = routine_bytes(name)
        down_mean, down_windows = counter.rates("to_board")
        up_mean, up_windows = counter.rates("to_host")
        ratios.append(sampled / max(down_windows))
        up_shares.append(100 * max(up_windows) / LINE_BYTES_PER_S)
        result.append(Figure(
            "4 wire", f"{name}: host -> board, per 10 s window", "% line",
            [100 * rate / LINE_BYTES_PER_S for rate in down_windows], SHARE_PERCENT, naive,
            note=f"whole length {down_mean:.0f} B/s ({100 * down_mean / LINE_BYTES_PER_S:.2f} %)"
            f", busiest 10 s {max(down_windows):.0f} B/s; board -> host whole length "
            f"{100 * up_mean / LINE_BYTES_PER_S:.1f} %, busiest 10 s "
            f"{100 * max(up_windows) / LINE_BYTES_PER_S:.1f} %"))
    result.append(Figure("4 wire", "50 Hz sampling / busiest 10 s host -> board, per routine",
                         "x", ratios, FEWER_THAN_SAMPLING,
                         note=f"sampling all {channels} channels at {SAMPLED_HZ} Hz: "
                         f"{sampled:.0f} B/s"))
    result.append(Figure("4 wire", "board -> host, busiest 10 s, per routine", "% line",
                         up_shares, note="telemetry at 20 Hz, which both designs need alike"))
    return result
