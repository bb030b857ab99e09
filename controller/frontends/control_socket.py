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

Bad input never reaches the chair: a line longer than MAX_REQUEST_BYTES, text that is not a
JSON object, an unknown op, a missing field: a reply with the error, and the connection stays
usable. A client that floods gets its requests answered in turn, at most MAX_REQUESTS_PER_S;
a client that goes away mid-request is forgotten.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from pathlib import Path

from massagectl.controller.config import default_state_dir
from massagectl.controller.service.operations import ChairOperations, Origin, Refused

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 4096  # a request is a few words; more is junk, not a command
MAX_REQUESTS_PER_S = 50  # a flooding client is slowed down to this, not the service
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
        ops, origin = self.ops, Origin.SOCKET
        op = request["op"]
        try:
            if op == "status":
                pass
            elif op == "stop":
                ops.stop(origin, "massagectl stop")
            elif op == "start":
                routine = request.get("routine")
                if not isinstance(routine, str):
                    return {"ok": False, "error": 'start needs "routine": a routine name'}
                started = ops.start(routine, origin)
                if started is not None:
                    await started
            else:
                return {"ok": False, "error": f"unknown op {op!r}: status, start or stop"}
        except Refused as error:
            return {"ok": False, "error": str(error)}
        except Exception as error:  # a bug must not end the service
            log.exception("control socket: %s failed", op)
            return {"ok": False, "error": f"{op} failed: {error}"}
        return {"ok": True, "status": ops.snapshot().as_dict()}


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
