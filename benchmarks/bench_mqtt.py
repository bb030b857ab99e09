"""MQTT bridge: stop command -> STOP bytes written, and twenty chairs on one broker.

Run from the repository root (needs `mosquitto`; the benchmark starts its own on loopback):

    python benchmarks/bench_mqtt.py              # 100 stops per row, 20 chairs (about 8 min)
    python benchmarks/bench_mqtt.py --quick      # 20 stops per row, 5 chairs: does it work
    python benchmarks/bench_mqtt.py --one-chair  # table 1 only

Prints two tables:
1. one chair service on the built-in simulator with the bridge, in real time: a client
   publishes `<chair>/stop/set` and the clock stops when the service's link hands the STOP
   frame to the line (`Link.send_immediate` returns). Each stop ends a running session. Rows:
   a quiet broker; the stop published right behind a flood of 100 intensity commands; and the
   same flood with the naive bridge, measured in the same run: aiomqtt as it comes (one packet
   read per turn of the event loop) and its first-in, first-out queue. Stops come at a random
   moment 0.2-1 s into the session, except in the row "within ms of a start", where the stop
   arrives while the service is still starting the session (compiling, admitting, sending the
   first segments);
2. the quiet and flood rows again while `--chairs - 1` more `massagectl serve` processes, each
   with its own simulated board, its bridge and a session running, share the broker; and the
   CPU each used while the rows were measured, as a share of one core: the neighbours, and one
   more service with the same simulated board and session but no MQTT, whose share is what the
   chair costs without its bridge (the simulator runs inside each service).
The machine's load average is printed before and after: the machine is shared, and a loaded
core shows in every p99.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import aiomqtt  # noqa: E402
from bench_codec import percentile  # noqa: E402

from massagectl.controller.frontends.control_socket import ask  # noqa: E402
from massagectl.controller.service.operations import ChairState, Origin, Refused  # noqa: E402
from massagectl.firmware_bridge import messages as m  # noqa: E402
from massagectl.mqtt_bridge import bridge as bridge_module  # noqa: E402
from massagectl.mqtt_bridge import connection as connection_module  # noqa: E402
from tests.mqtt_bridge.broker import Mosquitto  # noqa: E402
from tests.mqtt_bridge.service_chairs import service_with_bridge  # noqa: E402

FLOOD_COMMANDS = 100
MID_SESSION_S = (0.2, 1.0)
STARTING_TIMEOUT_S = 300.0  # nineteen services starting on a shared machine
REFERENCE = "reference_no_mqtt"
ROUTINE = "short_mix"
CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


class StopClock:
    """Notes when the service's link hands a STOP frame to the line."""

    def __init__(self, link) -> None:
        self.written = asyncio.Event()
        self.written_ns = 0
        original = link.send_immediate

        def send_immediate(message: object) -> bool:
            result = original(message)
            if isinstance(message, m.Stop) and not self.written.is_set():
                self.written_ns = time.perf_counter_ns()
                self.written.set()
            return result

        link.send_immediate = send_immediate


async def wait_state(service, *states: ChairState) -> None:
    while service.state() not in states:
        await asyncio.sleep(0.01)


FAULTS_AFTER_STOP: dict[str, int] = {}  # row -> stops that left a latched fault
FAILED_STARTS: dict[str, int] = {}  # row -> sessions the service failed to start
START_TIMEOUT_S = 10.0
IDLE_AGAIN_TIMEOUT_S = 60.0


async def stop_latencies_ms(service, client: aiomqtt.Client, node: str, repeat: int,
                            flood: int, *, right_after_start: bool = False,
                            row: str = "") -> list[float]:
    rng = random.Random(7)
    samples = []
    for _ in range(repeat):
        await ready_for_a_session(service, row)
        try:
            service.start(ROUTINE, Origin.SERVICE)
            await asyncio.wait_for(wait_state(service, ChairState.RUNNING), START_TIMEOUT_S)
        except (Refused, TimeoutError):  # the service could not start one: not a stop sample
            FAILED_STARTS[row] = FAILED_STARTS.get(row, 0) + 1
            continue
        if not right_after_start:  # a person presses stop at some moment of the session
            await asyncio.sleep(rng.uniform(*MID_SESSION_S))
        clock = StopClock(service.chair.link)
        for _ in range(flood):
            await client.publish(f"massagectl/{node}/intensity/set", "2", qos=0)
        started_ns = time.perf_counter_ns()
        await client.publish(f"massagectl/{node}/stop/set", "", qos=0)
        await asyncio.wait_for(clock.written.wait(), 10)
        samples.append((clock.written_ns - started_ns) / 1e6)
    await ready_for_a_session(service, row)
    return samples


async def ready_for_a_session(service, row: str) -> None:
    """Idle again. A stop during a session's start can latch a fault (counted and reported);
    the benchmark clears it, as a person would after checking the chair, until the board's
    own latch is cleared too."""
    async with asyncio.timeout(IDLE_AGAIN_TIMEOUT_S):  # a chair that never settles: say so
        await wait_state(service, ChairState.IDLE, ChairState.FAULT)
        if service.state() is ChairState.FAULT:
            FAULTS_AFTER_STOP[row] = FAULTS_AFTER_STOP.get(row, 0) + 1
        while service.state() is not ChairState.IDLE:
            with contextlib.suppress(Refused):
                service.clear_faults(Origin.SERVICE)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wait_state(service, ChairState.IDLE), 2.0)


async def measure(broker: Mosquitto, folder: Path, repeat: int, naive_too: bool,
                  right_after_start: bool = True):
    rows = {}
    node = "bench_chair"
    async with AsyncExitStack() as stack:
        client = await stack.enter_async_context(
            aiomqtt.Client(broker.host, broker.port, protocol=aiomqtt.ProtocolVersion.V5))
        service, _ = await stack.enter_async_context(
            service_with_bridge(folder / "ours", broker, node_id=node))
        rows["quiet broker"] = await stop_latencies_ms(service, client, node, repeat, 0,
                                                       row="quiet broker")
        if right_after_start:
            rows["quiet, within ms of a start"] = await stop_latencies_ms(
                service, client, node, repeat, 0, right_after_start=True,
                row="quiet, within ms of a start")
        rows[f"behind {FLOOD_COMMANDS} commands"] = await stop_latencies_ms(
            service, client, node, repeat, FLOOD_COMMANDS, row=f"behind {FLOOD_COMMANDS}")
    if naive_too:
        # The naive bridge: aiomqtt as it comes (one packet read per turn of the event loop)
        # and its first-in, first-out queue, the stop handled in turn behind the flood.
        originals = bridge_module.inbox_type, connection_module.DrainingClient
        bridge_module.inbox_type = lambda *_, **__: asyncio.Queue
        connection_module.DrainingClient = aiomqtt.Client
        try:
            async with AsyncExitStack() as stack:
                client = await stack.enter_async_context(aiomqtt.Client(
                    broker.host, broker.port, protocol=aiomqtt.ProtocolVersion.V5))
                service, _ = await stack.enter_async_context(
                    service_with_bridge(folder / "naive", broker, node_id="naive_chair"))
                rows[f"behind {FLOOD_COMMANDS}, naive FIFO"] = await stop_latencies_ms(
                    service, client, "naive_chair", repeat, FLOOD_COMMANDS, row="naive")
        finally:
            bridge_module.inbox_type, connection_module.DrainingClient = originals
    return rows


def print_latencies(title: str, rows: dict[str, list[float]]) -> None:
    print(f"\n{title}")
    print("| stop command -> STOP written, ms     |  median |     p99 |     max | target |")
    print("|--------------------------------------|---------|---------|---------|--------|")
    for name, samples in rows.items():
        print(f"| {name:<36} | {statistics.median(samples):7.2f} | "
              f"{percentile(samples, 0.99):7.2f} | {max(samples):7.2f} |  20.00 |")


def start_services(broker: Mosquitto, folder: Path, count: int,
                   ) -> tuple[list[subprocess.Popen], subprocess.Popen]:
    """`count` neighbours with the bridge, and one reference service without MQTT."""
    environment = {**os.environ, "XDG_RUNTIME_DIR": str(folder / "run")}
    processes = []
    for index in range(count + 1):
        node = f"neighbour_{index:02d}" if index < count else REFERENCE
        config = folder / f"{node}.toml"
        mqtt = (f'[mqtt]\nenabled = true\nhost = "{broker.host}"\nport = {broker.port}\n'
                f'node_id = "{node}"\n') if index < count else ""
        config.write_text(f'[logs]\ndirectory = "{node}"\n[session]\nallow_remote_start = true'
                          f'\nbody_scan = false\n{mqtt}')
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "massagectl", "serve", "--config", str(config),
             "--chair", node], env=environment,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return processes[:-1], processes[-1]


async def start_sessions(broker: Mosquitto, count: int, reference_socket: Path) -> int:
    """Start a routine on every neighbour over MQTT (again after a refusal, e.g. a seat not yet
    read) and on the reference through its control socket; how many neighbours run one."""
    running: set[str] = set()
    asked: set[str] = set()
    async with asyncio.timeout(STARTING_TIMEOUT_S):
        while True:  # the reference service's socket appears once it is up
            with contextlib.suppress(OSError, ValueError):
                reply = await ask(reference_socket, {"op": "start", "routine": "relax"})
                if reply.get("ok"):
                    break
            await asyncio.sleep(0.5)
        if count == 0:
            return 0
        async with aiomqtt.Client(broker.host, broker.port) as client:
            await client.subscribe("massagectl/+/state")
            await client.subscribe("massagectl/+/response")
            async for message in client.messages:
                node = str(message.topic).split("/")[1]
                text = bytes(message.payload).decode()  # type: ignore[arg-type]
                if str(message.topic).endswith("/response") and '"refused"' in text:
                    asked.discard(node)
                elif '"status":"running"' in text:
                    running.add(node)
                elif '"seat_occupied":true' in text and node not in asked | running:
                    asked.add(node)
                    await client.publish(f"massagectl/{node}/start/set", "relax", qos=1)
                if len(running) == count:
                    break
    return len(running)


def cpu_ticks(process: subprocess.Popen) -> int:
    fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # tables appear as they are measured
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=100,
                        help="stops per row (a p99 needs 100)")
    parser.add_argument("--chairs", type=int, default=20, help="chairs on the broker")
    parser.add_argument("--quick", action="store_true", help="20 stops per row, 5 chairs")
    parser.add_argument("--one-chair", action="store_true",
                        help="table 1 only (no neighbours: light on a shared machine)")
    args = parser.parse_args()
    if args.quick:
        args.repeat, args.chairs = 20, 5
    began = time.monotonic()
    print(f"before: {load()}")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        # The simulated chairs' safety records stay in the scratch folder, not the computer's.
        os.environ["MASSAGECTL_CHAIR_RECORDS"] = str(folder / "chair_records")
        with Mosquitto(folder / "broker") as broker:
            rows = asyncio.run(measure(broker, folder, args.repeat, naive_too=True))
            print_latencies(f"One chair, {args.repeat} stops per row (real time, built-in "
                            "simulator, local Mosquitto)", rows)
            if args.one_chair:
                print(f"\nafter: {load()}; {time.monotonic() - began:.0f} s in all")
                return
            crowded_began = time.monotonic()
            neighbours, reference = start_services(broker, folder, args.chairs - 1)
            everyone = [*neighbours, reference]
            try:
                running = asyncio.run(start_sessions(
                    broker, len(neighbours), folder / "run" / "massagectl" /
                    f"{REFERENCE}.sock"))
                print(f"\n{running} neighbours running a session after "
                      f"{time.monotonic() - crowded_began:.0f} s")
                before = [cpu_ticks(p) for p in everyone]
                started = time.monotonic()
                rows = asyncio.run(measure(broker, folder / "crowded", args.repeat,
                                           naive_too=False, right_after_start=False))
                rows = {f"{name}, {args.chairs} chairs": samples
                        for name, samples in rows.items()}
                elapsed_s = time.monotonic() - started
                shares = [100 * (cpu_ticks(p) - b) / CLOCK_TICKS_PER_S / elapsed_s
                          for p, b in zip(everyone, before, strict=True)]
            finally:
                for process in everyone:
                    process.terminate()
                for process in everyone:
                    process.wait(30)
            print_latencies(f"{args.chairs} chairs on one broker ({running} neighbours running "
                            "a session), the same stops", rows)
            if FAILED_STARTS:
                print(f"\nSessions the service failed to start (no sample): {FAILED_STARTS}")
            if FAULTS_AFTER_STOP:
                print(f"\nStops that left a latched fault (the service's, cleared by the "
                      f"benchmark): {FAULTS_AFTER_STOP}")
            neighbour_shares, reference_share = shares[:-1], shares[-1]
            title = f"CPU over {elapsed_s:.0f} s, % of one core (simulator included)"
            print(f"\n| {title:<56} | median |  max | target |\n|{'-' * 58}|--------|------|"
                  "--------|")
            if neighbour_shares:
                name = f"{len(neighbour_shares)} services with the bridge, each"
                print(f"| {name:<56} | {statistics.median(neighbour_shares):6.2f} | "
                      f"{max(neighbour_shares):4.1f} |   2.00 |")
            name = "the same service without MQTT (naive: no bridge)"
            print(f"| {name:<56} | {reference_share:6.2f} | {reference_share:4.1f} |      - |")
    print(f"\nafter: {load()}; {time.monotonic() - began:.0f} s in all")


if __name__ == "__main__":
    main()
