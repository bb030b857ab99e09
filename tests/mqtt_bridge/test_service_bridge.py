"""The bridge inside the real chair service, on the built-in simulator and a real Mosquitto."""

from __future__ import annotations

import asyncio

from massagectl.controller.service.operations import ChairState
from massagectl.firmware_bridge.messages import DeviceState
from massagectl.routines.intensity import intensity_factor

from .harness import observing
from .observer import WAIT_TIMEOUT_S
from .service_chairs import service_with_bridge

NODE = "lounge"
ROOT = f"massagectl/{NODE}"


def test_commands_act_on_the_simulator_and_the_state_reads_back(tmp_path, broker,
                                                                 run_real_time):
    seen_values = {}

    async def scenario():
        async with service_with_bridge(tmp_path, broker, node_id=NODE) as (service, _), \
                observing(broker, f"{ROOT}/#") as seen:
            board = service.simulator.board

            async def command(word: str, value: str) -> dict:
                mark = len(seen.messages)
                await seen.client.publish(f"{ROOT}/{word}/set", value, qos=1)
                return await seen.wait_json(f"{ROOT}/response", after=mark)

            await seen.wait_json(f"{ROOT}/state", lambda s: s["seat_occupied"])
            assert (await command("timer", "10"))["detail"] == "timer 10 min"
            assert (await command("start", "short_mix"))["result"] == "done"
            await seen.wait_json(f"{ROOT}/state", lambda s: s["status"] == "running")
            assert (await command("intensity", "1"))["detail"] == "intensity 1"
            state = await seen.wait_json(f"{ROOT}/state", lambda s: s["intensity"] == 1)
            seen_values["scale"] = board.intensity_scale
            seen_values["timer"] = state["timer_min"]
            assert (await command("heat", "OFF"))["result"] == "done"
            await seen.wait_json(f"{ROOT}/state", lambda s: s["heat"] == "OFF")
            assert (await command("zone/calves", "OFF"))["result"] == "done"
            state = await seen.wait_json(f"{ROOT}/state", lambda s: "calves" in s["zones_off"])
            seen_values["pressures"] = state["pressure_kpa"]
            assert (await command("stop", ""))["detail"] == "stopped"
            await seen.wait_json(f"{ROOT}/state", lambda s: s["status"] in ("idle", "stopping"))
            seen_values["board"] = board.state
            await seen.wait_json(f"{ROOT}/event/session_end")

    run_real_time(scenario())
    assert seen_values["scale"] < intensity_factor(3)
    assert seen_values["timer"] == 10
    assert set(seen_values["pressures"]) == {"shoulders", "arms", "seat", "calves", "feet"}
    assert seen_values["board"] is DeviceState.SHUTDOWN


def test_a_retained_start_published_before_the_service_connects_does_nothing(
        tmp_path, broker, run_real_time):
    async def scenario():
        async with observing(broker, f"{ROOT}/response") as seen:
            await seen.client.publish(f"{ROOT}/start/set", "short_mix", qos=1, retain=True)
            async with service_with_bridge(tmp_path, broker, node_id=NODE) as (service, _):
                answer = await seen.wait_json(f"{ROOT}/response")
                state = service.state()
            await seen.client.publish(f"{ROOT}/start/set", b"", qos=1, retain=True)
        return answer, state

    answer, state = run_real_time(scenario())
    assert answer["result"] == "refused" and "retained" in answer["reason"]
    assert state is ChairState.IDLE


def test_start_is_refused_unless_the_owner_allowed_remote_start(tmp_path, broker,
                                                                run_real_time):
    async def scenario():
        async with service_with_bridge(tmp_path, broker, node_id=NODE, remote_start=False) as (
                service, _), observing(broker, f"{ROOT}/response") as seen:
            await seen.client.publish(f"{ROOT}/start/set", "short_mix", qos=1)
            return await seen.wait_json(f"{ROOT}/response"), service.state()

    answer, state = run_real_time(scenario())
    assert answer["reason"] == ("home automation may not start a routine (allow it in the "
                                "remote's settings)")
    assert state is ChairState.IDLE


def test_the_broker_killed_and_restarted_mid_session(tmp_path, broker, run_real_time):
    config = f"homeassistant/number/{NODE}/intensity/config"

    async def scenario():
        async with service_with_bridge(tmp_path, broker, node_id=NODE) as (service, bridge):
            async with observing(broker, f"{ROOT}/#") as seen:
                await seen.wait_json(f"{ROOT}/state", lambda s: s["seat_occupied"])
                await seen.client.publish(f"{ROOT}/start/set", "short_mix", qos=1)
                answer = await seen.wait_json(f"{ROOT}/response")
                assert answer["result"] == "done", answer
            # Off the loop: the chair runs on it in real time, and a loop held up for a second
            # (a broker slow to start on a loaded machine) loses the board's link and stops
            # the session, which is what a chair must do, not what this test is about.
            # Persistence is off: the broker forgets every retained message.
            await asyncio.to_thread(broker.kill)
            async with asyncio.timeout(WAIT_TIMEOUT_S):
                while bridge.state.value == "ready":
                    await asyncio.sleep(0.05)  # bounded polling: the bridge has no event for it
            still_running = service.state()
            await asyncio.to_thread(broker.start)
            async with observing(broker, f"{ROOT}/#", config) as seen:
                assert (await seen.wait_for(f"{ROOT}/availability")).payload == b"online"
                await seen.wait_for(config)
                state = await seen.wait_json(f"{ROOT}/state")
            return still_running, state, service.state()

    still_running, state, after = run_real_time(scenario())
    assert still_running is ChairState.RUNNING
    assert state["status"] == "running" and after is ChairState.RUNNING
