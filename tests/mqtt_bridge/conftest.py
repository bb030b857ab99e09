"""Fixtures for the MQTT tests: brokers of our own, and a real-time loop that checks for leaks."""

from __future__ import annotations

import asyncio

import pytest

from .broker import Mosquitto


@pytest.fixture
def broker(tmp_path):
    with Mosquitto(tmp_path / "broker") as started:
        yield started


@pytest.fixture
def password_broker(tmp_path):
    with Mosquitto(tmp_path / "password_broker", users={"chair": "s3cret"}) as started:
        yield started


@pytest.fixture
def tls_broker(tmp_path):
    with Mosquitto(tmp_path / "tls_broker", tls=True) as started:
        yield started


@pytest.fixture
def run_real_time():
    """Run a coroutine on a real-time loop (MQTT needs real sockets); fail if it leaves
    tasks running."""

    def runner(coroutine):
        async def checked():
            result = await coroutine
            # A client that just left cancels its socket task; let the cancellation land.
            for _ in range(3):
                await asyncio.sleep(0)
            current = asyncio.current_task()
            leftover = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
            if leftover:
                for task in leftover:
                    task.cancel()
                await asyncio.gather(*leftover, return_exceptions=True)
                pytest.fail(f"tasks left running: {[(t.get_name(), t.get_coro()) for t in leftover]}")
            return result

        with asyncio.Runner() as loop_runner:
            return loop_runner.run(checked())

    return runner
