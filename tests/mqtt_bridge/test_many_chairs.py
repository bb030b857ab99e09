"""Twenty chair services, each with its own simulator, on one broker: nothing collides."""

from __future__ import annotations

import json
from contextlib import AsyncExitStack

from .harness import observing
from .service_chairs import service_with_bridge

CHAIRS = 20
SEVENTH = "massagectl/chair_sim-chair-7"


def test_twenty_chairs_on_one_broker(tmp_path, broker, run_real_time):
    # Each simulated board has its own serial number; the topics' ids come from it.
    serials = {f"chair_sim-chair-{n}": n for n in range(1, CHAIRS + 1)}
    nodes = list(serials)

    async def scenario():
        async with observing(broker, "massagectl/+/state", "homeassistant/+/+/+/config",
                             "massagectl/+/response") as seen, AsyncExitStack() as stack:
            services = {}
            for node in nodes:
                service, _ = await stack.enter_async_context(
                    service_with_bridge(tmp_path / node, broker, serial=serials[node]))
                services[node] = service
            for node in nodes:
                await seen.wait_for(f"massagectl/{node}/state")
            await seen.client.publish(f"{SEVENTH}/intensity/set", "5", qos=1)
            answer = await seen.wait_json(f"{SEVENTH}/response")
            await seen.wait_json(f"{SEVENTH}/state", lambda s: s["intensity"] == 5)
            intensities = {node: service.snapshot().intensity
                           for node, service in services.items()}
            configs = list({str(m.topic): json.loads(m.payload) for m in seen.messages
                            if str(m.topic).endswith("/config") and m.payload}.values())
            return answer, intensities, configs

    answer, intensities, configs = run_real_time(scenario())
    assert answer["detail"] == "intensity 5"
    assert intensities == {node: 5 if node == "chair_sim-chair-7" else 3 for node in nodes}
    unique_ids = [config["unique_id"] for config in configs]
    assert len(unique_ids) == len(set(unique_ids))
    assert len({tuple(config["device"]["identifiers"]) for config in configs}) == CHAIRS
