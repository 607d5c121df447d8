"""Configuration and lifetime of the extension app (watchdog_lab/server/app.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

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
