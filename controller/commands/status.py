"""`massagectl status`, `start` and `stop`: ask a running chair service through its socket."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from massagectl.controller.frontends.control_socket import ask, socket_path
from massagectl.controller.frontends.remote_menu import clock_text

EXIT_NO_SERVICE = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    status = subparsers.add_parser("status", help="the chair service's state",
                                   description="Print the state of a running `massagectl "
                                   "serve` (exit 1 when none answers).")
    status.add_argument("--json", action="store_true", help="print it as one JSON object")
    start = subparsers.add_parser("start", help="start a routine on the chair service")
    start.add_argument("routine", metavar="ROUTINE", help="a built-in or the owner's routine")
    stop = subparsers.add_parser("stop", help="stop the chair service's session (safe stop)")
    for parser, handler in ((status, status_command), (start, start_command),
                            (stop, stop_command)):
        parser.add_argument("--chair", default=None, metavar="ID",
                            help="which service, when several run on this machine")
        parser.set_defaults(handler=handler)


def _ask(args: argparse.Namespace, request: dict[str, object]) -> dict[str, object] | None:
    path = socket_path(args.chair)
    try:
        return asyncio.run(ask(path, request))
    except (OSError, TimeoutError, ValueError) as error:
        print(f"massagectl {args.command}: no chair service answers on {path} ({error}); "
              "start one with `massagectl serve`", file=sys.stderr)
        return None


def status_command(args: argparse.Namespace) -> int:
    reply = _ask(args, {"op": "status"})
    if reply is None:
        return EXIT_NO_SERVICE
    status = _status_of(args, reply)
    if status is None:
        return 1
    if args.json:
        print(json.dumps(status))
        return 0
    print(describe(status))
    return 0


def describe(status: dict) -> str:
    lines = [f"{status['chair_id']}: {status['state']}"]
    if status.get("routine"):
        lines.append(f"routine: {status['routine']} ({status.get('step') or '-'}), "
                     f"{clock_text(status['remaining_s'])} left")
    lines.append(f"intensity {status['intensity']}/5, heat {'on' if status['heat_on'] else 'off'}"
                 + (f", timer {status['timer_min']} min" if status.get("timer_min") else "")
                 + f", user {status['user']}")
    lines += [f"fault: {fault}" for fault in status.get("faults", [])]
    if status.get("connection_detail"):
        lines.append(f"connection: {status['connection_detail']}")
    return "\n".join(lines)


def start_command(args: argparse.Namespace) -> int:
    return _command(args, {"op": "start", "routine": args.routine})


def stop_command(args: argparse.Namespace) -> int:
    return _command(args, {"op": "stop"})


def _command(args: argparse.Namespace, request: dict[str, object]) -> int:
    reply = _ask(args, request)
    if reply is None:
        return EXIT_NO_SERVICE
    status = _status_of(args, reply)
    if status is None:
        return 1
    print(describe(status))
    return 0


def _status_of(args: argparse.Namespace, reply: dict[str, object]) -> dict | None:
    """The chair's state from a reply, or None when the service refused (said on stderr)."""
    status = reply.get("status")
    if reply.get("ok") and isinstance(status, dict):
        return status
    error = reply.get("error") or "the chair service answered without its state"
    print(f"massagectl {args.command}: {error}", file=sys.stderr)
    return None
