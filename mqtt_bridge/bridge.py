"""The MQTT bridge: a front-end of the chair service, wiring the extensions to one broker.

    bridge = MqttBridge(BridgeSettings(...), device, readings=lambda: chair.readings)
    await bridge.start(ops)      # connects in the background, reconnecting forever
    await bridge.stop()          # says offline, leaves the broker

It uses only the service's operations and events (`ChairOperations`), like the remote. The
chair's safety never depends on it: when the broker goes away the session goes on, unless the
owner chose `on_broker_lost = "stop"`. Topics and unique ids follow the board's identity
(mqtt_bridge.identity): before a board has identified itself the bridge connects under a
provisional id, and when another board appears it retires the old chair's topics and moves
to the new one's, reconnecting with the new chair's will.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

import aiomqtt

from massagectl.controller.config import MqttSettings
from massagectl.controller.service.operations import (
    ChairEvent,
    ChairOperations,
    ChairState,
    ConnectionChanged,
    Origin,
)
from massagectl.mqtt_bridge.cancel import cancel_and_wait
from massagectl.mqtt_bridge.commands import peek_json
from massagectl.mqtt_bridge.connection import (
    BrokerConnection,
    BrokerSettings,
    ConnectionState,
    ProtocolChoice,
    Will,
)
from massagectl.mqtt_bridge.context import BridgeContext, BridgeExtension, MessageHandler
from massagectl.mqtt_bridge.description import describe_chair, sensors_by_zone
from massagectl.mqtt_bridge.discovery import ChairDescription, DiscoveryForm, Publication
from massagectl.mqtt_bridge.extensions.availability import Availability
from massagectl.mqtt_bridge.extensions.commands import Commands
from massagectl.mqtt_bridge.extensions.discovery import Discovery
from massagectl.mqtt_bridge.extensions.events import Events
from massagectl.mqtt_bridge.extensions.state import StatePublisher
from massagectl.mqtt_bridge.identity import (
    Identity,
    default_service_id,
    identified,
    provisional,
    retire,
    service_token,
)
from massagectl.mqtt_bridge.inbox import Lane, inbox_type
from massagectl.mqtt_bridge.topics import OFFLINE
from massagectl.routines.device import DeviceProfile, SensorKind

log = logging.getLogger(__name__)

LEAVE_TIMEOUT_S = 2.0  # the last words on stop; a broker that does not take them gets the will
# A board present when the service starts identifies itself within a second or so; connecting
# under a provisional id first would only announce it and take it back at once.
IDENTIFY_GRACE_S = 2.0


class BrokerLost(StrEnum):
    CONTINUE = "continue"  # the session goes on; the chair's own safety never needed the broker
    STOP = "stop"  # the owner wants no session without its remote control


@dataclass(frozen=True)
class BridgeSettings:
    broker: BrokerSettings = field(default_factory=BrokerSettings)
    base_topic: str = "massagectl"
    node_id: str | None = None
    discovery_prefix: str = "homeassistant"
    discovery: DiscoveryForm = DiscoveryForm.ENTITY
    on_broker_lost: BrokerLost = BrokerLost.CONTINUE
    rediscovery_delay_s: tuple[float, float] = (0.5, 3.0)
    # The chair id in topics until a board has identified itself, when node_id is not set.
    service_id: str = field(default_factory=default_service_id)
    identify_grace_s: float = IDENTIFY_GRACE_S


def bridge_settings(mqtt: MqttSettings, service_name: str = "chair",
                    state_folder: Path | None = None) -> BridgeSettings:
    """The bridge's settings from the config file's `[mqtt]` table; the provisional id's
    token is kept in `state_folder` (None: a new one at every start)."""
    broker = BrokerSettings(
        host=mqtt.host, port=mqtt.port, username=mqtt.username,
        password_file=mqtt.password_file, tls=mqtt.tls, ca_file=mqtt.ca_file,
        protocol=ProtocolChoice(mqtt.protocol))
    return BridgeSettings(
        broker=broker, base_topic=mqtt.base_topic, node_id=mqtt.node_id,
        discovery_prefix=mqtt.discovery_prefix, discovery=DiscoveryForm(mqtt.discovery),
        on_broker_lost=BrokerLost(mqtt.on_broker_lost),
        service_id=default_service_id(
            service_name, None if state_folder is None else service_token(state_folder,
                                                                          service_name)))


class MqttBridge:
    """See the module docstring."""

    name = "mqtt"

    def __init__(self, settings: BridgeSettings, device: DeviceProfile,
                 readings: Callable[[], Mapping[str, float]] | None = None) -> None:
        self.settings = settings
        self.device = device
        self._readings = readings or dict
        self.context: BridgeContext | None = None
        self.extensions: list[BridgeExtension] = []
        self.connection: BrokerConnection | None = None
        self._ops: ChairOperations | None = None
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] = lambda: None
        self.identity: Identity | None = None  # the chair the bridge speaks for now
        self._wanted: Identity | None = None  # the chair it should speak for
        self._identity_changed = asyncio.Event()
        self._farewells: list[Publication] = []  # about chairs it spoke for before
        self._client: aiomqtt.Client | None = None
        self._client_ready = asyncio.Event()
        self._was_ready = False
        self._announcing: set[asyncio.Task[None]] = set()

    # --- the service's Extension interface -------------------------------------------------

    async def start(self, ops: ChairOperations) -> None:
        self._ops = ops
        self._unsubscribe = ops.subscribe(self._on_event)
        snapshot = ops.snapshot()
        if snapshot.firmware:  # a board has told its serial number (its firmware comes with it)
            self._wanted = self._identity_of(snapshot.chair_id, snapshot.firmware)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="mqtt bridge")

    async def stop(self) -> None:
        self._unsubscribe()
        for extension in self.extensions:
            await extension.stop()
        client = self._client
        if client is not None and self.context is not None:
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                async with asyncio.timeout(LEAVE_TIMEOUT_S):
                    while self.context.outbox:
                        message = self.context.outbox.popleft()
                        await client.publish(message.topic, message.payload, qos=message.qos,
                                             retain=message.retain,
                                             properties=message.properties)
        await cancel_and_wait(*self._announcing, *([self._task] if self._task else []))

    # --- inside -----------------------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        return self.connection.state if self.connection else ConnectionState.DISCONNECTED

    async def wait_connected(self) -> aiomqtt.Client:
        """The client, once connected for the chair the bridge should speak for now."""
        await self._client_ready.wait()
        assert self._client is not None
        return self._client

    async def _run(self) -> None:
        if self._wanted is None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.identify_grace_s):
                    await self._identity_changed.wait()
        if self._wanted is None:
            log.info("no board has identified itself yet; MQTT topics under %s/%s until one "
                     "does", self.settings.base_topic, self._provisional().chair_id)
            self._wanted = self._provisional()
        while True:
            identity = self._wanted
            self._identity_changed.clear()
            self._speak_for(identity)
            assert self.connection is not None
            running = asyncio.get_running_loop().create_task(self.connection.run(self._session),
                                                              name="mqtt connection")
            changed = asyncio.get_running_loop().create_task(self._identity_changed.wait())
            try:
                await asyncio.wait({running, changed}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                await cancel_and_wait(running, changed)
            if running.done() and not running.cancelled() and running.exception() is not None:
                raise running.exception()  # type: ignore[misc]
            await self._retire(identity)

    def _speak_for(self, identity: Identity) -> None:
        """The context, the extensions and the connection for one chair."""
        ops = self._ops
        assert ops is not None
        chair = describe_chair(
            self.device, serial_number=identity.serial_number or "",
            firmware_version=identity.firmware_version,
            routines=tuple(choice.name for choice in ops.routines()),
            base_topic=self.settings.base_topic, node_id=identity.chair_id,
            discovery_prefix=self.settings.discovery_prefix)
        chair = _with_zones(chair, tuple(ops.zones()))
        selected = self.context.selected_routine if self.context is not None else None
        self.context = BridgeContext(
            ops=ops, chair=chair, discovery_form=self.settings.discovery,
            readings=self._readings,
            pressure_sensors=sensors_by_zone(self.device, SensorKind.PRESSURE),
            temperature_sensors=sensors_by_zone(self.device, SensorKind.TEMPERATURE),
            rediscovery_delay_s=self.settings.rediscovery_delay_s, selected_routine=selected)
        self.context.reannounce = self._reannounce
        state = StatePublisher(self.context)
        commands = Commands(self.context)
        commands.on_choice = state.changed
        self.extensions = [Availability(self.context), Discovery(self.context), state,
                           commands, Events(self.context)]
        self.identity = identity
        # A farewell to this chair's own topics (a board back after another) is not one now.
        own = chair.topics.root + "/"
        self._farewells = [p for p in self._farewells if not p.topic.startswith(own)]
        self.connection = BrokerConnection(
            self.settings.broker, Will(chair.topics.availability, OFFLINE),
            on_state=self._on_connection_state,
            queue_type=inbox_type(self._lane_of, on_stop=self._guarded(commands.handle),
                                  on_overflow=self._guarded(commands.refuse_waiting)))

    async def _retire(self, old: Identity) -> None:
        """Another board: the old chair's extensions stop, and its topics are retired."""
        assert self.context is not None and self._wanted is not None
        for extension in self.extensions:
            await extension.stop()
        for task in list(self._announcing):
            task.cancel()
        self._was_ready = False  # a move, not a broker that went away
        self._farewells += retire(self.context.chair, old, self._wanted,
                                  self.settings.discovery)
        log.info("the board is now %s: MQTT topics under %s/%s", self._wanted.serial_number,
                 self.settings.base_topic, self._wanted.chair_id)

    async def _session(self, client: aiomqtt.Client) -> None:
        context = self.context
        assert context is not None
        handlers: dict[str, MessageHandler] = {}
        for extension in self.extensions:
            handlers.update(extension.subscriptions())
        for topic_filter in handlers:
            await client.subscribe(topic_filter, qos=1)
        context.outbox.clear()  # stale answers and states; everything is announced anew
        while self._farewells:  # first, before anything about the chair it speaks for now
            farewell = self._farewells[0]
            await client.publish(farewell.topic, farewell.payload, qos=1, retain=True)
            self._farewells.pop(0)
        drain = asyncio.get_running_loop().create_task(context.drain(client), name="mqtt out")
        self._client = client
        if self.identity == self._wanted:
            self._client_ready.set()
        try:
            for extension in self.extensions:
                await extension.on_connected()
            async for message in client.messages:
                self._dispatch(handlers, message)
        finally:
            self._client = None
            self._client_ready.clear()
            await cancel_and_wait(drain)
            for extension in self.extensions:
                extension.on_disconnected()

    def _lane_of(self, message: aiomqtt.Message) -> Lane:
        """Which lane of the inbox a message takes: a stop command, another, or not one."""
        assert self.context is not None
        topics, topic = self.context.chair.topics, str(message.topic)
        if topic == topics.command("stop"):
            return Lane.STOP
        if topic == topics.json_command:
            payload = message.payload if isinstance(message.payload, bytes) else b""
            document = peek_json(payload) or {}
            return Lane.STOP if document.get("command") == "stop" else Lane.COMMAND
        if topics.parse_command_topic(topic) is not None:
            return Lane.COMMAND
        return Lane.OTHER

    @staticmethod
    def _guarded(handler: MessageHandler) -> MessageHandler:
        def guarded(message: aiomqtt.Message) -> None:
            try:
                handler(message)
            except Exception:  # one bad message must not end the bridge
                log.exception("MQTT message on %s could not be handled", message.topic)
        return guarded

    def _identity_of(self, chair_id: str, firmware: str) -> Identity:
        if chair_id == self.device.name and self.settings.node_id is None:
            # No serial number (the service names the chair after its profile): a unique id
            # from that name would be every such chair's.
            log.warning("the board reports no serial number: MQTT topics stay under %s/%s "
                        "without Home Assistant discovery; set [mqtt] node_id to give this "
                        "chair its own", self.settings.base_topic, self._provisional().chair_id)
            return self._provisional()
        return identified(self._serial_number(chair_id), firmware, self.settings.node_id)

    def _provisional(self) -> Identity:
        return provisional(self.settings.node_id, self.settings.service_id)

    def _serial_number(self, chair_id: str) -> str:
        """The board's serial number; a board too old to report one (the service then names
        the chair after its profile) is known by the owner's node_id instead."""
        if chair_id != self.device.name or self.settings.node_id is None:
            return chair_id
        return self.settings.node_id

    def _dispatch(self, handlers: dict[str, MessageHandler], message: aiomqtt.Message) -> None:
        for topic_filter, handler in handlers.items():
            if message.topic.matches(topic_filter):
                try:
                    handler(message)
                except Exception:  # one bad message must not end the bridge
                    log.exception("MQTT message on %s could not be handled", message.topic)
                return

    def _reannounce(self) -> None:
        if self._client is None:
            return
        for extension in self.extensions:
            task = asyncio.get_running_loop().create_task(extension.on_connected())
            self._announcing.add(task)
            task.add_done_callback(self._announcing.discard)

    def _on_event(self, event: ChairEvent) -> None:
        if isinstance(event, ConnectionChanged) and event.connected:
            assert self._ops is not None
            wanted = self._identity_of(event.chair_id, self._ops.snapshot().firmware)
            if wanted != self._wanted:
                self._wanted = wanted
                self._client_ready.clear()  # connected, but for the chair it was before
                self._identity_changed.set()
        for extension in self.extensions:
            extension.on_event(event)

    def _on_connection_state(self, state: ConnectionState, detail: str) -> None:
        was_ready, self._was_ready = self._was_ready, state is ConnectionState.READY
        if state is ConnectionState.READY or not was_ready or self._ops is None:
            return
        if self.settings.on_broker_lost is BrokerLost.STOP:
            active = self._ops.snapshot().state in (ChairState.SCANNING, ChairState.RUNNING,
                                                    ChairState.PAUSED)
            if active:
                self._ops.stop(Origin.MQTT, f"the MQTT broker went away ({detail}); the "
                               "owner chose to stop then")


def _with_zones(chair: ChairDescription, zones: tuple[str, ...]) -> ChairDescription:
    """The service knows best which zones can be switched on this chair."""
    return replace(chair, zones=zones) if zones else chair
