"""One control-socket request: parsed from its line, then carried out on the chair's operations.

    request = parse(b'{"op": "start", "routine": "relax", "id": 7}')   # or raises BadRequest
    reply = await answer(ops, request)    # {"ok": true, "id": 7, "status": {...}}

`start` and `stop` are the service's commands (controller.service.vocabulary), their fields
named as the commands' arguments; `status` only reads. A request may carry `"id"` (a string up
to MAX_ID_CHARS characters, or a whole number); its reply carries the same `"id"`, so a client
that sends several requests on one connection can tell their replies apart (controller.
frontends.control_socket: a stop is answered before a start sent ahead of it).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Awaitable
from dataclasses import dataclass

from massagectl.controller.service.operations import ChairOperations, Origin, Refused
from massagectl.controller.service.vocabulary import (
    OPERATIONS,
    Command,
    Kind,
    Start,
    Stop,
    build,
    carry_out,
)

log = logging.getLogger(__name__)

SOCKET_COMMANDS = ("start", "stop")  # of the service's vocabulary; "status" only reads
MAX_ID_CHARS = 128  # an id names a request; a longer one is junk, and it is echoed back
STOPPED_BEFORE = "stopped before the routine began"

RequestId = str | int | None


class BadRequest(ValueError):
    """A request that is not one, or whose fields do not fit its command; nothing was done."""

    def __init__(self, message: str, request_id: RequestId = None) -> None:
        super().__init__(message)
        self.request_id = request_id


@dataclass(frozen=True)
class Request:
    op: str  # "status", "start" or "stop"
    command: Command | None  # None for status
    request_id: RequestId = None

    @property
    def is_stop(self) -> bool:
        return isinstance(self.command, Stop)

    @property
    def is_start(self) -> bool:
        return isinstance(self.command, Start)


def parse(line: bytes) -> Request:
    """The request on one line; BadRequest (with the request's id, when it had a usable one)
    says what is wrong in the client's words."""
    try:
        document = json.loads(line)
    except ValueError:
        raise BadRequest('not JSON: send one JSON object per line, e.g. {"op": "status"}') \
            from None
    if not isinstance(document, dict):
        raise BadRequest('a request is a JSON object with "op"')
    request_id = _request_id(document)
    op = document.get("op")
    if not isinstance(op, str):
        raise BadRequest('a request is a JSON object with "op"', request_id)
    if op != "status" and op not in SOCKET_COMMANDS:
        known = ", ".join(("status", *SOCKET_COMMANDS[:-1])) + f" or {SOCKET_COMMANDS[-1]}"
        raise BadRequest(f"unknown op {op!r}: {known}", request_id)
    command = None if op == "status" else _command(op, document, request_id)
    return Request(op, command, request_id)


def _request_id(document: dict[str, object]) -> RequestId:
    value = document.get("id")
    if value is None:
        return None
    if isinstance(value, str) and len(value) <= MAX_ID_CHARS:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise BadRequest(f'"id" is a string of up to {MAX_ID_CHARS} characters or a whole number')


_FIELD_TYPES = {Kind.WHOLE: int, Kind.SWITCH: bool, Kind.NAME: str}


def _command(op: str, request: dict[str, object], request_id: RequestId) -> Command:
    """The vocabulary's command from a request's fields, named as the command's arguments
    (`{"op": "start", "routine": "relax"}`). The socket has no chosen routine to fall back on,
    so every argument is required here."""
    values: dict[str, object] = {}
    for argument in OPERATIONS[op].arguments:
        value = request.get(argument.name)
        wanted = _FIELD_TYPES[argument.kind]
        # bool is an int to Python; a switch's true is not a number of minutes.
        if not isinstance(value, wanted) or (wanted is int and isinstance(value, bool)):
            raise BadRequest(f'{op} needs "{argument.name}": {argument.help}', request_id)
        if argument.kind is Kind.WHOLE and isinstance(value, int) \
                and not argument.low <= value <= argument.high:
            raise BadRequest(f'{op}: "{argument.name}" {value} is outside '
                             f"{argument.low}..{argument.high}{argument.unit}", request_id)
        values[argument.name] = value
    return build(op, values)


def refusal(message: str, request_id: RequestId = None) -> dict[str, object]:
    return _with_id({"ok": False, "error": message}, request_id)


def _with_id(reply: dict[str, object], request_id: RequestId) -> dict[str, object]:
    return reply if request_id is None else {"ok": reply["ok"], "id": request_id,
                                             **{k: v for k, v in reply.items() if k != "ok"}}


def answer_now(ops: ChairOperations, request: Request) -> dict[str, object]:
    """Carry out a status or a stop and return its reply, before returning (no await: a stop
    is on its way to the board when this returns). Never raises."""
    try:
        if request.is_start:
            raise ValueError("a start is answered by answer(), once it has begun")
        if request.command is not None:
            carry_out(ops, request.command, Origin.SOCKET)
    except Refused as error:
        return refusal(str(error), request.request_id)
    except Exception as error:  # a bug must not end the service
        log.exception("control socket: %s failed", request.op)
        return refusal(f"{request.op} failed: {error}", request.request_id)
    return _with_id({"ok": True, "status": ops.snapshot().as_dict()}, request.request_id)


async def answer(ops: ChairOperations, request: Request) -> dict[str, object]:
    """Carry the request out; its reply. Never raises. A start is answered once the session
    has begun or its routine was refused; anything else as `answer_now`."""
    if not request.is_start:
        return answer_now(ops, request)
    return await start_now(ops, request)


def start_now(ops: ChairOperations, request: Request) -> Awaitable[dict[str, object]]:
    """Ask the service to start now (before this returns, so a stop after it finds the start
    under way and cancels it); awaiting the result gives the reply, once the session has begun
    or the start was refused. The admission runs off the service's loop, so a stop meanwhile
    acts at once."""
    command = request.command
    assert isinstance(command, Start) and command.routine is not None  # parse() requires it
    try:
        started = ops.start(command.routine, Origin.SOCKET)
    except Refused as error:
        return _ready(refusal(str(error), request.request_id))
    except Exception as error:  # a bug must not end the service
        log.exception("control socket: start failed")
        return _ready(refusal(f"start failed: {error}", request.request_id))
    return _finish_start(ops, request, started)


async def _ready(reply: dict[str, object]) -> dict[str, object]:
    return reply


async def _finish_start(ops: ChairOperations, request: Request,
                        started: object) -> dict[str, object]:
    try:
        if inspect.isawaitable(started):  # the session began, or Refused
            # Shielded: a client that leaves (its connection's tasks cancelled) must not
            # cancel the service's own start.
            await asyncio.shield(started)
    except Refused as error:
        return refusal(str(error), request.request_id)
    except Exception as error:  # a bug must not end the service
        log.exception("control socket: start failed")
        return refusal(f"start failed: {error}", request.request_id)
    return _with_id({"ok": True, "status": ops.snapshot().as_dict()}, request.request_id)
