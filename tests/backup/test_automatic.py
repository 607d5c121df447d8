"""Automatic backups: after a vault change (debounced), daily, never while locked."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from traitlets.config import Config

from watchdog_lab.backup import BackupManager, key_from_vault
from watchdog_lab.backup.automatic import AutomaticBackups, change_marker
from watchdog_lab.errors import InvalidSetting
from watchdog_lab.settings import load_settings
from watchdog_lab.vault import CreateConnection

from .conftest import Populated

DAY = 86400.0


def _auto(populated: Populated, *, debounce: float = 0.05, now: Callable[[], float] = time.time):
    vault = populated.vault
    manager = BackupManager(populated.home, clock=now)
    return AutomaticBackups(
        manager,
        lambda: key_from_vault(vault) if vault.state.value == "unlocked" else None,
        lambda: change_marker(vault.store.query_one),
        debounce_seconds=debounce,
        clock=now,
    )


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_a_change_is_backed_up_after_the_debounce(populated: Populated) -> None:
    populated.manager.create(key_from_vault(populated.vault))  # today's snapshot exists
    auto = _auto(populated)
    auto.start()
    try:
        populated.vault.add_connection(
            CreateConnection(name="Later", kind="generic", fields={"token": "x" * 20})
        )
        for _ in range(5):  # a burst of uses: one snapshot
            auto.notify()
        assert _wait_for(lambda: len(populated.manager.list()) == 2)
        time.sleep(0.3)
        reasons = [b.reason for b in populated.manager.list()]
        assert reasons == ["automatic", "manual"]
        assert _wait_for(lambda: auto.last_automatic_at is not None)
        assert auto.last_error is None
    finally:
        auto.stop()


def test_a_use_without_a_change_makes_no_backup(populated: Populated) -> None:
    populated.manager.create(key_from_vault(populated.vault))
    auto = _auto(populated)
    auto.start()
    try:
        populated.vault.list_connections()
        auto.notify()
        time.sleep(0.4)
        assert len(populated.manager.list()) == 1
    finally:
        auto.stop()


def test_a_locked_vault_is_not_backed_up_and_says_so(populated: Populated) -> None:
    auto = _auto(populated)
    auto._backed_up = -1  # a change since the last snapshot
    populated.vault.lock()
    assert auto.check() is None
    assert populated.manager.list() == []
    assert auto.last_error is not None and "locked" in auto.last_error


def test_a_daily_backup_is_made_when_the_newest_is_a_day_old(populated: Populated) -> None:
    now = [1_800_000_000.0]
    auto = _auto(populated, now=lambda: now[0])
    auto.start()
    try:
        # No snapshot at all: the daily one is due at once, without any vault use.
        assert _wait_for(lambda: len(auto.manager.list()) == 1)
        assert auto.manager.list()[0].reason == "daily"
    finally:
        auto.stop()  # the rest is checked step by step, the clock moved by hand
    now[0] += DAY - 60
    assert auto.check() is None
    now[0] += 120
    assert auto.check() is not None
    assert [b.reason for b in auto.manager.list()] == ["daily", "daily"]


def test_backup_settings_are_checked_when_loaded() -> None:
    settings = load_settings(
        Config({"WatchdogLab": {"backup_retention_days": 7, "backup_debounce_seconds": 2.5}})
    )
    assert (settings.backup_retention_days, settings.backup_debounce_seconds) == (7, 2.5)
    assert settings.backup_automatic is True
    for bad in ({"backup_retention_days": 0}, {"backup_debounce_seconds": -1.0}):
        with pytest.raises(InvalidSetting, match=next(iter(bad))):
            load_settings(Config({"WatchdogLab": bad}))
