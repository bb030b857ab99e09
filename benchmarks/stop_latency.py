"""Stop latency from real inputs, across processes, to the wire and to a safe board.

The board runs in one process (benchmarks.board_process, on a pty, the line paced at 115200
baud); what runs the sessions in another: benchmarks.controller_process (sessions back to back,
the inputs wired as `massagectl run` wires them) or `massagectl serve` as shipped (its control
socket, and for MQTT its bridge on a Mosquitto of the benchmark's own, on a free loopback
port). For each stop: a session starts, the board says an output is live, a random 0-30 ms
later the input fires, then

    to the wire: input -> the STOP block read from the pty at the board's end (wire tap)
    to safe:     input -> the board in SHUTDOWN with every output safe

Most of a stop's cycle is waiting: a session's first segment starts ANCHOR_LEAD_S (0.25 s)
after it is sent, and a stop ends the session. So `chairs` board-and-controller pairs take
turns: while one is stopped and measured, the others wait out their sessions' lead. One stop
is in flight at a time, and a session's start (compile, admit, the first segments) is over
before the next stop fires, so the others add only their idle work beside it (telemetry at
20 Hz, the watchdog frames), which the figure's note counts.

Each stop source is one small function that fires its input and returns when it fired (time
.monotonic(), the same clock in every process); adding a source is adding one to STOP_SOURCES.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmarks.figures import Figure, Target
from benchmarks.rig import (
    WAIT_LIMIT_S,
    BoardProcess,
    ControllerProcess,
    Rig,
    RigError,
    RigTimeout,
    ServiceProcess,
    fresh_chair_records,
)
from massagectl.safety.detectors import CONFIRM_READINGS

TO_WIRE_MS = Target("p99", "<=", 2.0)
TO_SAFE_MS = Target("p99", "<=", 10.0)
RANDOM_DELAY_S = 0.03  # inputs land at a random phase of the telemetry and the streaming
SETTLE_S = 0.3  # six telemetry periods
ATTEMPTS = 3  # sessions that may end before an output goes live, per stop (counted as odd)
POLL_S = 0.5  # how often a wait for "live" looks whether the session ended instead
TRIP_SENSOR = "tap_current"  # range-checked only: its return after the trip trips nothing
ROUTINE_NAME = "held"
ROUTINE = """\
name = "held"
description = "One airbag held for minutes: an output live until a stop ends it"
warm_up_s = 0
cool_down_s = 10

[[steps]]
kind = "press"
zones = ["seat"]
pressure_kpa = 6
ramp_in_s = 4
hold_s = 240
release_s = 5
"""


class MqttStops:
    """A client of the benchmark's broker that publishes a chair's stop command."""

    def __init__(self, host: str, port: int, node: str) -> None:
        import paho.mqtt.client as mqtt

        self.node = node
        self._answered = threading.Event()
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self._client.on_message = lambda client, data, message: self._answered.set()
        self._client.connect(host, port)
        self._client.loop_start()
        self._client.subscribe(f"massagectl/{node}/response")

    def wait_listening(self, limit_s: float = WAIT_LIMIT_S) -> None:
        """Until the service's bridge answers a command (it has subscribed)."""
        deadline = time.monotonic() + limit_s
        while not self._answered.is_set():
            if time.monotonic() > deadline:
                raise RigError(f"the MQTT bridge of {self.node} answered nothing")
            self._client.publish(f"massagectl/{self.node}/intensity/set", "3", qos=1)
            self._answered.wait(0.5)

    def stop(self) -> float:
        now = time.monotonic()
        self._client.publish(f"massagectl/{self.node}/stop/set", "", qos=0)
        return now

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


@dataclass
class Chair:
    """One board and what runs sessions on it."""

    board: BoardProcess
    host: ControllerProcess | ServiceProcess
    mqtt: MqttStops | None = None


@dataclass(frozen=True)
class StopInput:
    name: str
    fire: Callable[[Chair], float]  # returns the input's time
    after: Callable[[Chair], None] | None = None  # puts things back for the next stop
    note: str = ""
    board_cause: str = "HOST_STOP"  # what the board must give as the reason it stopped
    host: str = "controller"  # "controller", "service" (massagectl serve) or "mqtt" (its bridge)


def signal_to_process(chair: Chair) -> float:
    now = time.monotonic()
    os.kill(chair.host.pid, signal.SIGINT)
    return now


def terminal_key(chair: Chair) -> float:
    now = time.monotonic()
    os.write(chair.host.tty_fd, b"q")
    return now


def remote_stop_key(chair: Chair) -> float:
    asked = time.monotonic()
    chair.board.command("press stop")
    return chair.board.wait("pressed", asked)["t"]


def supervisor_trip(chair: Chair) -> float:
    """A pressure sensor goes dead; the supervisor trips on its CONFIRM_READINGS-th reading out
    of range. The input is the moment that reading reached the host's end of the line."""
    asked = time.monotonic()
    chair.board.command(f"inject dead_sensor {TRIP_SENSOR}")
    injected = chair.board.wait("injected", asked)["t"]
    return chair.board.wait("bad_report", injected, count=CONFIRM_READINGS)["t"]


def clear_dead_sensor(chair: Chair) -> None:
    """The sensor back: its first good reading after the dead ones is a jump the supervisor
    may trip on too; that happens while the session ends, and the latch is cleared with it."""
    asked = time.monotonic()
    chair.board.command(f"clear dead_sensor {TRIP_SENSOR}")
    chair.board.wait("cleared", asked)


def control_socket_stop(chair: Chair) -> float:
    return chair.host.stop()


def mqtt_stop(chair: Chair) -> float:
    return chair.mqtt.stop()


STOP_SOURCES = [
    StopInput("signal (SIGINT)", signal_to_process),
    StopInput("terminal key q (pty)", terminal_key),
    StopInput("remote STOP key", remote_stop_key, board_cause="REMOTE_STOP_KEY",
              note="the board acts on its own STOP key at once, so 'to safe' is the board's "
              "own reaction; 'to the wire' is the host's STOP after the key's report"),
    StopInput("supervisor trip", supervisor_trip, clear_dead_sensor, board_cause="HOST_FAULT",
              note="input: the confirming out-of-range reading at the host's end of the line"),
    StopInput("control socket stop", control_socket_stop, host="service",
              note="`massagectl serve` as shipped; input: the request line written to its "
              "socket"),
    StopInput("MQTT stop", mqtt_stop, host="mqtt",
              note="`massagectl serve` with its bridge, on a Mosquitto of its own on loopback; "
              "input: the client's publish of <chair>/stop/set"),
]


def _mqtt_config(port: int, node: str) -> str:
    return (f'[mqtt]\nenabled = true\nhost = "127.0.0.1"\nport = {port}\n'
            f'node_id = "{node}"\n')


@contextlib.contextmanager
def _broker(workdir: Path, wanted: bool) -> Iterator[object | None]:
    """The benchmark's own Mosquitto (never a broker already running) when `wanted`."""
    if not wanted:
        yield None
        return
    from tests.mqtt_bridge.broker import Mosquitto  # the MQTT tests' broker, on a free port

    with Mosquitto(workdir / "broker") as broker:
        yield broker


def open_chair(rig: Rig, source: StopInput, routine: Path, broker, index: int) -> Chair:
    board = rig.board()
    if source.host == "controller":
        return Chair(board, rig.controller(board, str(routine)))
    node = f"bench_{index}"
    extra = _mqtt_config(broker.port, node) if source.host == "mqtt" else ""
    service = rig.service(board, ROUTINE_NAME, ROUTINE, mqtt=extra)
    chair = Chair(board, service)
    if source.host == "mqtt":
        chair.mqtt = MqttStops(broker.host, broker.port, node)
        chair.mqtt.wait_listening()
    return chair


def start_session(chair: Chair, odd: list[str]) -> float:
    """Start a session and wait until its first segment is on the line (its start's work is
    done); a session that ends first (a stale fault of the last stop) is noted, and another
    started."""
    for _ in range(ATTEMPTS):
        try:
            began = chair.host.go()
        except RigError as error:  # the service refused: a fault of the last stop
            odd.append(f"a start was refused ({str(error)[:60]}...); started again")
            time.sleep(SETTLE_S)
            continue
        if _wait_or_end(chair, "first_segment", began, odd):
            return began
    raise RigError(f"{ATTEMPTS} sessions in a row ended before starting: {odd[-1]}")


def wait_live(chair: Chair, began: float, odd: list[str]) -> tuple[float, float]:
    """Until an output of the session begun at `began` is live; a session that ended first
    is noted and another started. The session's start time, and when it went live."""
    for _ in range(ATTEMPTS):
        if _wait_or_end(chair, "live", began, odd):
            return began, chair.board.wait("live", began)["t"]
        began = start_session(chair, odd)
    raise RigError(f"{ATTEMPTS} sessions in a row ended before going live: {odd[-1]}")


def _wait_or_end(chair: Chair, kind: str, began: float, odd: list[str]) -> bool:
    deadline = time.monotonic() + WAIT_LIMIT_S
    while True:
        try:
            chair.board.wait(kind, began, limit_s=POLL_S)
            return True
        except RigTimeout:
            pass
        if chair.host.process.poll() is not None:
            raise RigError(f"what ran the sessions exited ({chair.host.process.returncode}); "
                           "its .err file in the work folder says why")
        ended = chair.host.ended_since(began)
        if ended is not None:
            odd.append(f"a session ended before its {kind.replace('_', ' ')} "
                       f"({ended['detail'][:60]}...); started again")
            time.sleep(SETTLE_S)
            return False
        if time.monotonic() > deadline:
            raise RigError(f"no {kind} of a session within {WAIT_LIMIT_S:.0f} s; the board's "
                           f"last events: {chair.board.events.since('', 0.0)[-6:]}"
                           + _host_events(chair))


def _host_events(chair: Chair) -> str:
    if isinstance(chair.host, ControllerProcess):
        return f"; the controller's last events: {chair.host.events.since('', 0.0)[-4:]}"
    return ""


def measure(sources: list[StopInput], stops: int, workdir: Path, loaded: bool, chairs: int = 1
            ) -> dict[str, tuple[list[float], list[float], list[str]]]:
    """Per source: (to-the-wire ms, to-safe ms, anything odd) over `stops` stops, `chairs`
    taking turns. The sources share their chairs, so they must share a host kind."""
    host = sources[0].host
    assert all(source.host == host for source in sources)
    routine = workdir / "held.toml"
    routine.write_text(ROUTINE)
    chairs = max(1, min(chairs, stops))
    found = {}
    with fresh_chair_records(), _broker(workdir, host == "mqtt") as broker, \
            Rig(workdir, loaded=loaded) as rig:
        pool = [open_chair(rig, sources[0], routine, broker, index) for index in range(chairs)]
        for source in sources:
            found[source.name] = _stops(source, pool, stops)
        for chair in pool:
            if chair.mqtt is not None:
                chair.mqtt.close()
            chair.host.finish()
            chair.board.finish()
    return found


def _stops(source: StopInput, pool: list[Chair], stops: int
           ) -> tuple[list[float], list[float], list[str]]:
    wire_ms: list[float] = []
    safe_ms: list[float] = []
    odd: list[str] = []
    rng = random.Random(7)
    turns: deque[tuple[Chair, float]] = deque()
    for chair in pool[:stops]:  # one session starting at a time
        turns.append((chair, start_session(chair, odd)))
    while turns:
        chair, began = turns.popleft()
        began, live_t = wait_live(chair, began, odd)
        # A random moment 0-30 ms after it went live (already past, if it went live while the
        # others were measured: then at once, at a phase as random).
        time.sleep(max(0.0, live_t + rng.uniform(0, RANDOM_DELAY_S) - time.monotonic()))
        fired = source.fire(chair)
        safe = chair.board.wait("safe", fired)
        stop_bytes = chair.board.wait("stop_bytes", fired)
        if source.after is not None:  # while the session ends: what follows is its own
            source.after(chair)
        ended = chair.host.ended(began)
        if safe["cause"] != source.board_cause:
            odd.append(f"board stopped by {safe['cause']}")
        if ended["ended"] not in ("stopped", "fault"):
            odd.append(f"session ended {ended['ended']}: {ended['detail']}")
        wire_ms.append(1000 * (stop_bytes["t"] - fired))
        safe_ms.append(1000 * (safe["t"] - fired))
        if len(wire_ms) + len(turns) < stops:
            turns.append((chair, start_session(chair, odd)))
    return wire_ms, safe_ms, odd


HOSTS = ("controller", "service", "mqtt")


def figures(stops: int, workdir: Path, loads=(False, True), chairs: int = 1) -> list[Figure]:
    result = []
    for loaded in loads:
        load = "loaded" if loaded else "idle"
        measured = {}
        failed = {}
        for host in HOSTS:
            sources = [source for source in STOP_SOURCES if source.host == host]
            if host == "mqtt" and not (shutil.which("mosquitto")
                                       or Path("/usr/sbin/mosquitto").exists()):
                continue
            try:
                measured.update(measure(sources, stops, workdir, loaded, chairs))
            except RigError as error:  # said in the table, and the other sources still run
                failed.update({source.name: f"not measured: {error}" for source in sources})
        taking_turns = min(chairs, stops)
        for source in STOP_SOURCES:
            if source.name not in measured:
                note = failed.get(source.name, "not measured: mosquitto is not installed "
                                  "(.ci/run installs it)")
                result.append(Figure("1 stop", f"{source.name} -> board safe, {load}", "ms",
                                     [], TO_SAFE_MS, note=note))
                continue
            wire_ms, safe_ms, odd = measured[source.name]
            counted = [f"{odd.count(what)}x {what}" for what in sorted(set(odd))]
            beside = [f"{taking_turns} chairs taking turns, the others idle in their sessions' "
                      "lead meanwhile"] if taking_turns > 1 else []
            note = "; ".join(([source.note] if source.note else []) + beside + counted)
            result.append(Figure("1 stop", f"{source.name} -> STOP on the wire, {load}", "ms",
                                 wire_ms, TO_WIRE_MS))
            result.append(Figure("1 stop", f"{source.name} -> board safe, {load}", "ms",
                                 safe_ms, TO_SAFE_MS, note=note))
    return result
