"""The controller's one configuration file: port, profiles, owner limits, MQTT, where logs go.

Every field has a default that works with no file at all: the built-in chair profile, the
built-in simulator (no port), the default occupant, and logs under the per-user state directory.
The file is looked up at `--config PATH`, else `$MASSAGECTL_CONFIG`, else
`$XDG_CONFIG_HOME/massagectl/config.toml` (`~/.config/massagectl/config.toml`); a missing file at
the standard location means defaults, a missing file that was asked for by name is an error.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from massagectl.routines.errors import InvalidFileError, Problem
from massagectl.routines.loading import load_model
from massagectl.safety.limits import SafetyLimits

Port = Annotated[int, Field(ge=1, le=65535)]


class DeviceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    profile: str = Field(default="chair", description="Built-in profile name or a profile file.")
    port: str | None = Field(
        default=None,
        description="Serial port or pyserial URL (/dev/ttyUSB0, socket://host:port, rfc2217://"
        "...). None runs the built-in simulator.",
    )
    baud: int = Field(default=115200, gt=0)


class SessionSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    user_profile: Path | None = Field(default=None, description="User profile file.")
    body_scan: bool = Field(
        default=True, description="Find the shoulder line with the roller before each session."
    )
    allow_remote_start: bool = Field(
        default=False,
        description="Let MQTT start a routine (only ever with the seat occupied).",
    )


class MqttSettings(BaseModel):
    """The MQTT bridge (`massagectl serve` runs it when `enabled = true`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    host: str = "localhost"
    port: Port = 1883
    username: str | None = None
    password_file: Path | None = Field(
        default=None, description="File holding the password, so the config can be shared."
    )
    tls: bool = Field(default=False, description="TLS to the broker; its certificate verified.")
    ca_file: Path | None = Field(
        default=None, description="CA that signed the broker's certificate (PEM); none: the "
        "system's trusted CAs.",
    )
    protocol: Literal["auto", "5", "3.1.1"] = Field(
        default="auto", description="MQTT version; auto: 5, else 3.1.1.")
    node_id: str | None = Field(
        default=None, pattern=r"^[a-zA-Z0-9_-]{1,64}$",
        description="The chair's id in topics; none: from the board's serial number.",
    )
    base_topic: str = Field(default="massagectl", pattern=r"^[^#+]{1,128}$")
    discovery_prefix: str = Field(default="homeassistant", pattern=r"^[^#+]{1,128}$")
    discovery: Literal["entity", "device"] = Field(
        default="entity", description="Home Assistant discovery per entity (every version) or "
        "per device (2024.11 and later); switching migrates the entities.",
    )
    on_broker_lost: Literal["continue", "stop"] = Field(
        default="continue", description="What a running session does when the broker goes "
        "away; the chair's safety never depends on the broker.",
    )


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "massagectl"


def default_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "massagectl" / "config.toml"


class LogSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    directory: Path = Field(
        default_factory=default_state_dir, description="Session traces and the fault log."
    )

    @property
    def fault_log(self) -> Path:
        """The top-level log: a board without a serial number's, and where earlier versions
        kept every chair's (each chair's own is in controller.service.chair_files)."""
        return self.directory / "faults.jsonl"

    @property
    def traces(self) -> Path:
        return self.directory / "traces"


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    device: DeviceSettings = DeviceSettings()
    session: SessionSettings = SessionSettings()
    mqtt: MqttSettings = MqttSettings()
    logs: LogSettings = Field(default_factory=LogSettings)
    limits: SafetyLimits = Field(
        default_factory=SafetyLimits,
        description="The owner's safety limits for this chair: caps up to their absolute "
        "ceilings, budgets only lower than the built-in defaults, the session cap up to 60 min.",
    )


def load_config(path: str | Path | None = None) -> Config:
    """The configuration at `path`, the environment's or the standard location; else defaults."""
    asked = path if path is not None else os.environ.get("MASSAGECTL_CONFIG")
    if asked is not None:
        asked = Path(asked).expanduser()
        if not asked.exists():
            problem = Problem(str(asked), "", "no such config file; check --config or "
                              "MASSAGECTL_CONFIG")
            raise InvalidFileError(asked, [problem])
        return _load(asked)
    standard = default_config_path()
    return _load(standard) if standard.exists() else Config()


def _load(path: Path) -> Config:
    config = load_model(path, Config)
    # Relative paths in the file are relative to the file, not to wherever massagectl was run.
    base = path.parent
    updates: dict[str, BaseModel] = {}
    if config.session.user_profile is not None and not config.session.user_profile.is_absolute():
        updates["session"] = config.session.model_copy(
            update={"user_profile": base / config.session.user_profile.expanduser()}
        )
    profile = config.device.profile
    if profile.endswith(".toml") and not Path(profile).expanduser().is_absolute():
        updates["device"] = config.device.model_copy(update={"profile": str(base / profile)})
    mqtt_files = {name: base / path.expanduser()
                  for name in ("password_file", "ca_file")
                  if (path := getattr(config.mqtt, name)) is not None and not path.is_absolute()}
    if mqtt_files:
        updates["mqtt"] = config.mqtt.model_copy(update=mqtt_files)
    if not config.logs.directory.is_absolute():
        updates["logs"] = LogSettings(directory=base / config.logs.directory.expanduser())
    return config.model_copy(update=updates)
