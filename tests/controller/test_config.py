"""The controller's config file: defaults with no file, relative paths, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from massagectl.controller.config import Config, load_config
from massagectl.routines.errors import InvalidFileError


def test_no_file_anywhere_means_simulator_and_chair(tmp_path, monkeypatch):
    monkeypatch.delenv("MASSAGECTL_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "nothing-here"))
    config = load_config()
    assert config.device.port is None
    assert config.device.profile == "chair"
    assert config.mqtt.enabled is False


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path):
    path = tmp_path / "etc" / "config.toml"
    path.parent.mkdir()
    path.write_text(
        '[device]\nprofile = "profiles/mychair.toml"\nport = "/dev/ttyUSB0"\n'
        '[session]\nuser_profile = "anna.toml"\n[logs]\ndirectory = "logs"\n'
    )
    config = load_config(path)
    assert config.device.profile == str(tmp_path / "etc" / "profiles" / "mychair.toml")
    assert config.session.user_profile == tmp_path / "etc" / "anna.toml"
    assert config.logs.fault_log == tmp_path / "etc" / "logs" / "faults.jsonl"


def test_a_wrong_field_is_named_and_nothing_is_loaded(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text('[mqtt]\nport = 70000\nbroker = "x"\n')
    with pytest.raises(InvalidFileError) as caught:
        load_config(path)
    fields = sorted(problem.field for problem in caught.value.problems)
    assert fields == ["mqtt.broker", "mqtt.port"]


def test_a_config_named_but_missing_is_an_error(tmp_path: Path):
    with pytest.raises(InvalidFileError, match="no such config file"):
        load_config(tmp_path / "missing.toml")


def test_defaults_round_trip_through_the_model():
    assert Config.model_validate(Config().model_dump()) == Config()


def test_owner_caps_go_up_to_their_ceiling_and_budgets_only_down(tmp_path: Path):
    lowered = tmp_path / "lowered.toml"
    lowered.write_text("[limits.heat]\ncap_c = 40\n[limits.session]\ncap_min = 20\n")
    config = load_config(lowered)
    assert config.limits.heat.cap_c == 40 and config.limits.session.cap_min == 20
    raised = tmp_path / "raised.toml"
    raised.write_text("[limits.heat]\ncap_c = 45\n")
    assert load_config(raised).limits.heat.cap_c == 45
    raised.write_text("[limits.airbag.calves]\ncap_kpa = 31\n[limits.heat]\nmax_on_s = 2400\n")
    with pytest.raises(InvalidFileError) as caught:
        load_config(raised)
    [problem] = caught.value.problems
    assert problem.field == "limits"
    assert "airbag.calves.cap_kpa: 31 is above the absolute ceiling of 30 kPa" in problem.message
    assert "heat.max_on_s: 2400 is above the default 1800" in problem.message


def test_mqtt_settings_are_read_and_a_wrong_choice_is_named(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text('[mqtt]\nenabled = true\nhost = "broker.lan"\ndiscovery = "device"\n'
                    'password_file = "mqtt.pw"\n')
    config = load_config(path)
    assert (config.mqtt.enabled, config.mqtt.host, config.mqtt.discovery) == (
        True, "broker.lan", "device")
    assert config.mqtt.password_file == tmp_path / "mqtt.pw"  # relative to the config file
    path.write_text('[mqtt]\nprotocol = "4"\n')
    with pytest.raises(InvalidFileError) as caught:
        load_config(path)
    [problem] = caught.value.problems
    assert problem.field == "mqtt.protocol"


def test_a_config_of_the_wrong_shape_says_what_to_write(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text('logs = 5\n[mqtt]\nenabled = "maybe"\nnode_id = "chair one"\n'
                    'base_topic = "home/#"\n[session]\nuser_profile = 5\n'
                    '[limits.airbag.elbow]\ncap_kpa = 5\n')
    with pytest.raises(InvalidFileError) as caught:
        load_config(path)
    said = {problem.field: problem.message for problem in caught.value.problems}
    assert said == {
        "logs": "5 is not a table; write [logs] with its keys on the lines below it",
        "mqtt.enabled": "'maybe' is not true or false; write true or false, without quotes",
        "mqtt.node_id": "'chair one' is not allowed here: letters, digits, _ and -, at most 64 "
                        "of them",
        "mqtt.base_topic": "'home/#' is not allowed here: at most 128 characters, without the "
                           "MQTT wildcards # and +",
        "session.user_profile": "5 is not a path; write it in double quotes",
        "limits.airbag.elbow": "'elbow' is not one of 'neck', 'shoulders', 'upper_back', "
                               "'mid_back', 'lower_back', 'seat', 'arms', 'calves' or 'feet'",
    }
