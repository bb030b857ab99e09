"""The command vocabulary is defined once, and every front-end speaks it."""

from __future__ import annotations

import asyncio
import json
import typing
from dataclasses import fields
from pathlib import Path

import pytest

from massagectl.controller.frontends.control_socket import SOCKET_COMMANDS, ControlSocket
from massagectl.controller.frontends.remote_menu import Action, RemoteMenu, Screen
from massagectl.controller.service.operations import (
    TIMER_CHOICES_MIN,
    ChairSnapshot,
    ChairState,
    Origin,
    RoutineChoice,
)
from massagectl.controller.service.vocabulary import (
    OPERATIONS,
    ChooseRoutine,
    Kind,
    SetIntensity,
    Start,
    Stop,
    ToggleHeat,
    argument,
    carry_out,
)
from massagectl.firmware_bridge.messages import RemoteKey
from massagectl.mqtt_bridge.commands import MQTT_COMMANDS
from massagectl.routines.intensity import LEVELS


class Recorder:
    """Operations that record what was asked of them."""

    def __init__(self, heat_on: bool = False) -> None:
        self.calls: list[tuple] = []
        self.heat_on = heat_on

    def snapshot(self) -> ChairSnapshot:
        return ChairSnapshot(ChairState.RUNNING, "SN-1", heat_on=self.heat_on)

    def __getattr__(self, name: str):
        def operation(*args):
            self.calls.append((name, *args))
            return {"set_heat": args[0], "clear_faults": ()}.get(name, args[0] if args else "")
        return operation


def test_every_operation_names_exactly_its_commands_fields():
    for word, operation in OPERATIONS.items():
        assert operation.word == word
        assert [a.name for a in operation.arguments] == [
            f.name for f in fields(operation.command)], word
        for arg in operation.arguments:
            assert arg.help, f"{word}.{arg.name} has no help text"
            if arg.kind is Kind.WHOLE:
                assert arg.low <= arg.high


def test_every_front_end_offers_commands_of_the_vocabulary_only():
    assert set(MQTT_COMMANDS) <= set(OPERATIONS)
    assert set(SOCKET_COMMANDS) <= set(OPERATIONS)
    vocabulary = {operation.command for operation in OPERATIONS.values()}
    assert set(typing.get_args(Action)) <= vocabulary


def test_ranges_come_from_the_chairs_own_limits():
    assert (argument("intensity", "level").low, argument("intensity", "level").high) == (
        min(LEVELS), max(LEVELS))
    assert argument("timer", "minutes").choices == TIMER_CHOICES_MIN
    menu = RemoteMenu([RoutineChoice("relax", 600.0, True)])
    idle = ChairSnapshot(ChairState.IDLE, "SN-1")
    menu.press(RemoteKey.BACK, idle)
    menu.press(RemoteKey.DOWN, idle)
    menu.press(RemoteKey.OK, idle)
    assert menu.screen(idle) is Screen.TIMER
    assert menu._items(Screen.TIMER, idle) == list(TIMER_CHOICES_MIN)


@pytest.mark.parametrize(("command", "origin", "call", "done"), [
    (Stop(), Origin.REMOTE, ("stop", Origin.REMOTE, "STOP key on the remote"), "stopped"),
    (Stop(), Origin.MQTT, ("stop", Origin.MQTT, "stop command over MQTT"), "stopped"),
    (Stop(), Origin.SOCKET, ("stop", Origin.SOCKET, "massagectl stop"), "stopped"),
    (Start("relax"), Origin.SOCKET, ("start", "relax", Origin.SOCKET), "started relax"),
    (SetIntensity(5), Origin.MQTT, ("set_intensity", 5, Origin.MQTT), "intensity 5"),
    (ToggleHeat(), Origin.REMOTE, ("set_heat", True, Origin.REMOTE), "heat ON"),
])
def test_carry_out_goes_through_the_operations(command, origin, call, done):
    ops = Recorder()
    assert carry_out(ops, command, origin) == done
    assert ops.calls == [call]


def test_the_front_ends_own_choices_are_not_the_chairs():
    for command in (ChooseRoutine("relax"), Start(None)):
        with pytest.raises(ValueError):
            carry_out(Recorder(), command, Origin.MQTT)


def test_the_control_socket_checks_fields_against_the_vocabulary(tmp_path: Path):
    socket = ControlSocket(tmp_path / "chair.sock")
    socket.ops = Recorder()

    def reply(request: object) -> dict:
        return asyncio.run(socket.handle(json.dumps(request).encode()))

    assert reply({"op": "start"}) == {"ok": False,
                                      "error": 'start needs "routine": a routine name'}
    assert reply({"op": "start", "routine": 3})["ok"] is False
    assert reply({"op": "dance"}) == {"ok": False,
                                      "error": "unknown op 'dance': status, start or stop"}
    assert reply({"op": "start", "routine": "relax"})["ok"] is True
    assert reply({"op": "stop"})["ok"] is True
    assert socket.ops.calls == [("start", "relax", Origin.SOCKET),
                                ("stop", Origin.SOCKET, "massagectl stop")]
