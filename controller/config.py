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
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

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
    """For the MQTT bridge, which this version does not have yet: the settings are checked so
    a config written for it stays valid, but `enabled = true` is refused rather than ignored
    (an owner must not believe a stop over MQTT works when nothing listens)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    host: str = "localhost"
    port: Port = 1883
    username: str | None = None
    password_file: Path | None = Field(
        default=None, description="File holding the password, so the config can be shared."
    )
    node_id: str = Field(default="massage_chair", pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    base_topic: str = Field(default="massagectl", pattern=r"^[^#+]{1,128}$")
    discovery_prefix: str = Field(default="homeassistant", pattern=r"^[^#+]{1,128}$")

    @field_validator("enabled")
    @classmethod
    def _bridge_not_there_yet(cls, enabled: bool) -> bool:
        if enabled:
            raise ValueError("this version of massagectl has no MQTT bridge yet; set "
                             "enabled = false (nothing would listen to MQTT commands)")
        return enabled


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
    updates = {}
    if config.session.user_profile is not None and not config.session.user_profile.is_absolute():
        updates["session"] = config.session.model_copy(
            update={"user_profile": base / config.session.user_profile.expanduser()}
        )
    profile = config.device.profile
    if profile.endswith(".toml") and not Path(profile).expanduser().is_absolute():
        updates["device"] = config.device.model_copy(update={"profile": str(base / profile)})
    if not config.logs.directory.is_absolute():
        updates["logs"] = LogSettings(directory=base / config.logs.directory.expanduser())
    return config.model_copy(update=updates)
