"""Auto-lock after a stretch without vault use (watchdog_lab/server/idle.py)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from traitlets.config import Config

from watchdog_lab.server.idle import IdleLock

from .conftest import FAST_KDF_CONFIG

PASSWORD = "correct horse battery staple"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def unlocked_vault(make_vault):  # type: ignore[no-untyped-def]
    return make_vault(PASSWORD)


# --- the checker on its own --------------------------------------------------------------


def test_an_idle_vault_is_locked_once_the_timeout_passes(unlocked_vault) -> None:
    clock = Clock()
    idle = IdleLock(lambda: unlocked_vault, 60, clock=clock)
    idle.touch()
    clock.now += 59
    assert idle.check() is False
    assert unlocked_vault.state.value == "unlocked"
    clock.now += 1
    assert idle.check() is True
    assert unlocked_vault.state.value == "locked"


def test_a_touch_restarts_the_countdown(unlocked_vault) -> None:
    clock = Clock()
    idle = IdleLock(lambda: unlocked_vault, 60, clock=clock)
    idle.touch()
    clock.now += 50
    idle.touch()
    clock.now += 50
    assert idle.check() is False
    assert unlocked_vault.state.value == "unlocked"
    assert idle.seconds_left() == 10


def test_an_unlock_it_did_not_see_is_not_timed_from_an_older_touch(make_vault) -> None:
    vault = make_vault(PASSWORD)
    vault.lock()
    clock = Clock()
    idle = IdleLock(lambda: vault, 60, clock=clock)
    idle.touch()
    clock.now += 3600
    assert idle.check() is False  # seen locked, an hour after the last touch
    vault.unlock(PASSWORD)  # unlocked by another path, with no touch
    clock.now += 10
    assert idle.check() is False
    assert vault.state.value == "unlocked"
    clock.now += 50
    assert idle.check() is True


def test_a_zero_timeout_never_locks(unlocked_vault) -> None:
    clock = Clock()
    idle = IdleLock(lambda: unlocked_vault, 0, clock=clock)
    clock.now += 10**6
    assert idle.check() is False
    assert idle.seconds_left() is None
    assert unlocked_vault.state.value == "unlocked"


def test_the_idle_lock_is_recorded_in_the_audit_log(unlocked_vault) -> None:
    clock = Clock()
    idle = IdleLock(lambda: unlocked_vault, 60, clock=clock)
    clock.now += 61
    idle.check()
    unlocked_vault.unlock(PASSWORD)
    events = [e.event for e in unlocked_vault.audit_log(limit=3)]
    assert events[:2] == ["vault.unlocked", "vault.locked"]


# --- on a running server -----------------------------------------------------------------

#: 0.6 s: short enough for a test, checked every 60 ms.
AUTO_LOCK_MINUTES = 0.01
#: Seconds, on the hand-moved clock (whole numbers: no rounding at the deadline).
HAND_TIMEOUT = 60


@pytest.fixture
def jp_server_config(watchdog_home: Path) -> Config:
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"watchdog_lab": True}},
            "WatchdogLab": {
                "home": str(watchdog_home),
                "auto_lock_minutes": AUTO_LOCK_MINUTES,
                **FAST_KDF_CONFIG,
            },
        }
    )


async def wait_for_state(api, wanted: str, within: float) -> None:  # type: ignore[no-untyped-def]
    """Wait until GET vault reports ``wanted``; fails after ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if (await api.get("vault")).json["state"] == wanted:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the vault did not become {wanted} within {within} s")


@pytest.fixture
def hand_clock(watchdog_app) -> Clock:  # type: ignore[no-untyped-def]
    """The running server's idle lock, on a clock the test moves, checked when the test says:
    which requests count as a use is then tested with no race against real time."""
    clock = Clock()
    watchdog_app.idle_lock.stop()
    watchdog_app.idle_lock = IdleLock(lambda: watchdog_app.vault, HAND_TIMEOUT, clock=clock)
    return clock


async def test_the_server_locks_an_unused_vault(api) -> None:
    """The server's own periodic check locks the vault, with nothing but state polls."""
    assert (await api.post("vault", {"password": PASSWORD})).code == 201
    await wait_for_state(api, "locked", within=10)
    assert (await api.get("connections")).code == 423


async def test_polling_the_state_is_not_a_use(api, watchdog_app, hand_clock: Clock) -> None:
    """An open sidebar polls the state; it must not keep the vault unlocked forever."""
    assert (await api.post("vault", {"password": PASSWORD})).code == 201
    for _ in range(2):  # the second check comes a full timeout after the unlock
        hand_clock.now += HAND_TIMEOUT / 2
        assert (await api.get("vault")).json["state"] == "unlocked"
        watchdog_app.idle_lock.check()
    assert (await api.get("vault")).json["state"] == "locked"


async def test_vault_use_keeps_the_server_vault_unlocked(
    api, watchdog_app, hand_clock: Clock
) -> None:
    assert (await api.post("vault", {"password": PASSWORD})).code == 201
    for _ in range(5):
        hand_clock.now += HAND_TIMEOUT * 0.9
        assert (await api.get("connections")).code == 200
        assert watchdog_app.idle_lock.check() is False
    hand_clock.now += HAND_TIMEOUT
    assert watchdog_app.idle_lock.check() is True
    assert (await api.get("vault")).json["state"] == "locked"


async def test_other_services_touch_through_the_app(api, watchdog_app, hand_clock: Clock) -> None:
    assert (await api.post("vault", {"password": PASSWORD})).code == 201
    for _ in range(5):
        hand_clock.now += HAND_TIMEOUT * 0.9
        watchdog_app.touch_vault()
        assert watchdog_app.idle_lock.check() is False
    assert (await api.get("vault")).json["state"] == "unlocked"
