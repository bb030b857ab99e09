"""The broker connection: connect, hand the client over, reconnect forever.

aiomqtt has no automatic reconnect, so this loop does it: each attempt connects (MQTT 5 first,
MQTT 3.1.1 when the broker refuses version 5), runs the caller's session on the connected
client until the connection drops, and waits a backoff with jitter before the next attempt. The
caller re-subscribes and re-announces everything in each session. The will (`offline`,
retained) is registered with every connection.

The first failure of a run of failures is logged as a warning, the repeats quietly, so a broker
that stays away for a day does not fill the log. A refused username or password is an error
that names the setting to check; it is retried at the longest interval. The password is read
from its file at each connect and never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import select
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import aiomqtt
import paho.mqtt.client as paho
from paho.mqtt.reasoncodes import ReasonCode

from massagectl.mqtt_bridge.backoff import Backoff

log = logging.getLogger(__name__)

KEEPALIVE_S = 30  # the broker sends the will within 1.5x this after the service vanishes
CONNECT_TIMEOUT_S = 10.0
# CONNACK codes: "unsupported protocol version" (MQTT 5, and 1 in 3.1.1, which paho maps to it)
_UNSUPPORTED_PROTOCOL = {1, 132}
# CONNACK codes for a refused login: 4/5 in MQTT 3.1.1, 134/135 in MQTT 5.
_REFUSED_LOGIN = {4, 5, 134, 135}
# Packets read in one turn of the event loop at most: a flood waiting on the socket is read in
# a few turns (a stop behind it with them), without one turn starving everything else.
READ_BURST_PACKETS = 256


class ConnectionState(StrEnum):
    CONNECTING = "connecting"
    READY = "ready"
    DISCONNECTED = "disconnected"


class ProtocolChoice(StrEnum):
    AUTO = "auto"  # MQTT 5, else 3.1.1
    V5 = "5"
    V311 = "3.1.1"


@dataclass(frozen=True)
class BrokerSettings:
    host: str = "localhost"
    port: int = 1883
    username: str | None = None
    password_file: Path | None = None
    tls: bool = False
    ca_file: Path | None = None  # None with tls: the system's trusted CAs
    protocol: ProtocolChoice = ProtocolChoice.AUTO
    client_id: str | None = None
    keepalive_s: int = KEEPALIVE_S

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Will:
    topic: str
    payload: str


class LoginRefusedError(aiomqtt.MqttError):
    """The broker refused the username or password."""


def read_password(settings: BrokerSettings) -> str | None:
    if settings.password_file is None:
        return None
    try:
        return settings.password_file.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as error:
        raise aiomqtt.MqttError(f"cannot read the MQTT password file {settings.password_file}: "
                                f"{error.strerror}; check [mqtt] password_file") from None


def tls_context(settings: BrokerSettings) -> ssl.SSLContext | None:
    """Verification on by default: the broker's certificate must chain to the CA and name it."""
    if not settings.tls:
        return None
    cafile = str(settings.ca_file) if settings.ca_file is not None else None
    return ssl.create_default_context(cafile=cafile)


def _code(error: aiomqtt.MqttCodeError) -> int | None:
    rc = error.rc
    if isinstance(rc, ReasonCode):
        return rc.value
    return rc


Session = Callable[[aiomqtt.Client], Awaitable[None]]


class DrainingClient(aiomqtt.Client):
    """An aiomqtt client that reads every packet already waiting on its socket in one turn.

    aiomqtt reads on each readable event with paho's `loop_read`, which reads one packet when
    nothing of ours is in flight; 100 commands waiting on the socket then take 100 turns of the
    event loop, each shared with the session and the bridge's answers, and a stop sent behind
    them is not even read until they all are (116 ms measured). This client reads on until the
    socket has nothing more, READ_BURST_PACKETS at most, so the stop is read, and acted on, in
    the next turn or two.
    """

    def _on_socket_open(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        super()._on_socket_open(client, userdata, sock)
        # aiomqtt registers its reader from paho's connect thread through call_soon_threadsafe;
        # this one is queued after it, and a reader added for the same socket replaces it.
        self._loop.call_soon_threadsafe(self._loop.add_reader, sock.fileno(), self._read_waiting,
                                        client, sock)

    def _read_waiting(self, client: paho.Client, sock: Any) -> None:
        try:
            for _ in range(READ_BURST_PACKETS):
                if client.loop_read() != paho.MQTT_ERR_SUCCESS:
                    return  # paho has seen the connection end and said so to aiomqtt
                pending = getattr(sock, "pending", None)  # TLS: bytes decrypted, not yet read
                if pending is not None and pending() > 0:
                    continue
                if not select.select([sock], [], [], 0)[0]:
                    return
        except Exception as error:  # as aiomqtt's own reader: a broken socket ends the session
            if not self._disconnected.done():
                self._disconnected.set_exception(error)


class BrokerConnection:
    """Runs `session(client)` on every successful connection, forever (until cancelled)."""

    def __init__(self, settings: BrokerSettings, will: Will,
                 on_state: Callable[[ConnectionState, str], None] | None = None,
                 backoff: Backoff | None = None,
                 queue_type: type[asyncio.Queue[aiomqtt.Message]] | None = None) -> None:
        self.settings = settings
        self.queue_type = queue_type
        self.will = will
        self.backoff = backoff or Backoff()
        self.state = ConnectionState.DISCONNECTED
        self.detail = ""
        self.protocol_in_use: ProtocolChoice | None = None
        self._on_state = on_state
        self._warned = False

    def _set(self, state: ConnectionState, detail: str = "") -> None:
        self.state, self.detail = state, detail
        if self._on_state is not None:
            self._on_state(state, detail)

    async def run(self, session: Session) -> None:
        while True:
            self._set(ConnectionState.CONNECTING)
            try:
                await self._connect_and_run(session)
                wait_s = self.backoff.next_wait_s()  # the broker closed a good session
            except LoginRefusedError as error:
                self._set(ConnectionState.DISCONNECTED, str(error))
                log.error("%s", error)
                wait_s = self.backoff.give_up_quickly()
            except aiomqtt.MqttError as error:
                detail = f"MQTT broker at {self.settings.address}: {error}"
                self._set(ConnectionState.DISCONNECTED, detail)
                (log.debug if self._warned else log.warning)("%s; retrying", detail)
                self._warned = True
                wait_s = self.backoff.next_wait_s()
            await asyncio.sleep(wait_s)

    async def _connect_and_run(self, session: Session) -> None:
        choices = ([ProtocolChoice.V5, ProtocolChoice.V311]
                   if self.settings.protocol is ProtocolChoice.AUTO else [self.settings.protocol])
        for index, choice in enumerate(choices):
            client = self._client(choice)
            try:
                await client.__aenter__()
            except aiomqtt.MqttError as error:
                _abandon(client)
                if not isinstance(error, aiomqtt.MqttCodeError):
                    raise
                code = _code(error)
                if code in _UNSUPPORTED_PROTOCOL and index + 1 < len(choices):
                    log.info("MQTT broker at %s does not speak MQTT 5; using 3.1.1",
                             self.settings.address)
                    continue
                if code in _REFUSED_LOGIN:
                    user = self.settings.username
                    who = f"user {user!r}" if user else "anonymous clients"
                    raise LoginRefusedError(
                        f"MQTT broker at {self.settings.address} refused {who} ({error}); "
                        "check [mqtt] username and password_file") from None
                raise
            self.protocol_in_use = choice
            try:
                self.backoff.reset()
                self._warned = False
                self._set(ConnectionState.READY)
                log.info("connected to MQTT broker at %s (MQTT %s)", self.settings.address,
                         choice.value)
                await session(client)
            finally:
                await _close_quietly(client)
            return

    def _client(self, choice: ProtocolChoice) -> aiomqtt.Client:
        settings = self.settings
        protocol = (aiomqtt.ProtocolVersion.V5 if choice is ProtocolChoice.V5
                    else aiomqtt.ProtocolVersion.V311)
        return DrainingClient(
            settings.host, settings.port,
            username=settings.username, password=read_password(settings),
            identifier=settings.client_id, protocol=protocol,
            will=aiomqtt.Will(self.will.topic, self.will.payload, qos=1, retain=True),
            keepalive=settings.keepalive_s, timeout=CONNECT_TIMEOUT_S,
            tls_context=tls_context(settings), queue_type=self.queue_type,
        )


def _abandon(client: aiomqtt.Client) -> None:
    """Close the socket of a connection the broker refused: aiomqtt leaves it open, and
    paho only closes it on its next read, which never comes for a client that is dropped."""
    paho = client._client
    paho._sock_close()


async def _close_quietly(client: aiomqtt.Client) -> None:
    """Leave the broker; a connection that is already gone needs no goodbye."""
    with contextlib.suppress(aiomqtt.MqttError):
        await client.__aexit__(None, None, None)
