"""The CLI reads ``c.WatchdogLab.*`` from the same Jupyter config files as the server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from watchdog_lab.bots.layout import BotPaths
from watchdog_lab.bots.registry import BotRegistry
from watchdog_lab.settings import UV_CACHE_ENV
from watchdog_lab.vault import Vault

from ..support import write_notebook
from .conftest import CLI, FAST_KDF, PASSWORD, Cli, clean_env


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "jupyter-config"
    folder.mkdir()
    return folder


def test_a_bot_promoted_by_the_cli_records_the_configured_sandbox_and_restart_policy(
    cli: Cli, config_dir: Path, tmp_path: Path, uv_cache: Path
) -> None:
    (config_dir / "jupyter_server_config.py").write_text(
        'c.WatchdogLab.sandbox = "require"\nc.WatchdogLab.restart_max_failures = 2\n'
    )
    env = {
        "JUPYTER_CONFIG_DIR": str(config_dir),
        UV_CACHE_ENV: str(uv_cache),
    }
    cli.ok("init", *FAST_KDF, env=env)
    notebook = write_notebook(tmp_path / "plain.ipynb", "print('hello')")
    cli.ok("bots", "promote", str(notebook), "--name", "Configured", "--once", env=env, timeout=300)
    with Vault(cli.home) as vault:
        (bot_id,) = [r.id for r in BotRegistry(vault.store).list() if r.name == "Configured"]
    config = json.loads(BotPaths(cli.home, bot_id).config_file.read_text())
    assert config["sandbox"] == "require"
    assert config["restart"]["max_failures"] == 2


def test_the_cli_refuses_to_start_on_a_bad_setting_naming_it_and_its_values(
    cli: Cli, config_dir: Path
) -> None:
    (config_dir / "jupyter_server_config.py").write_text('c.WatchdogLab.sandbox = "bogus"\n')
    result = cli.run("init", *FAST_KDF, env={"JUPYTER_CONFIG_DIR": str(config_dir)})
    assert result.rc == 1
    assert "c.WatchdogLab.sandbox" in result.err
    assert "'best', 'require', 'landlock', 'bubblewrap', 'none'" in result.err
    assert not (cli.home / "vault.db").exists()  # nothing ran


def test_the_configured_argon2_cost_makes_the_cli_s_new_vault(cli: Cli, config_dir: Path) -> None:
    (config_dir / "jupyter_server_config.json").write_text(
        json.dumps({"WatchdogLab": {"argon2_time_cost": 1, "argon2_memory_kib": 8192}})
    )
    result = cli.ok("init", "--kdf-parallelism", "1", env={"JUPYTER_CONFIG_DIR": str(config_dir)})
    assert "Argon2id t=1, m=8 MiB, p=1" in result.out


def test_the_configured_home_is_where_the_cli_keeps_the_vault(
    cli: Cli, config_dir: Path, tmp_path: Path
) -> None:
    """With no --home, c.WatchdogLab.home decides, as it does for the server."""
    configured = tmp_path / "configured-home"
    (config_dir / "jupyter_server_config.py").write_text(
        f"c.WatchdogLab.home = {str(configured)!r}\n"
    )
    env = clean_env(cli.home, JUPYTER_CONFIG_DIR=str(config_dir), WATCHDOG_LAB_PASSWORD=PASSWORD)
    del env["WATCHDOG_LAB_HOME"]
    env["HOME"] = str(tmp_path / "user")  # were the setting ignored, nothing lands in a real home
    done = subprocess.run(
        [*CLI, "init", *FAST_KDF], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert (configured / "vault.db").is_file()
