"""Fixtures for the MQTT tests: brokers of our own, started on free loopback ports."""

from __future__ import annotations

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
