"""What the chair service keeps and learns: latched faults and the session history across a
restart, sensitive spots and trigger points in the user profile, refusals in plain words."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

from massagectl.controller.service.operations import (
    ChairState,
    Origin,
    ProfileChanged,
    Refused,
    SessionEnded,
)
from massagectl.controller.service.users import UserFolder
from massagectl.firmware_bridge.messages import RemoteKey as K
from massagectl.routines.compiler import compile_routine
from massagectl.routines.device import load_device
from massagectl.routines.routine import load_routine
from massagectl.routines.user import UserProfile
from massagectl.safety.admission import admit
from massagectl.safety.chair_record import ChairRecord
from massagectl.safety.verdicts import AdmittedPlan
from tests.controller.service_rig import display, press, running_service

CHAIR = load_device("chair")


async def until(predicate, limit_s: float = 120.0, step_s: float = 0.05) -> None:
    loop = asyncio.get_running_loop()
    deadline_s = loop.time() + limit_s
    while not predicate():
        assert loop.time() < deadline_s, "condition not met in time"
        await asyncio.sleep(step_s)


def test_a_latched_fault_and_the_history_survive_a_restart(tmp_path, run_virtual_time):
    seen = {}

    async def fault_then_restart():
        async with running_service(tmp_path) as service:
            service.start("tiny", Origin.SOCKET)
            await asyncio.sleep(5.0)
            service.simulator.driver.inject_fault("motor_stall", "roller_position")
            await until(lambda: service.state() is ChairState.FAULT)
            seen["before"] = service.snapshot().faults
            await service.files_writer.flush()  # written off the loop, a moment later
            seen["in_record"] = ChairRecord.load(service.chair_id).is_latched
        async with running_service(tmp_path) as service:  # a new service, a new board
            seen["after"] = service.snapshot()
            seen["folder"] = service.state_folder
            seen["screen"] = display(service)[0]
            with pytest.raises(Refused) as refused:
                service.start("tiny", Origin.SOCKET)
            seen["refused"] = str(refused.value)
            service.clear_faults(Origin.REMOTE)
            await until(lambda: service.state() is not ChairState.FAULT)
            seen["cleared"] = service.state()
            await service.files_writer.flush()
            seen["record_cleared"] = not ChairRecord.load(service.chair_id).is_latched
        async with running_service(tmp_path) as service:
            seen["third"] = service.state()

    run_virtual_time(fault_then_restart())
    assert seen["before"]
    # The safety layer's per-chair record (shared with `massagectl run`) holds it too.
    assert seen["in_record"] and seen["record_cleared"]
    assert seen["after"].state is ChairState.FAULT
    assert seen["after"].faults[0].startswith(seen["before"][0].split(":")[0])
    assert seen["after"].last_session.routine == "tiny"
    assert seen["after"].last_session.ended_how == "fault"
    assert seen["screen"] == "FAULT               "
    assert seen["refused"].startswith("a fault is latched")
    assert seen["cleared"] is ChairState.IDLE and seen["third"] is ChairState.IDLE
    # One folder per board, named by its serial number.
    assert seen["folder"] == tmp_path / "state" / "chairs" / seen["after"].chair_id
    assert seen["after"].chair_id == "SIM-chair-1"
    history = json.loads((seen["folder"] / "sessions.json").read_text())
    assert [s["ended_how"] for s in history["sessions"]] == ["fault"]


def test_the_discomfort_key_lowers_at_once_and_caps_the_next_plan(tmp_path, run_virtual_time):
    seen = {}

    async def too_much():
        async with running_service(tmp_path) as service:
            events = []
            service.subscribe(events.append)
            board = service.simulator.board
            await press(service, K.UP, K.UP, K.OK)  # short_mix: calves held 80 s..110 s
            await until(lambda: service.session is not None
                        and service.session.elapsed_s() >= 95.0)
            before = board.intensity_scale
            loop = asyncio.get_running_loop()
            service.press_key(K.DISCOMFORT)
            pressed_s = loop.time()
            await until(lambda: board.intensity_scale < before, step_s=0.001)
            seen["latency_s"] = loop.time() - pressed_s
            await asyncio.sleep(0.3)
            seen["display"] = display(service)
            service.stop(Origin.SOCKET)
            await until(lambda: service.state() is ChairState.IDLE)
            seen["changes"] = [e.change for e in events if isinstance(e, ProfileChanged)]
            seen["summary"] = next(e.summary for e in events if isinstance(e, SessionEnded))
            seen["profile"] = service.user_folder.load("default")

    run_virtual_time(too_much())
    # SetIntensity is an immediate message: on the board within one control tick (50 ms).
    assert seen["latency_s"] < 0.05
    change = seen["changes"][0]
    assert change.startswith("sensitive spot at calves: pressure capped at ")
    assert seen["summary"].profile_changes == (change,)
    assert seen["display"][3].strip() in change
    cap_kpa = seen["profile"].limits.pressure_kpa["calves"]
    assert 0 < cap_kpa < 5.0  # below what was felt (5 kPa written, level 3)
    assert (tmp_path / "users" / "default.toml").exists()
    # The next session's plan stays under the cap on the calves.
    routine = load_routine(tmp_path / "routines" / "short_mix.toml")
    plan = compile_routine(routine, CHAIR, seen["profile"], intensity=5)
    verdict = admit(plan, CHAIR, seen["profile"])
    assert isinstance(verdict, AdmittedPlan), verdict
    times = np.linspace(0, verdict.plan.duration_s, 2000)
    assert verdict.plan.values_at("airbag_calves", times).max() <= cap_kpa + 1e-9


def test_the_mark_key_records_a_trigger_point_routines_can_name(tmp_path, run_virtual_time):
    seen = {}

    async def right_there():
        async with running_service(tmp_path) as service:
            await press(service, K.UP, K.UP, K.OK)
            await until(lambda: service.session is not None
                        and service.session.elapsed_s() >= 20.0)
            seen["display"] = await press(service, K.MARK)
            service.stop(Origin.SOCKET)
            await until(lambda: service.state() is ChairState.IDLE)
            seen["profile"] = service.user_folder.load("default")

    run_virtual_time(right_there())
    point = seen["profile"].trigger_point("mark_1")
    assert point is not None and -30 <= point.position_pct <= 110
    assert seen["display"][3] == "marked: mark_1      "


def test_profiles_are_rewritten_atomically_keeping_the_old_one(tmp_path):
    folder = UserFolder(tmp_path)
    (tmp_path / "anna.toml").write_text('name = "anna"\npreferred_intensity = 4\n')
    folder.update("anna", lambda user: user.model_copy(update={"preferred_intensity": 2}))
    assert folder.load("anna").preferred_intensity == 2
    assert "preferred_intensity = 4" in (tmp_path / "anna.toml.old").read_text()
    assert folder.names() == ["default", "anna"]
    assert not list(tmp_path.glob(".*.tmp"))


def test_refusals_say_why_in_the_owners_words(tmp_path, run_virtual_time):
    seen = {}

    async def refusals():
        async with running_service(tmp_path) as service:
            for name, call in {
                "mqtt_start": lambda: service.start("tiny", Origin.MQTT),
                "unknown": lambda: service.start("tinny", Origin.SOCKET),
                "pause": lambda: service.pause(Origin.MQTT),
                "timer": lambda: service.set_timer(25, Origin.MQTT),
                "zone": lambda: service.set_zone("tail", False, Origin.MQTT),
                "user": lambda: service.choose_user("nobody", Origin.REMOTE),
                "settings": lambda: service.allow_remote_start(True, Origin.MQTT),
            }.items():
                with pytest.raises(Refused) as refused:
                    call()
                seen[name] = str(refused.value)
            (tmp_path / "users").mkdir(exist_ok=True)
            (tmp_path / "users" / "bad.toml").write_text("preferred_intensity = 9\n")
            with pytest.raises(Refused) as refused:
                service.choose_user("bad", Origin.REMOTE)
            seen["bad_profile"] = str(refused.value)
            service.stop(Origin.MQTT)  # nothing running: never refused
            seen["state"] = service.state()

    run_virtual_time(refusals())
    assert seen["mqtt_start"].startswith("home automation may not start a routine")
    assert "did you mean 'tiny'" in seen["unknown"]
    assert seen["pause"].startswith("nothing is running to pause")
    assert seen["timer"] == "25 min is not a timer setting (choose 10, 15, 20, 30 min)"
    assert seen["zone"].startswith("the chair has no zone 'tail'")
    assert seen["user"].startswith("no user profile named 'nobody'")
    assert seen["settings"].startswith("home automation cannot change who may start")
    assert "bad.toml" in seen["bad_profile"] and "preferred_intensity" in seen["bad_profile"]
    assert seen["state"] in (ChairState.IDLE, ChairState.STOPPING)


def test_a_timer_can_only_shorten_a_session(tmp_path, run_virtual_time):
    seen = {}

    async def timers():
        async with running_service(tmp_path) as service:
            service.set_timer(20, Origin.REMOTE)
            service.start("short_mix", Origin.SOCKET)
            await until(lambda: service.state() is ChairState.RUNNING)
            with pytest.raises(Refused) as refused:
                service.set_timer(30, Origin.REMOTE)
            seen["longer"] = str(refused.value)
            service.set_timer(10, Origin.REMOTE)
            seen["timer"] = service.snapshot().timer_min

    run_virtual_time(timers())
    assert seen["longer"].startswith("the timer is at 20 min; during a session it can only be "
                                     "shortened")
    assert seen["timer"] == 10


@pytest.mark.parametrize("junk", [b"not json\n", b"[1, 2]\n", b'{"op": "explode"}\n',
                                  b'{"op": "start"}\n', b"x" * 5000 + b"\n"])
def test_the_control_socket_answers_junk_with_an_error(tmp_path, run_virtual_time, junk):
    from massagectl.controller.frontends.control_socket import ControlSocket

    replies = []

    async def send_junk():
        async with running_service(tmp_path) as service:
            control = ControlSocket(tmp_path / "s" / "chair.sock")
            await control.start(service)
            try:
                reader, writer = await asyncio.open_unix_connection(str(control.path))
                writer.write(junk)
                await writer.drain()
                replies.append(json.loads(await reader.readline()))
                writer.close()
                await writer.wait_closed()
                replies.append((control.path.stat().st_mode & 0o777,
                                control.path.parent.stat().st_mode & 0o777))
            finally:
                await control.stop()
            replies.append(service.state())

    run_virtual_time(send_junk())
    assert replies[0]["ok"] is False and replies[0]["error"]
    assert replies[1] == (0o600, 0o700)
    assert replies[2] is ChairState.IDLE


def test_user_profile_round_trip_keeps_every_field():
    import tomllib

    from massagectl.controller.service.users import profile_toml

    profile = UserProfile(name="anna", precautions={"dvt"}, injury_zones={"calves"},
                          on_precaution="adapt", limits={"pressure_kpa": {"seat": 4.0}},
                          trigger_points=[{"name": "knot", "position_pct": 31.5}])
    assert UserProfile.model_validate(tomllib.loads(profile_toml(profile))) == profile
