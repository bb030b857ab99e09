"""Footprint: the controller's CPU and memory over a real-time session with the live status shown.

`massagectl run relax --port PTY --no-scan` (its own logs in a temporary directory) against the
board process on a pty, with its terminal a pty too, so the live status is drawn as a person
would see it. /proc/PID/stat (user + system time) and /proc/PID/status (VmRSS) are read once a
second; the first seconds (imports, handshake) are left out of the CPU figure; the peak
resident memory is VmHWM just before the Ctrl-C that ends it.
"""

from __future__ import annotations

import itertools
import os
import signal
import sys
import time
from pathlib import Path

from benchmarks.figures import Figure, Target
from benchmarks.rig import Rig, drain, fresh_chair_records

ROUTINE = "relax"
SKIP_FIRST_S = 5.0
CPU_PERCENT = Target("max", "<=", 3.0)  # no 10-second window above it
MEMORY_MB = Target("max", "<=", 80.0)


def cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int, key: str) -> float:
    with open(f"/proc/{pid}/status") as file:
        for line in file:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def figures(seconds: float, workdir: Path) -> list[Figure]:
    config = workdir / "footprint.toml"
    config.write_text(f'[logs]\ndirectory = "{workdir / "logs"}"\n')
    with fresh_chair_records(), Rig(workdir, loaded=False) as rig:
        board = rig.board()
        controller, terminal = rig.command(
            [sys.executable, "-m", "massagectl", "run", ROUTINE, "--port", board.port,
             "--no-scan", "--config", str(config)], terminal=True)
        pid = controller.pid
        started = time.monotonic()
        samples: list[tuple[float, float, float]] = []  # (time, cpu s, rss MB)
        while time.monotonic() - started < seconds + SKIP_FIRST_S:
            drain(terminal)
            if controller.poll() is not None:
                raise RuntimeError(f"massagectl run ended early ({controller.returncode})")
            samples.append((time.monotonic(), cpu_s(pid), memory_mb(pid, "VmRSS")))
            time.sleep(1.0)
        peak_mb = memory_mb(pid, "VmHWM")
        controller.send_signal(signal.SIGINT)
        while controller.poll() is None:
            drain(terminal)
            time.sleep(0.05)
        board.finish()
    kept = [s for s in samples if s[0] >= started + SKIP_FIRST_S]
    per_second = [100 * (b[1] - a[1]) / (b[0] - a[0]) for a, b in itertools.pairwise(kept)]
    # The kernel counts CPU time in clock ticks (10 ms), so one second's share is coarse;
    # 10-second windows give the figure its resolution.
    per_window = [100 * (kept[i + 10][1] - kept[i][1]) / (kept[i + 10][0] - kept[i][0])
                  for i in range(0, len(kept) - 10, 10)]
    window = "10 s" if per_window else "second (quick run: coarse, 10 ms ticks)"
    whole = 100 * (kept[-1][1] - kept[0][1]) / (kept[-1][0] - kept[0][0])
    return [
        Figure("8 footprint", f"massagectl run {ROUTINE}, live status: CPU per {window}",
               "% core", per_window or per_second, CPU_PERCENT,
               note=f"over the whole {kept[-1][0] - kept[0][0]:.0f} s: {whole:.2f} %; exit code "
               f"{controller.returncode} (3: stopped by Ctrl-C)", extra={"whole_percent": whole}),
        Figure("8 footprint", f"massagectl run {ROUTINE}: resident memory", "MB",
               [rss for _, _, rss in kept] + [peak_mb], MEMORY_MB,
               note="max includes the peak (VmHWM)"),
    ]
