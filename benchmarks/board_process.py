"""A simulated board on a pty in a process of its own, with taps that time what the wire carries.

    python -m benchmarks.board_process --summary OUT.json [--device chair]

The board is the product's PtyBoard (sim.pty_runner), unchanged; the taps only watch it, through
its public `tap` and its driver's `watch`. The
first line of output is the port path; then one JSON line per event, each with `t`, the
process's time.monotonic() (CLOCK_MONOTONIC: the same clock in every process on the machine):

    {"ev": "live"}          the board went from every output safe to one output live
    {"ev": "safe", "cause"} the board went to SHUTDOWN with every output safe
    {"ev": "stop_bytes"}    a block carrying a Stop left the pty for the line (a wire tap);
                            `reaches_board`: when the piece that ends it is due at the board
    {"ev": "first_segment"} a session's first ScheduleSegment left the pty for the line (the
                            first since the board process started or last went safe)
    {"ev": "late"}          a segment arrived after its planned start (it starts on arrival)
    {"ev": "bad_report"}    a SensorReport with a reading outside its sensor's range was handed
                            to the pty for the host (the input of a supervisor trip)
    {"ev": "pressed"} / {"ev": "injected"} / {"ev": "cleared"}   a command from stdin, done

Commands on stdin, one a line: `press stop`, `inject KIND [TARGET]`, `clear KIND [TARGET]`,
`quit`. On the way out (quit, SIGTERM, end of stdin) the summary file gets what a run needs
afterwards: every segment's lead (planned start - arrival, ms) and late flag, how late the board
process's own timer woke, and the bytes each way per whole second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from collections import defaultdict
from pathlib import Path

from massagectl.firmware_bridge.codec import (
    DEVICE_IDS,
    IMMEDIATE_IDS,
    QUEUED_IDS,
    decode_messages,
)
from massagectl.firmware_bridge.framing import BlockDecoder
from massagectl.firmware_bridge.messages import (
    DeviceState,
    RemoteKey,
    ScheduleSegment,
    SensorReport,
    Stop,
)
from massagectl.firmware_bridge.wire import DEVICE_BLOCK_KINDS, HOST_BLOCK_KINDS, BlockKind
from massagectl.routines.device import load_device
from massagectl.sim.pty_runner import PtyBoard
from massagectl.sim.trace import SegmentOutcome


def say(event: str, t: float, **detail: object) -> None:
    print(json.dumps({"ev": event, "t": t, **detail}), flush=True)


class Taps:
    """Watches one PtyBoard through its public taps: its wire both ways, its state, its timer."""

    def __init__(self, pty_board: PtyBoard) -> None:
        self.board = pty_board.board
        self.timer_lateness_s: list[float] = []
        self.bytes_per_second: dict[str, dict[int, int]] = {"to_board": defaultdict(int),
                                                             "to_host": defaultdict(int)}
        self._from_host = BlockDecoder(HOST_BLOCK_KINDS)
        self._to_host = BlockDecoder(DEVICE_BLOCK_KINDS)
        sensors = self.board.profile.sensors
        self._ranges = [(s.valid_min, s.valid_max) for s in sensors]
        self._live = not self.board.outputs_safe()
        self._safe_shutdown = False
        self._awaiting_segment = True  # the next ScheduleSegment is a session's first
        self._late_segments = self.board.late_segments
        pty_board.tap(to_board=self._host_bytes, to_host=self._board_bytes)
        pty_board.driver.watch(turn=self._watch_state, woke=self.timer_lateness_s.append)

    def _host_bytes(self, data: bytes, reaches_board_s: float) -> None:
        now = time.monotonic()
        self.bytes_per_second["to_board"][int(now)] += len(data)
        decoder = self._from_host
        decoder.feed(data)
        while (item := decoder.next_item()) is not None:
            kind = getattr(item, "kind", None)
            if kind is BlockKind.IMMEDIATE:
                try:
                    messages = decode_messages(item.payload, IMMEDIATE_IDS)
                except ValueError:
                    continue
                if any(isinstance(message, Stop) for message in messages):
                    say("stop_bytes", now, reaches_board=reaches_board_s)
            elif kind is BlockKind.DATA and self._awaiting_segment:
                try:
                    messages = decode_messages(item.payload, QUEUED_IDS)
                except ValueError:
                    continue
                if any(isinstance(message, ScheduleSegment) for message in messages):
                    self._awaiting_segment = False
                    say("first_segment", now)

    def _board_bytes(self, data: bytes) -> None:
        now = time.monotonic()
        self.bytes_per_second["to_host"][int(now)] += len(data)
        decoder = self._to_host
        decoder.feed(data)
        while (item := decoder.next_item()) is not None:
            if getattr(item, "kind", None) is not BlockKind.REPORT or not item.payload:
                continue
            try:
                messages = decode_messages(item.payload, DEVICE_IDS)
            except ValueError:
                continue
            for message in messages:
                if isinstance(message, SensorReport) and self._out_of_range(message):
                    say("bad_report", now)

    def _out_of_range(self, report: SensorReport) -> bool:
        ranges = self._ranges[report.first_index:]
        pairs = zip(report.values, ranges, strict=False)
        return any(not low <= value <= high for value, (low, high) in pairs)

    def _watch_state(self) -> None:
        board = self.board
        safe = board.outputs_safe()
        live = board.state is DeviceState.READY and not safe
        if live and not self._live:
            say("live", time.monotonic())
        self._live = live
        safe_shutdown = board.state is DeviceState.SHUTDOWN and safe
        if safe_shutdown and not self._safe_shutdown:
            say("safe", time.monotonic(), cause=board.stop_cause.name)
            self._awaiting_segment = True
        self._safe_shutdown = safe_shutdown
        if board.late_segments > self._late_segments:
            say("late", time.monotonic(), count=board.late_segments - self._late_segments)
        self._late_segments = board.late_segments

    def summary(self) -> dict:
        segments = self.board.trace.segments
        hz = self.board.clock_hz
        arrived = segments["outcome"] != SegmentOutcome.BAD_SEGMENT
        lead_ms = (segments["planned_ticks"] - segments["arrival_ticks"])[arrived] / hz * 1000
        return {
            "lead_ms": lead_ms.tolist(),
            "planned_ticks": segments["planned_ticks"][arrived].tolist(),
            "clock_hz": hz,
            "late": segments["late"][arrived].astype(int).tolist(),
            "timer_lateness_ms": [1000 * s for s in self.timer_lateness_s],
            "bytes_per_second": {way: {str(k): v for k, v in per.items()}
                                 for way, per in self.bytes_per_second.items()},
        }


async def serve(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, done.set)
    async with PtyBoard(load_device(args.device)) as pty_board:
        taps = Taps(pty_board)
        driver = pty_board.driver
        print(pty_board.port_path, flush=True)

        def command() -> None:
            line = sys.stdin.readline()
            words = line.split()
            if not line or words == ["quit"]:
                done.set()
            elif words == ["press", "stop"]:
                now = time.monotonic()
                driver.press(RemoteKey.STOP)
                say("pressed", now)
            elif len(words) in (2, 3) and words[0] in ("inject", "clear"):
                now = time.monotonic()
                act = driver.inject_fault if words[0] == "inject" else driver.clear_fault
                act(words[1], words[2] if len(words) == 3 else None)
                say("injected" if words[0] == "inject" else "cleared", now)
            else:
                say("unknown", time.monotonic(), line=line.strip())

        loop.add_reader(sys.stdin.fileno(), command)
        try:
            await done.wait()
        finally:
            loop.remove_reader(sys.stdin.fileno())
            Path(args.summary).write_text(json.dumps(taps.summary()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--summary", required=True, help="JSON file written on the way out")
    parser.add_argument("--device", default="chair")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
