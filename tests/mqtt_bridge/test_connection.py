"""The broker connection: passwords, TLS, MQTT 3.1.1 fallback and the backoff between tries."""

from __future__ import annotations

import asyncio
import logging
import random

from massagectl.mqtt_bridge.backoff import MAX_WAIT_S, Backoff
from massagectl.mqtt_bridge.connection import ConnectionState, ProtocolChoice

from .broker import Mosquitto
from .fake_ops import FakeOperations
from .harness import Address, observing, running_bridge
from .v311_only import v311_only_relay

ROOT = "massagectl/chair_sn-0042"


def test_backoff_grows_is_capped_and_jittered():
    backoff = Backoff(rng=random.Random(1))
    waits = [backoff.next_wait_s() for _ in range(20)]
    nominal = [min(MAX_WAIT_S, 1.8 ** n) for n in range(20)]
    assert all(n / 2 <= w <= n for w, n in zip(waits, nominal, strict=True))
    assert len({round(w, 6) for w in waits[-5:]}) == 5  # capped, still spread out
    backoff.reset()
    assert backoff.nominal_s() == 0.0
    assert backoff.give_up_quickly() >= MAX_WAIT_S / 2


def test_a_password_from_a_file_connects(password_broker, tmp_path, run_real_time):
    secret = tmp_path / "mqtt.pw"
    secret.write_text("s3cret\n")

    async def scenario():
        async with running_bridge(password_broker, FakeOperations(), username="chair",
                                  password_file=secret) as bridge:
            await bridge.wait_connected()
        return bridge.connection

    assert run_real_time(scenario()).protocol_in_use is ProtocolChoice.V5


def test_a_wrong_password_is_a_clear_error_and_never_logged(password_broker, tmp_path,
                                                             run_real_time, caplog):
    secret = tmp_path / "mqtt.pw"
    secret.write_text("not-the-password\n")

    async def scenario():
        async with running_bridge(password_broker, FakeOperations(), username="chair",
                                  password_file=secret) as bridge:
            while bridge.connection is None or bridge.connection.detail == "":
                await bridge_settled()
            return bridge.connection.state, bridge.connection.detail

    with caplog.at_level(logging.DEBUG):
        state, detail = run_real_time(scenario())
    assert state is ConnectionState.DISCONNECTED
    assert f"MQTT broker at 127.0.0.1:{password_broker.port} refused user 'chair'" in detail
    assert detail.endswith("check [mqtt] username and password_file")
    assert any(record.levelno == logging.ERROR and "refused user 'chair'" in record.message
               for record in caplog.records)
    assert "not-the-password" not in caplog.text


async def bridge_settled() -> None:
    await asyncio.sleep(0.02)  # polling, bounded by the test loop; the broker answers in ms


def test_tls_with_the_brokers_ca_connects_and_a_stranger_ca_does_not(tls_broker, tmp_path,
                                                                     run_real_time):
    other = Mosquitto(tmp_path / "other_ca", tls=True)  # a CA the broker's certificate is not from

    async def scenario():
        async with running_bridge(tls_broker, FakeOperations(), tls=True,
                                  ca_file=tls_broker.ca_file) as bridge:
            await bridge.wait_connected()
        async with running_bridge(tls_broker, FakeOperations(), tls=True,
                                  ca_file=other.ca_file) as stranger:
            while stranger.connection is None or stranger.connection.detail == "":
                await bridge_settled()
            return stranger.connection.detail

    detail = run_real_time(scenario())
    assert "CERTIFICATE_VERIFY_FAILED" in detail


def test_a_broker_that_speaks_only_mqtt_311_gets_311(broker, run_real_time):
    async def scenario():
        async with v311_only_relay(broker.host, broker.port) as (port, refused):
            async with running_bridge(Address(broker.host, port), FakeOperations()) as bridge, \
                    observing(
                    broker, f"{ROOT}/response") as seen:
                await bridge.wait_connected()
                await seen.client.publish(f"{ROOT}/intensity/set", "2", qos=1)
                answer = await seen.wait_json(f"{ROOT}/response")
            return bridge.connection.protocol_in_use, refused, answer

    protocol, refused, answer = run_real_time(scenario())
    assert protocol is ProtocolChoice.V311 and refused == [5]
    assert answer["detail"] == "intensity 2"
