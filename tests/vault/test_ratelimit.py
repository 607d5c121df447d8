"""Unlock throttling: refused before Argon2, exponential, and persisted across reopen."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchdog_lab.vault import RateLimitPolicy, Throttled, WrongPassword
from watchdog_lab.vault import crypto as crypto_module
from watchdog_lab.vault import manager as manager_module

from .conftest import PASSWORD, open_vault

POLICY = RateLimitPolicy(free_attempts=3, base_delay=60.0, max_delay=3600.0)


def _fail(home: Path, times: int) -> None:
    v = open_vault(home, rate_limit=POLICY)
    for _ in range(times):
        with pytest.raises(WrongPassword):
            v.unlock("wrong password")
    v.close()


@pytest.fixture
def created(home: Path) -> Path:
    v = open_vault(home, rate_limit=POLICY)
    v.create(PASSWORD)
    v.close()
    return home


def test_delays_grow_exponentially_after_the_free_attempts() -> None:
    policy = RateLimitPolicy(free_attempts=3, base_delay=1.0, max_delay=100.0)
    assert [policy.delay_after(n) for n in range(9)] == [0, 0, 0, 1, 2, 4, 8, 16, 32]
    assert policy.delay_after(50) == 100.0


def test_throttle_refuses_even_the_right_password(created: Path) -> None:
    _fail(created, 3)
    v = open_vault(created, rate_limit=POLICY)
    with pytest.raises(Throttled) as info:
        v.unlock(PASSWORD)
    assert 0 < info.value.retry_after <= 60
    assert "Try again in" in str(info.value)


def test_throttle_survives_a_reopen(created: Path) -> None:
    _fail(created, 3)
    with pytest.raises(Throttled):
        open_vault(created, rate_limit=POLICY).unlock(PASSWORD)
    with pytest.raises(Throttled):
        open_vault(created, rate_limit=POLICY).unlock(PASSWORD)


def test_throttled_attempt_runs_no_key_derivation(
    created: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail(created, 3)
    calls: list[int] = []
    real = crypto_module.derive_key

    def counting(*args: object, **kwargs: object) -> bytearray:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(manager_module, "derive_key", counting)
    with pytest.raises(Throttled):
        open_vault(created, rate_limit=POLICY).unlock(PASSWORD)
    assert calls == []


def test_backoff_expires_and_success_resets_the_count(created: Path) -> None:
    now = [1_800_000_000.0]
    clock = lambda: now[0]  # noqa: E731
    v = open_vault(created, rate_limit=POLICY, clock=clock)
    for _ in range(4):
        now[0] += 3600
        with pytest.raises(WrongPassword):
            v.unlock("wrong password")
    now[0] += 119
    with pytest.raises(Throttled):
        v.unlock(PASSWORD)
    now[0] += 2
    v.unlock(PASSWORD)
    v.lock()
    for _ in range(3):
        with pytest.raises(WrongPassword):
            v.unlock("wrong password")
    with pytest.raises(Throttled):
        v.unlock(PASSWORD)


def test_failed_and_throttled_attempts_are_audited(created: Path) -> None:
    _fail(created, 3)
    with pytest.raises(Throttled):
        open_vault(created, rate_limit=POLICY).unlock(PASSWORD)
    v = open_vault(created, rate_limit=RateLimitPolicy(free_attempts=100))
    v.unlock(PASSWORD)
    events = [e.event for e in v.audit_log()]
    assert events.count("vault.unlock_failed") == 3
    assert events.count("vault.unlock_throttled") == 1
