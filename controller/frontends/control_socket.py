"""The local control socket: `massagectl status/start/stop` talk to a running service.

    await service.open([ControlSocket(socket_path("chair"))])
    reply = await ask(socket_path("chair"), {"op": "status"})

A Unix socket in `$XDG_RUNTIME_DIR/massagectl/` (the state folder when that is unset), in a
folder only its owner can enter, the socket itself owner-only. One request per line, one JSON
object each, one JSON reply per request (controller.frontends.control_requests):

    {"op": "status"}                         -> {"ok": true, "status": {...snapshot...}}
    {"op": "start", "routine": "relax"}      -> {"ok": true, "status": ...} or
                                                {"ok": false, "error": "the chair is running ..."}
    {"op": "stop", "id": 2}                  -> {"ok": true, "id": 2, "status": ...}: always
                                                ok, the one stop path

The requests of one connection do not wait for each other:

- a `stop` is carried out and answered the moment its line is read, ahead of every request
  sent before it that is still waiting or under way; a `start` sent before it on the same
  connection and not yet begun is answered "stopped before the routine began" and never
  begins (one being admitted is stopped by the service itself);
- `status` and `start` are taken in the order sent, at most MAX_REQUESTS_PER_S, at most
  MAX_WAITING_REQUESTS waiting (beyond that: answered at once, refused, nothing done);
- a `start` is answered once its session has begun or was refused, which takes milliseconds
  to tens of milliseconds (the admission, in a worker thread): requests after it are served
  meanwhile, so replies may come in another order than the requests. A request's `"id"`
  comes back in its reply.

Bad input never reaches the chair: a line longer than MAX_REQUEST_BYTES, text that is not a
JSON object, an unknown op, a missing field: a reply with the error, and the connection stays
usable. A client that goes away mid-request is forgotten; one that does not read its replies
is let go once MAX_UNREAD_REPLY_BYTES wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Awaitable
from pathlib import Path

from massagectl.controller.config import default_state_dir
from massagectl.controller.frontends.control_requests import (
    SOCKET_COMMANDS,
    STOPPED_BEFORE,
    BadRequest,
    Request,
    answer,
    answer_now,
    parse,
    refusal,
    start_now,
)
from massagectl.controller.service.operations import ChairOperations

__all__ = ["SOCKET_COMMANDS", "ControlSocket", "ask", "socket_folder", "socket_path"]

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 4096  # a request is a few words; more is junk, not a command
MAX_REQUESTS_PER_S = 50  # a flooding client is slowed down to this, not the service
MAX_WAITING_REQUESTS = 32  # per connection; a flood beyond is refused, not kept in memory
MAX_UNREAD_REPLY_BYTES = 1 << 20  # a client that stopped reading is let go, not buffered for
IDLE_CLIENT_S = 60.0  # a client that says nothing for this long is let go
DEFAULT_CHAIR = "chair"


def socket_folder() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    return Path(runtime) / "massagectl" if runtime else default_state_dir()


def socket_path(chair: str | None = None) -> Path:
    return socket_folder() / f"{chair or DEFAULT_CHAIR}.sock"


class _Connection:
    """One client: its replies, and the order of its requests."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        # Requests waiting their turn, with their number in the order read; None: no more.
        self.waiting: asyncio.Queue[tuple[int, Request] | None] = asyncio.Queue()
        self.read = 0  # requests read so far
        self.stopped_at = 0  # the number of the latest stop: a start read before it never begins
        self.answering: set[asyncio.Task] = set()  # starts under way

    def send(self, reply: dict[str, object]) -> None:
        """Queue a reply; never waits (a stop's answer must not wait for a slow reader)."""
        if self.writer.is_closing():
            return
        self.writer.write((json.dumps(reply) + "\n").encode())
        if self.writer.transport.get_write_buffer_size() > MAX_UNREAD_REPLY_BYTES:
            log.warning("control socket: a client does not read its replies; let go")
            self.writer.transport.abort()


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
        connection = _Connection(writer)
        in_turn = asyncio.get_running_loop().create_task(self._serve_in_turn(connection),
                                                         name="control socket requests")
        try:
            while True:
                try:
                    line = await asyncio.wait_for(reader.readline(), IDLE_CLIENT_S)
                except ValueError:  # longer than the limit: answer, then drop the rest
                    connection.send(refusal(f"request longer than {MAX_REQUEST_BYTES} bytes"))
                    break
                if not line:
                    break
                self._take(connection, line)
            connection.waiting.put_nowait(None)  # the client said all: answer it, then close
            await in_turn
            await asyncio.gather(*connection.answering)
        except (TimeoutError, ConnectionError):
            pass
        finally:
            # A start under way goes on in the service; only its answer is not sent.
            for waiting in (in_turn, *connection.answering):
                waiting.cancel()
            await asyncio.gather(in_turn, *connection.answering, return_exceptions=True)
            self._clients.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _take(self, connection: _Connection, line: bytes) -> None:
        """One line read: a stop is done now, anything else waits its turn."""
        connection.read += 1
        try:
            request = parse(line)
        except BadRequest as error:
            connection.send(refusal(str(error), error.request_id))
            return
        if self.ops is None:
            connection.send(refusal("the service is still starting: ask again",
                                    request.request_id))
        elif request.is_stop:
            connection.stopped_at = connection.read
            connection.send(answer_now(self.ops, request))
        elif connection.waiting.qsize() >= MAX_WAITING_REQUESTS:
            connection.send(refusal(f"too many requests: at most {MAX_WAITING_REQUESTS} wait "
                                    f"on one connection, {MAX_REQUESTS_PER_S} are served a "
                                    "second; send fewer", request.request_id))
        else:
            connection.waiting.put_nowait((connection.read, request))

    async def _serve_in_turn(self, connection: _Connection) -> None:
        while (item := await connection.waiting.get()) is not None:
            number, request = item
            ops = self.ops
            assert ops is not None  # requests wait only once the service is up
            if request.is_start and number < connection.stopped_at:
                connection.send(refusal(STOPPED_BEFORE, request.request_id))
            elif request.is_start:
                # Asked now: a stop read from here on finds it under way and cancels it.
                started = asyncio.get_running_loop().create_task(
                    self._answer_start(connection, start_now(ops, request)),
                    name="control socket start")
                connection.answering.add(started)
                started.add_done_callback(connection.answering.discard)
            else:
                connection.send(answer_now(ops, request))
            await asyncio.sleep(1 / MAX_REQUESTS_PER_S)

    @staticmethod
    async def _answer_start(connection: _Connection,
                            reply: Awaitable[dict[str, object]]) -> None:
        connection.send(await reply)

    async def handle(self, line: bytes) -> dict[str, object]:
        """One request line to its reply, carried out now (a start: once it has begun or was
        refused); never raises."""
        try:
            request = parse(line)
        except BadRequest as error:
            return refusal(str(error), error.request_id)
        if self.ops is None:
            return refusal("the service is still starting: ask again", request.request_id)
        return await answer(self.ops, request)


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
