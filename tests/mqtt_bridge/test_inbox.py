"""The bridge's inbox: a stop skips every command queued before it; the queue is bounded."""

from __future__ import annotations

import asyncio

import aiomqtt

from massagectl.mqtt_bridge.inbox import COMMANDS_WAITING, Lane, inbox_type


def message(topic: str) -> aiomqtt.Message:
    return aiomqtt.Message(topic, b"", qos=0, retain=False, mid=1, properties=None)


def lane_of(item: aiomqtt.Message) -> Lane:
    return {"stop": Lane.STOP, "intensity": Lane.COMMAND}.get(str(item.topic), Lane.OTHER)


def test_a_stop_is_handled_before_the_commands_queued_ahead_of_it():
    async def scenario():
        handled: list[str] = []
        refused: list[str] = []
        inbox = inbox_type(lane_of, on_stop=lambda m: handled.append(f"{m.topic} at once"),
                           on_overflow=lambda m: refused.append(str(m.topic)))()
        for _ in range(COMMANDS_WAITING + 5):
            inbox.put_nowait(message("intensity"))
        inbox.put_nowait(message("homeassistant/status"))  # never dropped, even when full
        inbox.put_nowait(message("stop"))
        while not inbox.empty():
            handled.append(str((await inbox.get()).topic))
        return handled, refused

    handled, refused = asyncio.run(scenario())
    assert handled[0] == "stop at once"
    assert handled[1:] == ["intensity"] * COMMANDS_WAITING + ["homeassistant/status"]
    assert refused == ["intensity"] * 5


def test_room_comes_back_as_commands_are_taken():
    async def scenario():
        refused: list[str] = []
        inbox = inbox_type(lane_of, on_stop=lambda m: None,
                           on_overflow=lambda m: refused.append(str(m.topic)),
                           commands_waiting=2)()
        for _ in range(3):
            inbox.put_nowait(message("intensity"))
        await inbox.get()
        inbox.put_nowait(message("intensity"))
        return inbox.qsize(), refused

    assert asyncio.run(scenario()) == (2, ["intensity"])
