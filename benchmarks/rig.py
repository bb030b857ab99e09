"""The processes of a real-time measurement: a board on a pty, a controller, CPU burners.

    with Rig(workdir, loaded=True) as rig:          # a burner per core when loaded
        board = rig.board()                         # benchmarks.board_process
        controller = rig.controller(board, "relax") # benchmarks.controller_process
        controller.go(); board.wait("live") ...
        service = rig.service(board, "held", routine_text)  # `massagectl serve` on the board
        service.go(); service.stop(); service.ended(began) ...

Every process started here is killed and reaped on the way out, whatever happened. Event
times are time.monotonic() (CLOCK_MONOTONIC), the same clock in every process.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from massagectl.safety.chair_record import RECORDS_ENV

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
START_LIMIT_S = 60.0  # a loaded machine may take a while to import and open the pty
EXIT_LIMIT_S = 20.0
WAIT_LIMIT_S = 30.0
BURNER = "while True: pass"


class RigError(RuntimeError):
    """A process of the rig did not do what the measurement needs."""


class RigTimeout(RigError):
    """An awaited event did not come in time (the process is still running)."""


class Events:
    """JSON lines from a process's stdout, kept in order, read by a thread (readline blocks)."""

    def __init__(self, stream: IO[str], name: str, *, first_line_plain: bool = False) -> None:
        self.name = name
        self._first_line_plain = first_line_plain
        self.first_line: queue.Queue[str] = queue.Queue()
        self._events: list[dict] = []
        self._arrived = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        first = self._first_line_plain
        for line in stream:
            if first:
                self.first_line.put(line.strip())
                first = False
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            with self._arrived:
                self._events.append(event)
                self._arrived.notify_all()
        with self._arrived:
            self._events.append({"ev": "exit", "t": time.monotonic()})
            self._arrived.notify_all()

    def wait(self, kind: str, after_t: float = 0.0, limit_s: float = WAIT_LIMIT_S,
             count: int = 1) -> dict:
        """The `count`-th event of `kind` with t >= after_t (waiting for it)."""
        deadline = time.monotonic() + limit_s
        with self._arrived:
            while True:
                found = [e for e in self._events if e["ev"] == kind and e["t"] >= after_t]
                if len(found) >= count:
                    return found[count - 1]
                if any(e["ev"] == "exit" for e in self._events):
                    raise RigError(f"{self.name} exited while {kind!r} was awaited")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RigTimeout(f"{self.name}: no {kind!r} within {limit_s:g} s")
                self._arrived.wait(left)

    def since(self, kind: str, after_t: float) -> list[dict]:
        """Events of `kind` (every kind: "") with t >= after_t."""
        with self._arrived:
            return [e for e in self._events if kind in ("", e["ev"]) and e["t"] >= after_t]


class BoardProcess:
    def __init__(self, process: subprocess.Popen, summary: Path) -> None:
        self.process = process
        self.summary_path = summary
        self.events = Events(process.stdout, "the board process", first_line_plain=True)
        try:
            self.port = self.events.first_line.get(timeout=START_LIMIT_S)
        except queue.Empty:
            raise RigError("the board process printed no port") from None

    def command(self, line: str) -> None:
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def wait(self, kind: str, after_t: float = 0.0, **options) -> dict:
        return self.events.wait(kind, after_t, **options)

    def finish(self) -> dict:
        """Quit; the board's summary (benchmarks.board_process)."""
        with contextlib.suppress(BrokenPipeError):
            self.command("quit")
        self.process.wait(timeout=EXIT_LIMIT_S)
        return json.loads(self.summary_path.read_text())


class ControllerProcess:
    def __init__(self, process: subprocess.Popen, control_fd: int, tty_fd: int) -> None:
        self.process = process
        self.pid = process.pid
        self.tty_fd = tty_fd  # the terminal it reads keys from: write here to press one
        self._control_fd = control_fd
        self.events = Events(process.stdout, "the controller process")

    def go(self) -> float:
        now = time.monotonic()
        os.write(self._control_fd, b"go\n")
        return now

    def ended(self, after_t: float, limit_s: float = WAIT_LIMIT_S) -> dict:
        return self.events.wait("ended", after_t, limit_s=limit_s)

    def ended_since(self, after_t: float) -> dict | None:
        """How the session started at `after_t` ended, if it has."""
        found = self.events.since("ended", after_t)
        return found[0] if found else None

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._control_fd, b"quit\n")
        try:
            self.process.wait(timeout=EXIT_LIMIT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class ServiceProcess:
    """`massagectl serve --port PTY` as shipped, driven through its control socket: one
    connection for starts and status, one kept open for nothing but stops (so a stop is one
    line written to a socket the service already watches)."""

    BUSY = ("scanning", "running", "paused", "stopping")

    def __init__(self, process: subprocess.Popen, socket_path: Path, routine: str) -> None:
        self.process = process
        self.pid = process.pid
        self.routine = routine
        self._path = socket_path
        self._requests = self._connect()
        self._stops = self._connect()
        self._stop_pending = False

    def _connect(self) -> tuple[socket.socket, IO[bytes]]:
        deadline = time.monotonic() + START_LIMIT_S
        while True:
            if self.process.poll() is not None:
                raise RigError(f"massagectl serve exited ({self.process.returncode})")
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                connection.connect(str(self._path))
                return connection, connection.makefile("rb")
            except OSError:
                connection.close()
                if time.monotonic() > deadline:
                    raise RigError(f"no control socket at {self._path}") from None
                time.sleep(0.05)  # bounded polling while the service starts

    def ask(self, op: str, **fields: object) -> dict:
        connection, replies = self._requests
        connection.sendall((json.dumps({"op": op, **fields}) + "\n").encode())
        line = replies.readline()
        if not line:
            raise RigError("massagectl serve closed its control socket")
        return json.loads(line)

    def wait_state(self, *states: str, limit_s: float = START_LIMIT_S) -> dict:
        """Status, polled (the socket answers a client at most 50 times a second) until the
        chair is in one of `states`."""
        deadline = time.monotonic() + limit_s
        while True:
            status = self.ask("status")["status"]
            if status["state"] in states:
                return status
            if time.monotonic() > deadline:
                raise RigTimeout(f"massagectl serve: still {status['state']} after {limit_s:g} s")

    def go(self) -> float:
        """Start the routine; the time the request was sent."""
        now = time.monotonic()
        reply = self.ask("start", routine=self.routine)
        if not reply["ok"]:
            raise RigError(f"massagectl serve refused the start: {reply['error']}")
        return now

    def stop(self) -> float:
        """Write a stop request; the time it was written (its reply is read by `ended`)."""
        connection, _ = self._stops
        now = time.monotonic()
        connection.sendall(b'{"op": "stop"}\n')
        self._stop_pending = True
        return now

    def ended_since(self, after_t: float) -> dict | None:
        status = self.ask("status")["status"]
        return None if status["state"] in self.BUSY else self._outcome(status)

    def ended(self, after_t: float, limit_s: float = WAIT_LIMIT_S) -> dict:
        return self._outcome(self.wait_state("idle", "fault", limit_s=limit_s))

    def _outcome(self, status: dict) -> dict:
        if self._stop_pending:  # its reply, so that replies never pile up in the socket
            self._stop_pending = False
            self._stops[1].readline()
        last = status.get("last_session") or {}
        return {"ended": last.get("ended_how", status["state"]),
                "detail": last.get("detail", "; ".join(status.get("faults", [])))}

    def finish(self) -> None:
        for connection, replies in (self._requests, self._stops):
            replies.close()
            connection.close()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=EXIT_LIMIT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Rig:
    """See the module docstring."""

    def __init__(self, workdir: Path, *, loaded: bool) -> None:
        self.workdir = workdir
        self.loaded = loaded
        self._started: list[subprocess.Popen] = []
        self._fds: list[int] = []
        self._count = 0

    def __enter__(self) -> Rig:
        if self.loaded:  # a CPU-bound process on every core
            for _ in range(os.cpu_count() or 1):
                self._start([PYTHON, "-c", BURNER], stdout=subprocess.DEVNULL)
        return self

    def __exit__(self, *exc_info) -> None:
        for process in reversed(self._started):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGCONT)  # a stopped process cannot die
                process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=EXIT_LIMIT_S)
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)

    def _start(self, argv: list[str], **options) -> subprocess.Popen:
        options.setdefault("stdin", subprocess.DEVNULL)
        process = subprocess.Popen(argv, cwd=REPO, **options)
        self._started.append(process)
        return process

    def _name(self, what: str) -> str:
        self._count += 1
        return f"{what}-{self._count}"

    def board(self) -> BoardProcess:
        name = self._name("board")
        summary = self.workdir / f"{name}.json"
        with (self.workdir / f"{name}.err").open("w") as stderr:
            process = self._start([PYTHON, "-m", "benchmarks.board_process", "--summary",
                                   str(summary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=stderr, text=True)
        return BoardProcess(process, summary)

    def controller(self, board: BoardProcess, routine: str, *, status: bool = False
                   ) -> ControllerProcess:
        name = self._name("controller")
        control_read, control_write = os.pipe()
        tty_master, tty_slave = os.openpty()
        self._fds += [control_write, tty_master]
        argv = [PYTHON, "-m", "benchmarks.controller_process", board.port, routine,
                "--control-fd", str(control_read),
                "--fault-log", str(self.workdir / f"{name}-faults.jsonl")]
        if status:
            argv.append("--status")
        with (self.workdir / f"{name}.err").open("w") as stderr:
            process = self._start(argv, stdin=tty_slave, stdout=subprocess.PIPE,
                                  stderr=tty_slave if status else stderr, text=True,
                                  pass_fds=(control_read,), start_new_session=True)
        os.close(control_read)
        os.close(tty_slave)
        return ControllerProcess(process, control_write, tty_master)

    def service(self, board: BoardProcess, routine: str, routine_text: str,
                mqtt: str = "") -> ServiceProcess:
        """`massagectl serve` on the board's pty, its routine folder holding `routine`, its
        control socket in the work folder; `mqtt`: extra config lines (an [mqtt] table)."""
        name = self._name("service")
        folder = self.workdir / name
        (folder / "routines").mkdir(parents=True, exist_ok=True)
        (folder / "routines" / f"{routine}.toml").write_text(routine_text)
        config = folder / "config.toml"
        config.write_text(f'[logs]\ndirectory = "{folder}"\n[session]\nbody_scan = false\n'
                          + mqtt)
        runtime = self.workdir / "run"
        environment = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
        with (self.workdir / f"{name}.err").open("w") as stderr:
            process = self._start([PYTHON, "-m", "massagectl", "serve", "--port", board.port,
                                   "--config", str(config), "--chair", name,
                                   "--log-level", "warning"],
                                  stdout=subprocess.DEVNULL, stderr=stderr, env=environment)
        service = ServiceProcess(process, runtime / "massagectl" / f"{name}.sock", routine)
        service.wait_state("idle")
        return service

    def command(self, argv: list[str], *, terminal: bool = False) -> tuple[subprocess.Popen,
                                                                             int | None]:
        """Any command; with `terminal`, its stdin, stdout and stderr are a pty (returned)."""
        if not terminal:
            return self._start(argv, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL), None
        master, slave = os.openpty()
        self._fds.append(master)
        process = self._start(argv, stdin=slave, stdout=slave, stderr=slave,
                              start_new_session=True)
        os.close(slave)
        os.set_blocking(master, False)
        return process, master


@contextlib.contextmanager
def fresh_chair_records() -> Iterator[None]:
    """A chair's safety record remembers the heat of its recent sessions (safety.chair_record),
    so a routine run again and again would run out of heat time: each measured session gets a
    chair of its own, here and in the processes it starts."""
    before = os.environ.get(RECORDS_ENV)
    with tempfile.TemporaryDirectory(prefix="bench-chairs-") as folder:
        os.environ[RECORDS_ENV] = folder
        try:
            yield
        finally:
            if before is None:
                os.environ.pop(RECORDS_ENV, None)
            else:
                os.environ[RECORDS_ENV] = before


def drain(fd: int | None) -> None:
    """Read what a terminal holds, so its writer never blocks on a full pty."""
    if fd is None:
        return
    with contextlib.suppress(BlockingIOError, OSError):
        while os.read(fd, 65536):
            pass
