"""Chair services on the built-in simulator with the MQTT bridge, on a real-time loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

from massagectl.controller.config import Config, SessionSettings
from massagectl.controller.service.core import ChairService
from massagectl.mqtt_bridge.bridge import MqttBridge
from tests.controller.service_rig import service_options

from .broker import Mosquitto
from .harness import settings_for

CONNECT_TIMEOUT_S = 30.0


@asynccontextmanager
async def service_with_bridge(folder: Path, broker: Mosquitto, *, remote_start: bool = True,
                              serial: int | str = 1, **bridge_options,
                              ) -> AsyncIterator[tuple[ChairService, MqttBridge]]:
    options = service_options(folder)
    config = options.config.model_copy(update={
        "session": SessionSettings(body_scan=False, allow_remote_start=remote_start)})
    service = ChairService(replace(options, config=Config.model_validate(config.model_dump()),
                                   simulator_serial=serial))
    bridge = MqttBridge(settings_for(broker, **bridge_options), service.device,
                        readings=lambda: service.chair.readings if service.chair else {})
    await service.open([bridge])
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            await service.wait_connected()
            await bridge.wait_connected()
        yield service, bridge
    finally:
        await service.close()
