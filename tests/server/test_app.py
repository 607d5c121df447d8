"""Configuration and lifetime of the extension app (watchdog_lab/server/app.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from watchdog_lab.bots.kernelspec import BOT_PROVISIONER, write_kernelspec
from watchdog_lab.server.app import WatchdogLab

PASSWORD = "correct horse battery staple"


def test_home_defaults_to_the_watchdog_lab_home_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_LAB_HOME", str(tmp_path / "from-env"))
    assert WatchdogLab().home == str(tmp_path / "from-env")


def test_home_defaults_to_a_folder_in_the_user_home_without_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WATCHDOG_LAB_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert WatchdogLab().home == str(tmp_path / ".watchdog-lab")


def test_configured_home_is_where_the_servers_vault_lives(watchdog_app, watchdog_home) -> None:
    assert watchdog_app.vault.path.parent == watchdog_home


async def test_stopping_the_extension_drops_the_unlocked_key(watchdog_app, make_vault) -> None:
    make_vault(PASSWORD)
    vault = watchdog_app.vault
    vault.unlock(PASSWORD)
    assert vault.state.value == "unlocked"
    await watchdog_app.stop_extension()
    assert vault.state.value == "locked"


def test_the_server_refuses_to_start_on_a_bad_setting_naming_it_and_its_values(
    tmp_path: Path,
) -> None:
    """jupyter_server would log a failed extension and run on: with WatchDog Lab's defaults
    in place of what the user wrote, which for the sandbox would be the weaker setting."""
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "jupyter_server_config.py").write_text('c.WatchdogLab.sandbox = "bogus"\n')
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("WATCHDOG_LAB_", "JUPYTER"))},
        "JUPYTER_CONFIG_DIR": str(config_dir),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "WATCHDOG_LAB_HOME": str(tmp_path / "home"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
         "--ServerApp.token=unused", f"--ServerApp.root_dir={tmp_path}"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr[-2000:]
    assert "c.WatchdogLab.sandbox" in done.stderr
    assert "'best', 'require', 'landlock', 'bubblewrap', 'none'" in done.stderr


async def test_a_bots_kernelspec_is_listed_by_the_server_under_the_bots_name(
    jp_fetch, watchdog_home: Path
) -> None:
    """A user opens a notebook in exactly the bot's environment from JupyterLab's launcher."""
    bot_id = uuid.uuid4().hex
    spec_dir = write_kernelspec(watchdog_home, bot_id, "Market Maker", sys.executable)
    response = await jp_fetch("api", "kernelspecs")
    specs = json.loads(response.body)["kernelspecs"]
    assert spec_dir.name in specs
    spec = specs[spec_dir.name]["spec"]
    assert "Market Maker" in spec["display_name"]
    assert spec["metadata"]["kernel_provisioner"]["provisioner_name"] == BOT_PROVISIONER
