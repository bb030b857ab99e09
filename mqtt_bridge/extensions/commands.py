"""Commands in, answers out: every command goes through the service's operations.

    <base>/<chair>/<command>/set   plain value      <base>/<chair>/set   JSON with request_id
    -> <base>/<chair>/response     {"command", "result": "done"|"refused", "reason", ...}

Rules, each from a complaint about other bridges:
- a retained command is never acted on (a broker restart replayed one and switched a heater on);
- stop is never rate-limited and goes first: the bridge's inbox hands it to `handle` at once,
  ahead of every command waiting (mqtt_bridge.inbox), so a flood cannot delay it;
- other commands wait in a bounded queue (a command beyond it is answered by `refuse_waiting`)
  and share a token bucket; over it they are refused, not queued;
- an answer names the problem in the words the remote would use; nothing crashes, and a refused
  command changes nothing.
With MQTT 5 the answer carries the request's correlation data, to its response topic if it gave
one; the JSON form's `request_id` is echoed in the answer either way.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from massagectl.controller.service.operations import Origin
from massagectl.controller.service.vocabulary import (
    ChooseRoutine,
    Command,
    Start,
    Stop,
    carry_out,
)
from massagectl.mqtt_bridge.commands import (
    ChairVocabulary,
    CommandError,
    ParsedCommand,
    command_word,
    parse_json_command,
    parse_plain_command,
    peek_json,
    request_id_of,
)
from massagectl.mqtt_bridge.context import BridgeContext, BridgeExtension, MessageHandler
from massagectl.mqtt_bridge.inbox import COMMANDS_WAITING
from massagectl.mqtt_bridge.rate_limit import BURST_COMMANDS, COMMANDS_PER_S, TokenBucket
from massagectl.routines.errors import MassageError

log = logging.getLogger(__name__)

HOME_ASSISTANT_STATE_LIMIT = 255  # characters in a sensor's state


class Commands(BridgeExtension):
    def __init__(self, context: BridgeContext, clock: Callable[[], float] | None = None) -> None:
        super().__init__(context)
        chair = context.chair
        self.vocabulary = ChairVocabulary(chair.routines, chair.zones)
        self.bucket = TokenBucket(clock or asyncio.get_running_loop().time)
        if context.selected_routine is None and chair.routines:
            context.selected_routine = chair.routines[0]
        self.on_choice = lambda: None  # set by the bridge: the chosen routine is shown in state

    def subscriptions(self) -> dict[str, MessageHandler]:
        return {topic: self.handle for topic in self.context.chair.topics.command_filters}

    def handle(self, message: aiomqtt.Message) -> None:
        topic = str(message.topic)
        where = self.context.chair.topics.parse_command_topic(topic)
        if where is None:
            return
        payload = _payload(message)
        try:
            if where.command is None:
                parsed = parse_json_command(topic, payload, self.vocabulary)
            else:
                parsed = parse_plain_command(topic, where.command, where.zone, payload,
                                             self.vocabulary)
        except CommandError as error:
            self._answer(message, error.command or where.command, None, error.problem,
                         error.request_id)
            return
        word = command_word(parsed.command)
        if message.retain:
            self._answer(message, word, None, "a retained command is never carried out (it "
                         f"would replay after every broker restart); publish it without "
                         f"retain, and clear this one with an empty retained message to {topic}",
                         parsed.request_id)
            return
        if not isinstance(parsed.command, Stop) and not self.bucket.take():
            self._answer(message, word, None, f"too many commands: at most {BURST_COMMANDS} at "
                         f"once and {COMMANDS_PER_S:g} a second; this one was not carried out "
                         "(stop always is)", parsed.request_id)
            return
        self._execute(message, parsed)

    def refuse_waiting(self, message: aiomqtt.Message) -> None:
        """A command beyond the bounded queue: answered, not read any further, not done."""
        topic = str(message.topic)
        where = self.context.chair.topics.parse_command_topic(topic)
        if where is None:
            return
        word, request_id = where.command, None
        if word is None:  # the JSON form: its command and request id, if it gives them
            document = peek_json(_payload(message)) or {}
            named = document.get("command")
            word, request_id = (named if isinstance(named, str) else None), request_id_of(
                document)
        self._answer(message, word, None, f"too many commands at once: at most "
                     f"{COMMANDS_WAITING} wait to be handled; this one was dropped, nothing "
                     "was done (stop always goes through)", request_id)

    def _execute(self, message: aiomqtt.Message, parsed: ParsedCommand) -> None:
        word = command_word(parsed.command)
        try:
            done, admitted = self._carry_out(parsed.command)
        except MassageError as error:
            self._answer(message, word, None, _reason(error), parsed.request_id)
        except Exception:  # the bridge must outlive a failing operation; the chair is safe
            log.exception("MQTT command %s failed", word)
            self._answer(message, word, None, "the chair service failed to carry it out; "
                         "see its log", parsed.request_id)
        else:
            if admitted is None:
                self._answer(message, word, done, None, parsed.request_id)
                return
            # A start is answered once admission has judged the plan, off the loop: a
            # callback, not a wait, so the commands behind it (a stop above all) go on.
            def answer_start(future: asyncio.Future[None]) -> None:
                error = None if future.cancelled() else future.exception()
                if future.cancelled():
                    self._answer(message, word, None, "the start was cancelled",
                                 parsed.request_id)
                elif isinstance(error, MassageError):
                    self._answer(message, word, None, _reason(error), parsed.request_id)
                elif error is not None:
                    log.error("MQTT start failed", exc_info=error)
                    self._answer(message, word, None, "the chair service failed to carry it "
                                 "out; see its log", parsed.request_id)
                else:
                    self._answer(message, word, done, None, parsed.request_id)
            admitted.add_done_callback(answer_start)

    def _carry_out(self, command: Command) -> tuple[str, asyncio.Future[None] | None]:
        """Through the service's operations; the routine choice is the bridge's own. With a
        start, also what ends when the session has begun (or raises why it did not)."""
        match command:
            case ChooseRoutine(routine=routine):
                self._choose(routine)
                return f"routine {routine} chosen", None
            case Start(routine=None):
                if self.context.selected_routine is None:
                    raise CommandError("start", "no routine chosen; send a routine's name")
                command = Start(self.context.selected_routine)
        if isinstance(command, Start) and command.routine is not None:
            started = self.context.ops.start(command.routine, Origin.MQTT)
            self._choose(command.routine)
            admitted = asyncio.ensure_future(started) if inspect.isawaitable(started) else None
            return f"started {command.routine}", admitted
        return carry_out(self.context.ops, command, Origin.MQTT), None

    def _choose(self, routine: str) -> None:
        if self.context.selected_routine != routine:
            self.context.selected_routine = routine
            self.on_choice()

    def _answer(self, message: aiomqtt.Message, word: str | None, done: str | None,
                reason: str | None, request_id: str | None) -> None:
        answer: dict[str, object] = {
            "command": word, "topic": str(message.topic),
            "result": "done" if reason is None else "refused",
        }
        if done is not None:
            answer["detail"] = done
        if reason is not None:
            answer["reason"] = reason
        if request_id is not None:
            answer["request_id"] = request_id
        topic, properties = self.context.chair.topics.response, None
        incoming = getattr(message, "properties", None)
        if incoming is not None:
            correlation = getattr(incoming, "CorrelationData", None)
            topic = getattr(incoming, "ResponseTopic", None) or topic
            if correlation is not None:
                properties = Properties(PacketTypes.PUBLISH)
                properties.CorrelationData = correlation
        # QoS 0: an answer waits for no acknowledgement, so a flood's answers cannot hold up
        # the reading of the stop behind them.
        self.context.publish(topic, json.dumps(answer), properties=properties)
        outcome = f"refused {word or 'command'}: {reason}" if reason is not None else done or ""
        self.context.publish(self.context.chair.topics.last_command, json.dumps({
            **answer, "outcome": outcome[:HOME_ASSISTANT_STATE_LIMIT],
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        }), retain=True)


def _reason(error: MassageError) -> str:
    return error.message if error.hint is None else f"{error.message} ({error.hint})"


def _payload(message: aiomqtt.Message) -> bytes:
    payload = message.payload
    return payload if isinstance(payload, bytes) else str(payload or "").encode()
