"""An over-long password is refused by the vault itself, before any key derivation or rate
limiting, whichever face (REST, CLI, magics) handed it over."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchdog_lab.vault import PasswordTooLong, Vault, WrongPassword
from watchdog_lab.vault.manager import PASSWORD_MAX

from .conftest import PASSWORD, open_vault

HUGE = "p" * (1024 * 1024)


def _failed_attempts(vault: Vault) -> int:
    return vault.store.query_one("SELECT failures FROM unlock_attempts")[0]


def test_a_huge_password_is_refused_by_unlock_without_counting_an_attempt(vault: Vault) -> None:
    vault.lock()
    with pytest.raises(PasswordTooLong, match=f"at most {PASSWORD_MAX} characters"):
        vault.unlock(HUGE)
    assert _failed_attempts(vault) == 0
    vault.unlock(PASSWORD)


def test_a_huge_password_is_refused_as_a_confirmation(vault: Vault) -> None:
    with pytest.raises(PasswordTooLong):
        vault.verify_password(HUGE)
    assert _failed_attempts(vault) == 0


@pytest.mark.parametrize("which", ["old", "new"])
def test_a_huge_password_is_refused_by_a_password_change(vault: Vault, which: str) -> None:
    old, new = (HUGE, "a new password") if which == "old" else (PASSWORD, HUGE)
    with pytest.raises(PasswordTooLong):
        vault.change_password(old, new)
    vault.lock()
    vault.unlock(PASSWORD)


def test_a_huge_password_creates_no_vault(home: Path) -> None:
    v = open_vault(home)
    with pytest.raises(PasswordTooLong):
        v.create(HUGE)
    assert not v.exists()


def test_a_password_of_exactly_the_maximum_is_accepted(home: Path) -> None:
    longest = "q" * PASSWORD_MAX
    v = open_vault(home)
    v.create(longest)
    v.lock()
    with pytest.raises(WrongPassword):
        v.unlock(longest[:-1] + "r")
    v.unlock(longest)
    v.close()
