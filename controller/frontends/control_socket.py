"""The local control socket: `massagectl status/start/stop` talk to a running service.

    await service.open([ControlSocket(socket_path("chair"))])
    reply = await ask(socket_path("chair"), {"op": "status"})

A Unix socket in `$XDG_RUNTIME_DIR/massagectl/` (the state folder when that is unset), in a
folder only its owner can enter, the socket itself owner-only. One request per line, one JSON
object each, one JSON reply per request:

    {"op": "status"}                         -> {"ok": true, "status": {...snapshot...}}
    {"op": "start", "routine": "relax"}      -> {"ok": true, "status": ...} or
                                                {"ok": false, "error": "the chair is running ..."}
    {"op": "stop"}                           -> always ok: the one stop path

`start` and `stop` are the service's commands (controller.service.vocabulary), their fields
named as the commands' arguments. Bad input never reaches the chair: a line longer than
MAX_REQUEST_BYTES, text that is not a JSON object, an unknown op, a missing field: a reply
with the error, and the connection stays usable. A client that floods gets its requests
answered in turn, at most MAX_REQUESTS_PER_S; a client that goes away mid-request is forgotten.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import os
from pathlib import Path

from massagectl.controller.config import default_state_dir
from massagectl.controller.service.operations import ChairOperations, Origin, Refused
from massagectl.controller.service.vocabulary import (
    OPERATIONS,
    Command,
    Kind,
    Start,
    build,
    carry_out,
)

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 4096  # a request is a few words; more is junk, not a command
MAX_REQUESTS_PER_S = 50  # a flooding client is slowed down to this, not the service
SOCKET_COMMANDS = ("start", "stop")  # of the service's vocabulary; "status" only reads
IDLE_CLIENT_S = 60.0  # a client that says nothing for this long is let go
DEFAULT_CHAIR = "chair"


def socket_folder() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    return Path(runtime) / "massagectl" if runtime else default_state_dir()


def socket_path(chair: str | None = None) -> Path:
    return socket_folder() / f"{chair or DEFAULT_CHAIR}.sock"


class ControlSocket:
    name = "control socket"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._server: asyncio.AbstractServer | None = None
        self._clients: set[asyncio.Task] = set()
        self.ops: ChairOperations | None = None

    async def start(self, ops: ChairOperations) -> None:
        self.ops = ops
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.path.parent, 0o700)
        if self.path.exists():
            if await _answers(self.path):
                raise OSError(f"another service already listens on {self.path}")
            self.path.unlink()  # left behind by a service that did not stop cleanly
        old_mask = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(self._client, path=str(self.path),
                                                           limit=MAX_REQUEST_BYTES)
        finally:
            os.umask(old_mask)
        log.info("control socket at %s", self.path)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._clients):
                task.cancel()
            await asyncio.gather(*self._clients, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None  # asyncio runs each connection's handler as a task
        self._clients.add(task)
        try:
            while True:
                try:
                    line = await asyncio.wait_for(reader.readline(), IDLE_CLIENT_S)
                except ValueError:  # longer than the limit: answer, then drop the rest
                    reply = {"ok": False, "error": f"request longer than {MAX_REQUEST_BYTES} "
                             "bytes"}
                    writer.write((json.dumps(reply) + "\n").encode())
                    break
                if not line:
                    break
                writer.write((json.dumps(await self.handle(line)) + "\n").encode())
                await writer.drain()
                await asyncio.sleep(1 / MAX_REQUESTS_PER_S)
        except (TimeoutError, ConnectionError):
            pass
        finally:
            self._clients.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def handle(self, line: bytes) -> dict[str, object]:
        """One request line to one reply; never raises. A start is answered once the session
        has begun or its routine was refused (the admission runs off the service's loop, so
        a stop from another client meanwhile acts at once)."""
        try:
            request = json.loads(line)
        except ValueError:
            return {"ok": False, "error": "not JSON: send one JSON object per line, "
                    'e.g. {"op": "status"}'}
        if not isinstance(request, dict) or not isinstance(request.get("op"), str):
            return {"ok": False, "error": 'a request is a JSON object with "op"'}
        ops = self.ops
        if ops is None:
            return {"ok": False, "error": "the service is still starting: ask again"}
        op = request["op"]
        if op != "status" and op not in SOCKET_COMMANDS:
            known = ", ".join(("status", *SOCKET_COMMANDS[:-1])) + f" or {SOCKET_COMMANDS[-1]}"
            return {"ok": False, "error": f"unknown op {op!r}: {known}"}
        try:
            command = None if op == "status" else _command(op, request)
            if isinstance(command, Start) and command.routine is not None:
                started = ops.start(command.routine, Origin.SOCKET)
                if inspect.isawaitable(started):  # the session began, or Refused
                    await started
            elif command is not None:
                carry_out(ops, command, Origin.SOCKET)
        except (_BadRequest, Refused) as error:
            return {"ok": False, "error": str(error)}
        except Exception as error:  # a bug must not end the service
            log.exception("control socket: %s failed", op)
            return {"ok": False, "error": f"{op} failed: {error}"}
        return {"ok": True, "status": ops.snapshot().as_dict()}


class _BadRequest(ValueError):
    """A request whose fields do not fit the command; nothing was done."""


_FIELD_TYPES = {Kind.WHOLE: int, Kind.SWITCH: bool, Kind.NAME: str}


def _command(op: str, request: dict[str, object]) -> Command:
    """The vocabulary's command from a request's fields, named as the command's arguments
    (`{"op": "start", "routine": "relax"}`). The socket has no chosen routine to fall back on,
    so every argument is required here."""
    values: dict[str, object] = {}
    for argument in OPERATIONS[op].arguments:
        value = request.get(argument.name)
        wanted = _FIELD_TYPES[argument.kind]
        # bool is an int to Python; a switch's true is not a number of minutes.
        if not isinstance(value, wanted) or (wanted is int and isinstance(value, bool)):
            raise _BadRequest(f'{op} needs "{argument.name}": {argument.help}')
        if argument.kind is Kind.WHOLE and isinstance(value, int) \
                and not argument.low <= value <= argument.high:
            raise _BadRequest(f'{op}: "{argument.name}" {value} is outside '
                              f"{argument.low}..{argument.high}{argument.unit}")
        values[argument.name] = value
    return build(op, values)


async def _answers(path: Path) -> bool:
    try:
        await ask(path, {"op": "status"}, timeout_s=1.0)
    except (OSError, TimeoutError, ValueError):
        return False
    return True


async def ask(path: Path, request: dict[str, object],
              timeout_s: float = 5.0) -> dict[str, object]:
    """Send one request to a service's control socket and return its reply."""
    reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(str(path)), timeout_s)
    try:
        writer.write((json.dumps(request) + "\n").encode())
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout_s)
        return json.loads(line)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
