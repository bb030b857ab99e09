"""Reconnection: backoff that grows to a minute and no further, a quiet log for a board that
stays away, an immediate try when its device path comes back."""

from __future__ import annotations

import asyncio
import itertools
import logging

from massagectl.controller.service.reconnect import (
    MAX_BACKOFF_S,
    ConnectionState,
    ReconnectLogic,
)
from massagectl.routines.errors import HandshakeError, PortError


def test_a_board_that_stays_away_is_tried_with_capped_backoff_and_logged_once(
        run_virtual_time, caplog):
    tries: list[float] = []

    async def never() -> None:
        tries.append(asyncio.get_running_loop().time())
        raise PortError("could not open port /dev/ttyUSB0: No such file or directory")

    async def away_for_an_hour():
        logic = ReconnectLogic(never, None, None, name="the chair")
        await logic.start()
        await asyncio.sleep(3600.0)
        state = logic.state
        await logic.stop()
        return state

    with caplog.at_level(logging.DEBUG, logger="massagectl.controller.service.reconnect"):
        state = run_virtual_time(away_for_an_hour())
    gaps = [b - a for a, b in itertools.pairwise(tries)]
    assert state is ConnectionState.DISCONNECTED
    assert gaps[0] < 1.0
    assert all(later >= earlier - 1e-6 for earlier, later in itertools.pairwise(gaps))
    assert max(gaps) <= MAX_BACKOFF_S + 1e-6 and gaps[-1] >= MAX_BACKOFF_S - 1e-6
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "cannot connect to the chair" in warnings[0].getMessage()
    assert len(tries) < 80  # about one a minute once the backoff is at its cap


def test_another_board_waits_the_longest_at_once(run_virtual_time):
    tries: list[float] = []

    async def other_board() -> None:
        tries.append(asyncio.get_running_loop().time())
        error = HandshakeError("the device does not match profile 'chair'")
        error.differences = ["channel 3: knead, not tap"]
        raise error

    async def run():
        logic = ReconnectLogic(other_board, None, None, name="the chair")
        await logic.start()
        await asyncio.sleep(100.0)
        await logic.stop()

    run_virtual_time(run())
    assert len(tries) == 2 and tries[1] - tries[0] >= MAX_BACKOFF_S - 1e-6


def test_the_port_coming_back_is_tried_at_once(tmp_path, run_virtual_time):
    port = tmp_path / "ttyUSB0"
    tries: list[float] = []

    async def until_plugged() -> None:
        tries.append(asyncio.get_running_loop().time())
        raise PortError("gone")

    async def run():
        logic = ReconnectLogic(until_plugged, None, None, name="the chair",
                               port_path=str(port))
        await logic.start()
        await asyncio.sleep(300.0)  # the backoff has reached a minute
        port.touch()  # plugged back in
        plugged_s = asyncio.get_running_loop().time()
        await asyncio.sleep(5.0)
        await logic.stop()
        return plugged_s

    plugged_s = run_virtual_time(run())
    assert any(plugged_s <= t <= plugged_s + 1.0 for t in tries)
