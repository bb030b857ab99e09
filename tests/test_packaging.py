"""What `pip install .` puts on the import path: one name, `massagectl`, and our every folder."""

from __future__ import annotations

import tomllib
from pathlib import Path

import massagectl

REPO = Path(__file__).resolve().parents[1]
PROJECT_FOLDERS = ["routines", "safety", "firmware_bridge", "sim", "controller", "mqtt_bridge"]


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_every_package_folder_installs_below_massagectl():
    """A sub-package missing from pyproject's list would be left out of the wheel: the tests
    (run from the source tree) would pass while an installed massagectl failed to import it."""
    setuptools = _pyproject()["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    assert all(name == "massagectl" or name.startswith("massagectl.") for name in listed)
    on_disk = {
        "massagectl." + ".".join(init.parent.relative_to(REPO).parts)
        for folder in PROJECT_FOLDERS
        if (REPO / folder).is_dir()
        for init in (REPO / folder).rglob("__init__.py")
    }
    assert on_disk <= listed, f"add to [tool.setuptools] packages: {sorted(on_disk - listed)}"
    for name in listed - {"massagectl"}:
        top = name.split(".")[1]
        assert setuptools["package-dir"][f"massagectl.{top}"] == top


def test_the_command_and_the_version_come_from_the_one_import_name():
    assert _pyproject()["project"]["scripts"]["massagectl"].startswith("massagectl.")
    assert massagectl.__version__ == _pyproject()["project"]["version"]
