"""`massagectl serve` with MQTT on: a killed service is reported offline by its will."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from .harness import observing

NODE = "killed_chair"
AVAILABILITY = f"massagectl/{NODE}/availability"
EXIT_TIMEOUT_S = 10.0


def test_the_service_killed_gives_offline_from_the_will(tmp_path, broker, run_real_time):
    config = tmp_path / "config.toml"
    config.write_text(f'[logs]\ndirectory = "state"\n[mqtt]\nenabled = true\n'
                      f'host = "{broker.host}"\nport = {broker.port}\nnode_id = "{NODE}"\n')
    environment = {**os.environ, "XDG_RUNTIME_DIR": str(tmp_path / "run")}
    service = subprocess.Popen(
        [sys.executable, "-m", "massagectl", "serve", "--config", str(config), "--no-scan"],
        env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    async def scenario():
        async with observing(broker, AVAILABILITY) as seen:
            await seen.wait_for(AVAILABILITY, lambda m: m.payload == b"online")
            service.send_signal(signal.SIGKILL)  # no goodbye: only the will can say it
            await seen.wait_for(AVAILABILITY, lambda m: m.payload == b"offline")

    try:
        run_real_time(scenario())
    finally:
        service.kill()
        service.wait(EXIT_TIMEOUT_S)
