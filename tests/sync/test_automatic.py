"""The server's automatic sync: off by default, a round per interval, conflicts only logged."""

from __future__ import annotations

import logging

import pytest
from traitlets.config import Config

from watchdog_lab.errors import InvalidSetting
from watchdog_lab.settings import load_settings
from watchdog_lab.sync import Sync, clone
from watchdog_lab.sync.automatic import AutomaticSync
from watchdog_lab.vault import CreateConnection, UpdateConnection, Vault

from .conftest import PASSWORD, SYNC_NAME, Database


def test_automatic_sync_is_off_by_default() -> None:
    settings = load_settings(Config())
    assert settings.sync_automatic is False
    assert settings.sync_interval_seconds == 300


def test_an_interval_out_of_bounds_stops_at_start_naming_the_setting() -> None:
    config = Config()
    config.WatchdogLab.sync_interval_seconds = 1
    with pytest.raises(InvalidSetting, match=r"c\.WatchdogLab\.sync_interval_seconds"):
        load_settings(config)


def test_a_locked_vault_or_a_home_without_sync_skips_the_round(home_a: Vault) -> None:
    auto = AutomaticSync(lambda: home_a, 60)
    assert auto.run_once().ran is False  # unlocked, but sync is not set up here
    Sync(home_a).setup(SYNC_NAME, ["connections"])
    home_a.lock()
    assert auto.run_once().ran is False


def test_a_round_pulls_then_pushes_and_logs_conflicts_without_names(
    home_a: Vault, empty_home: Vault, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    home_a.add_connection(
        CreateConnection(name="desk-secret-name", kind="generic", fields={"t": "tok_a_1234567"})
    )
    Sync(home_a).setup(SYNC_NAME, ["connections"])
    changed: list[bool] = []
    auto_a = AutomaticSync(lambda: home_a, 60, on_change=lambda: changed.append(True))
    assert auto_a.run_once().pushed == 2
    clone(empty_home, database.target(), PASSWORD)
    auto_b = AutomaticSync(lambda: empty_home, 60)
    empty_home.update_connection("desk-secret-name", UpdateConnection(fields={"t": "tok_b_1"}))
    assert auto_b.run_once().pushed == 1
    home_a.update_connection("desk-secret-name", UpdateConnection(fields={"t": "tok_a_2"}))
    with caplog.at_level(logging.WARNING):
        result = auto_a.run_once()
    assert result.conflicts == 1 and result.pushed == 0
    assert "sync conflict on record" in caplog.text
    assert "desk-secret-name" not in caplog.text and "tok_" not in caplog.text
    assert home_a.get_connection("desk-secret-name").fields == {"t": "tok_a_2"}  # kept
