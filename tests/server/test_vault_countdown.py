"""The vault state tells when the auto-lock will fire (``locks_in_seconds`` of GET vault).

The sidebar counts down from it; the server's idle lock runs on a clock the test moves by hand,
so every figure is exact and no test waits for real time.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from traitlets.config import Config

from watchdog_lab.server.idle import IdleLock

from .conftest import server_config

PASSWORD = "correct horse battery staple"
#: Seconds of the hand-moved idle lock (whole numbers: exact comparisons).
TIMEOUT = 120


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def jp_server_config(watchdog_home: Path) -> Config:
    return server_config(watchdog_home, auto_lock_minutes=TIMEOUT / 60)


@pytest.fixture
def clock(watchdog_app) -> Clock:  # type: ignore[no-untyped-def]
    """The server's idle lock on a hand-moved clock, checked only when the test says."""
    hand = Clock()
    watchdog_app.idle_lock.stop()
    watchdog_app.idle_lock = IdleLock(lambda: watchdog_app.vault, TIMEOUT, clock=hand)
    return hand


async def test_an_unlocked_vault_reports_the_seconds_left_before_the_auto_lock(
    api, clock: Clock
) -> None:
    assert (await api.post("vault", {"password": PASSWORD})).code == 201
    clock.now += 30
    assert (await api.get("vault")).json["locks_in_seconds"] == TIMEOUT - 30


async def test_a_vault_use_restarts_the_reported_countdown(api, clock: Clock) -> None:
    assert (await api.post("vault", {"password": PASSWORD})).code == 201
    clock.now += 100
    assert (await api.get("connections")).code == 200
    clock.now += 10
    assert (await api.get("vault")).json["locks_in_seconds"] == TIMEOUT - 10


async def test_the_reported_countdown_reaches_zero_and_the_vault_then_locks(
    api, watchdog_app, clock: Clock
) -> None:
    assert (await api.post("vault", {"password": PASSWORD})).code == 201
    clock.now += TIMEOUT + 5
    assert (await api.get("vault")).json["locks_in_seconds"] == 0
    assert watchdog_app.idle_lock.check() is True
    body = (await api.get("vault")).json
    assert (body["state"], body["locks_in_seconds"]) == ("locked", None)


async def test_a_locked_vault_reports_no_countdown(api, clock: Clock) -> None:
    assert (await api.post("vault", {"password": PASSWORD})).code == 201
    assert (await api.post("vault/lock", {})).code == 200
    assert (await api.get("vault")).json["locks_in_seconds"] is None


async def test_an_absent_vault_reports_no_countdown(api, clock: Clock) -> None:
    body = (await api.get("vault")).json
    assert (body["state"], body["locks_in_seconds"]) == ("absent", None)


async def test_an_unlock_the_checker_has_not_seen_counts_from_the_last_locked_check(
    api, watchdog_app, make_vault, clock: Clock
) -> None:
    """Unlocked in-process (not through a route, so no touch): the countdown the sidebar
    sees is the one the checker acts on, dated to the last check that saw the vault locked."""
    make_vault(PASSWORD)
    clock.now += 1000  # a long-past touch must not make the fresh unlock look expired
    watchdog_app.idle_lock.check()  # sees it locked
    watchdog_app.vault.unlock(PASSWORD)
    clock.now += 20
    assert (await api.get("vault")).json["locks_in_seconds"] == TIMEOUT - 20


class TestAutoLockOff:
    @pytest.fixture
    def jp_server_config(self, watchdog_home: Path) -> Config:
        return server_config(watchdog_home, auto_lock_minutes=0)

    async def test_no_countdown_is_reported_when_the_auto_lock_is_off(self, api) -> None:
        assert (await api.post("vault", {"password": PASSWORD})).code == 201
        body = (await api.get("vault")).json
        assert (body["state"], body["locks_in_seconds"]) == ("unlocked", None)
