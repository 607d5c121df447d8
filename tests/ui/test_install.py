"""The installed package as Jupyter sees it: both extensions present, enabled and valid."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import watchdog_lab

REPO = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def jupyter(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "jupyter", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return ANSI.sub("", done.stdout + done.stderr)


def isolated_env(tmp_path: Path) -> dict[str, str]:
    """Only the environment's own config counts: no user-level enable or disable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    env.update(
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_DATA_DIR=str(tmp_path / "data"),
        HOME=str(tmp_path),
    )
    return env


def test_lab_extension_is_installed_enabled_and_ok(tmp_path: Path) -> None:
    listing = jupyter("labextension", "list", env=isolated_env(tmp_path))
    version = re.escape(watchdog_lab.__version__)
    assert re.search(rf"watchdog-lab v{version} enabled\s+OK", listing), listing


def test_server_extension_is_enabled_by_the_installed_config(tmp_path: Path) -> None:
    listing = jupyter("server", "extension", "list", env=isolated_env(tmp_path))
    assert re.search(r"watchdog_lab\s+enabled", listing), listing
    version = re.escape(watchdog_lab.__version__)
    assert re.search(rf"watchdog_lab {version}\s+OK", listing), listing


def test_front_end_version_matches_the_python_version() -> None:
    package = json.loads((REPO / "labextension" / "package.json").read_text())
    assert package["version"] == watchdog_lab.__version__
