"""The command line's top level: --version and tab completion."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata

import pytest

from massagectl.controller.cli import main


def test_version_prints_the_installed_version(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out == f"massagectl {metadata.version('massagectl')}\n"


def _complete(line: str, tmp_path) -> list[str]:
    """What the shell's hook gets back for `line` with the cursor at its end."""
    env = {**os.environ, "_ARGCOMPLETE": "1", "_ARGCOMPLETE_IFS": "\n", "COMP_LINE": line,
           "COMP_POINT": str(len(line)), "_ARGCOMPLETE_SHELL": "bash"}
    env.pop("_ARC_DEBUG", None)
    # argcomplete answers on fd 8 and writes debug output to fd 9, as the shell hook sets up.
    done = subprocess.run(["bash", "-c", f"{sys.executable} -m massagectl 8>&1 9>/dev/null"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          check=False)
    return sorted(word.strip() for word in done.stdout.split("\n") if word.strip())


def test_tab_completes_commands_built_in_routine_names_and_routine_files(tmp_path):
    (tmp_path / "evening.toml").write_text("")
    assert _complete("massagectl tr", tmp_path) == ["trace"]
    assert _complete("massagectl run re", tmp_path) == ["relax"]
    assert _complete("massagectl plot e", tmp_path) == ["energising_tap", "evening.toml"]


def test_completion_prints_the_shell_hook(capsys):
    assert main(["completion"]) == 0
    hook = capsys.readouterr().out
    assert "massagectl" in hook and "complete" in hook


def test_warnings_print_only_with_verbose(caplog):
    import logging

    from massagectl.controller.cli import _log_level

    log = logging.getLogger("massagectl.firmware_bridge.link")
    with _log_level(0):
        log.warning("link to /dev/ttyUSB0 lost")  # the summary and the fault log say it
    assert caplog.records == []
    with _log_level(1):
        log.warning("link to /dev/ttyUSB0 lost")
    assert [r.getMessage() for r in caplog.records] == ["link to /dev/ttyUSB0 lost"]
