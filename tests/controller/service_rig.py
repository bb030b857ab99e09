"""A chair service on the built-in simulator, for tests in virtual time."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from pathlib import Path

from massagectl.controller.config import Config, LogSettings
from massagectl.controller.frontends.handheld import HandheldRemote
from massagectl.controller.service.core import ChairService, ServiceOptions
from massagectl.firmware_bridge.messages import RemoteKey
from tests.controller.sessions import TINY
from tests.controller.test_session_controls import SHORT_ROUTINE

# Key presses reach the board, the host, the menu and the display back within this (a few
# 115200 baud frames each way); tests wait this long in virtual time after a key.
KEY_SETTLE_S = 0.2



def service_options(folder: Path, **overrides) -> ServiceOptions:
    routines = folder / "routines"
    routines.mkdir(parents=True, exist_ok=True)
    (routines / "short_mix.toml").write_text(SHORT_ROUTINE)
    (routines / "tiny.toml").write_text(TINY)
    options = dict(config=Config(logs=LogSettings(directory=folder / "state")), body_scan=False,
                   routine_folder=routines, user_folder=folder / "users")
    return ServiceOptions(**(options | overrides))


@asynccontextmanager
async def running_service(folder: Path, **overrides):
    service = ChairService(service_options(folder, **overrides))
    remote = HandheldRemote()
    await service.open([remote])
    try:
        await asyncio.wait_for(service.wait_connected(), 30)
        await asyncio.sleep(KEY_SETTLE_S)
        yield service
    finally:
        await service.close()


async def press(service: ChairService, *keys: RemoteKey) -> tuple[str, ...]:
    """Press keys on the simulated remote one after another; the display afterwards."""
    for key in keys:
        service.press_key(key)
        await asyncio.sleep(KEY_SETTLE_S)
    return display(service)


def display(service: ChairService) -> tuple[str, ...]:
    return tuple(service.simulator.board.remote.rows)
