"""Whatever keys a person presses on the remote, in any order and at any pace: STOP makes the
chair safe at once, a paused or idle chair is safe, the intensity stays within 1-5 and the
level-5 plan that admission checked, and no key lengthens a session past its timer."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from massagectl.controller.service.operations import ChairState
from massagectl.firmware_bridge.messages import RemoteKey
from tests.controller.service_rig import running_service

CHECK_EVERY_S = 0.25
STOP_SAFE_S = 0.05  # the board acts on its own STOP key at once; allow one telemetry period
SETTLE_S = 0.5  # a pause is safe once the board confirmed it (Stop, confirmed, Reset)

presses = st.lists(
    st.tuples(st.sampled_from(RemoteKey), st.sampled_from([0.02, 0.3, 2.0, 20.0, 120.0])),
    min_size=1, max_size=30,
)


@settings(max_examples=15)
@given(steps=presses)
def test_any_key_sequence_keeps_the_chair_safe(tmp_path_factory, steps):
    folder = tmp_path_factory.mktemp("keys")
    problems: list[str] = []

    async def press_all():
        async with running_service(folder) as service:
            board = service.simulator.board
            loop = asyncio.get_running_loop()
            session_started: dict[str, float] = {}
            shortest_timer: dict[str, int] = {}
            calm_since = {"s": loop.time()}

            async def watch():
                last_state = None
                while True:
                    now_s = loop.time()
                    snapshot = service.snapshot()
                    if not 1 <= snapshot.intensity <= 5 or board.intensity_scale > 1.0:
                        problems.append(f"intensity {snapshot.intensity}, scale "
                                        f"{board.intensity_scale} at {now_s:.1f} s")
                    if snapshot.state != last_state:
                        calm_since["s"] = now_s
                        last_state = snapshot.state
                    calm = now_s - calm_since["s"] >= SETTLE_S
                    if calm and snapshot.state in (ChairState.IDLE, ChairState.PAUSED,
                                                   ChairState.FAULT) \
                            and not board.outputs_safe():
                        problems.append(f"{snapshot.state} but outputs not safe at {now_s:.1f}")
                    session = service.session
                    if session is not None:
                        key = str(id(session))
                        session_started.setdefault(key, now_s)
                        if snapshot.timer_min is not None:
                            shortest_timer[key] = min(shortest_timer.get(key, 99),
                                                      snapshot.timer_min)
                        limit_min = shortest_timer.get(key)
                        if limit_min is not None and snapshot.state is ChairState.RUNNING \
                                and now_s - session_started[key] > limit_min * 60 + 1.0:
                            problems.append(f"running past its {limit_min} min timer")
                    await asyncio.sleep(CHECK_EVERY_S)

            watcher = loop.create_task(watch())
            try:
                for key, wait_s in steps:
                    service.press_key(key)
                    if key is RemoteKey.STOP:
                        await asyncio.sleep(STOP_SAFE_S)
                        if not board.outputs_safe():
                            problems.append("STOP pressed, outputs not safe 50 ms later")
                    await asyncio.sleep(wait_s)
                service.press_key(RemoteKey.STOP)
                await asyncio.sleep(STOP_SAFE_S)
                if not board.outputs_safe():
                    problems.append("the last STOP left outputs on")
            finally:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)

    from massagectl.sim.virtual_loop import VirtualTimeLoop

    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        runner.run(press_all())
    assert not problems, problems[:5]
