"""The chair service driven from the simulated handheld remote, in virtual time: every screen's
text, and what the board does after each key."""

from __future__ import annotations

import asyncio

import pytest

from massagectl.controller.service.operations import ChairState, Origin
from massagectl.firmware_bridge.messages import DeviceState
from massagectl.firmware_bridge.messages import RemoteKey as K
from massagectl.routines.intensity import intensity_factor
from tests.controller.service_rig import display, press, running_service


def channel_enabled(service, channel_id: str) -> bool:
    board = service.simulator.board
    return bool(board.enabled_mask >> service.device.channel_index(channel_id) & 1)


def test_the_menu_walked_from_the_remote(tmp_path, run_virtual_time):
    seen = {}

    async def walk():
        async with running_service(tmp_path) as service:
            board = service.simulator.board
            seen["home"] = display(service)
            seen["chosen"] = await press(service, K.UP, K.UP)
            seen["started"] = await press(service, K.OK)
            await asyncio.sleep(30.0)
            seen["running"] = display(service)
            seen["stronger"] = await press(service, K.INTENSITY_UP)
            seen["scale"] = board.intensity_scale
            seen["heat_off"] = await press(service, K.HEAT)
            seen["heat_enabled"] = channel_enabled(service, "heat_calves")
            seen["options"] = await press(service, K.OK)
            seen["timer"] = await press(service, K.OK)
            seen["timer_set"] = await press(service, K.OK)  # 10 min
            seen["zones"] = await press(service, K.DOWN, K.OK)
            seen["calves"] = await press(service, K.DOWN, K.DOWN, K.DOWN, K.DOWN)
            seen["calves_off"] = await press(service, K.OK)
            seen["calves_enabled"] = channel_enabled(service, "airbag_calves")
            seen["back_running"] = await press(service, K.BACK, K.BACK)
            seen["paused"] = await press(service, K.START_PAUSE)
            await asyncio.sleep(5.0)
            seen["safe_while_paused"] = board.outputs_safe()
            seen["resumed"] = await press(service, K.OK)
            seen["state_resumed"] = service.state()
            seen["stopped"] = await press(service, K.STOP)
            seen["after_stop"] = (board.state, board.outputs_safe(), service.state())
            seen["summary"] = service.snapshot().last_session

    run_virtual_time(walk())
    assert seen["home"] == ("Choose (default)    ", ">cold_therapy    14m",
                            " deep_tissue     20m", " energising_tap  12m")
    # Up from the top wraps to the owner's own routines, after the built-in ones.
    assert seen["chosen"] == ("Choose (default)    ", " trigger_point_r 16m",
                              ">short_mix        2m", " tiny            15s")
    assert seen["started"] == ("short_mix      02:20", "warm-up             ",
                               "int 3/5 heat        ", "OK:options          ")
    assert seen["running"] == ("short_mix      01:51", "heat + knead        ",
                               "int 3/5 heat        ", "OK:options          ")
    assert seen["stronger"][2] == "int 4/5 heat        "
    assert seen["scale"] == pytest.approx(intensity_factor(4), abs=0.001)
    assert seen["heat_off"][2] == "int 4/5             "
    assert not seen["heat_enabled"]
    # Heat off is the heat key's choice, not a zone switched off.
    assert seen["options"] == ("Options             ", ">Timer             -",
                               " Zones           all", "                    ")
    assert seen["timer"] == ("Timer               ", ">10 min             ",
                             " 15 min             ", " 20 min             ")
    assert seen["timer_set"][1] == ">Timer           10m"
    assert seen["zones"] == ("Zones OK:on/off     ", ">shoulders        on",
                             " lower_back       on", " seat             on")
    assert seen["calves"] == ("Zones OK:on/off     ", " arms             on",
                              ">calves           on", " feet             on")
    assert seen["calves_off"][2] == ">calves          off"
    assert not seen["calves_enabled"]
    assert seen["back_running"][2] == "int 4/5 10m         "
    assert seen["paused"][1:3] == ("Paused              ", "OK:resume STOP:end  ")
    assert seen["safe_while_paused"]
    assert seen["resumed"][2] == "int 4/5 10m         "
    assert seen["state_resumed"] is ChairState.RUNNING
    assert seen["stopped"] == seen["chosen"]  # home again, the routine still highlighted
    assert seen["after_stop"] == (DeviceState.SHUTDOWN, True, ChairState.IDLE)
    assert seen["summary"].ended_how == "stopped" and seen["summary"].origin == "remote"


def test_a_fault_asks_before_it_is_cleared(tmp_path, run_virtual_time):
    seen = {}

    async def fault_then_clear():
        async with running_service(tmp_path) as service:
            await press(service, K.UP, K.OK)  # tiny
            await asyncio.sleep(5.0)
            service.simulator.driver.inject_fault("motor_stall", "roller_position")
            await asyncio.sleep(15.0)
            seen["fault"] = display(service)
            seen["board_latched"] = service.chair.link.board_fault
            seen["start_refused"] = await press(service, K.START_PAUSE)
            seen["confirm"] = await press(service, K.OK)
            seen["not_yet"] = await press(service, K.BACK)
            service.simulator.driver.clear_fault("motor_stall", "roller_position")
            await press(service, K.OK)
            seen["clearing"] = await press(service, K.OK)
            for _ in range(50):  # the board clears its own latch, then confirms it is safe
                if service.state() is ChairState.IDLE:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.2)
            seen["cleared"] = display(service)
            seen["state"] = service.state()
            seen["board_latch"] = service.chair.link.board_fault
            await press(service, K.OK)  # the next session starts on the board it cleared
            await asyncio.sleep(3.0)
            seen["next"] = service.state()

    run_virtual_time(fault_then_clear())
    assert seen["fault"][:2] == ("FAULT               ", "motor stall         ")
    assert seen["fault"][3] == "OK:clear            "
    assert seen["start_refused"] == seen["fault"]  # nothing starts over a fault
    assert seen["confirm"][:2] == ("Chair checked?      ", "OK:clear BACK:no    ")
    assert seen["not_yet"] == seen["fault"]
    assert seen["cleared"][0] == "Choose (default)    "
    assert seen["state"] is ChairState.IDLE
    assert seen["board_latched"] is not None  # the board holds it too, until ClearFault
    assert seen["board_latch"] is None
    assert seen["next"] is ChairState.RUNNING


def test_three_sessions_back_to_back(tmp_path, run_virtual_time):
    ended = []

    async def three():
        async with running_service(tmp_path) as service:
            for _ in range(3):
                service.start("tiny", Origin.SOCKET)
                while service.state() is not ChairState.IDLE:
                    await asyncio.sleep(0.5)
                ended.append((service.snapshot().last_session, display(service)[0],
                              service.simulator.board.outputs_safe()))
            ended.append(len(service.history.sessions))

    run_virtual_time(three())
    assert [summary.ended_how for summary, _, _ in ended[:3]] == ["finished"] * 3
    assert all(row == "Choose (default)    " and safe for _, row, safe in ended[:3])
    assert ended[3] == 3


def test_key_storm_and_keys_while_disconnected_change_nothing(tmp_path, run_virtual_time):
    seen = {}

    async def storm():
        async with running_service(tmp_path) as service:
            await press(service, K.UP, K.OK)
            await asyncio.sleep(5.0)
            for _ in range(300):  # a stuck key: 300 presses in 0.3 s
                service.press_key(K.INTENSITY_UP)
                await asyncio.sleep(0.001)
            await asyncio.sleep(0.5)
            seen["level"] = service.snapshot().intensity
            service.stop(Origin.SOCKET)
            await asyncio.sleep(2.0)
            service.simulator.driver.inject_fault("unplug")
            await asyncio.sleep(3.0)
            seen["away"] = service.state()
            service.simulator.board.remote.press(K.OK, asyncio.get_running_loop().time())
            # Plugged back in: on the board itself, which outlives its lines (the service may be
            # between two attempts to open one, with no line and so no driver at this moment).
            service.simulator.board.clear_fault("unplug", now_s=asyncio.get_running_loop().time())
            for _ in range(100):
                await asyncio.sleep(0.5)
                if service.state() is ChairState.IDLE:
                    break
            await asyncio.sleep(1.5)
            seen["back"] = (service.state(), display(service)[0])

    run_virtual_time(storm())
    # A key repeating every millisecond is a stuck key: one press, not 300.
    assert seen["level"] == 4
    assert seen["away"] is ChairState.DISCONNECTED
    assert seen["back"] == (ChairState.IDLE, "Choose (default)    ")
