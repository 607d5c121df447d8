"""A vault made around another home's wrapped data key (what a new home's first pull does)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from watchdog_lab.vault import Vault, VaultExists, WrongPassword
from watchdog_lab.vault.crypto import KdfParams

from .conftest import FAST_KDF, PASSWORD, make_home


@pytest.fixture
def first(tmp_path: Path) -> Vault:
    vault = Vault(make_home(tmp_path / "first"), kdf=FAST_KDF)
    vault.create(PASSWORD)
    return vault


def test_the_new_home_unlocks_with_the_password_and_holds_the_same_key(
    first: Vault, tmp_path: Path
) -> None:
    second = Vault(make_home(tmp_path / "second"), kdf=FAST_KDF)
    second.create_from_wrapped_key(PASSWORD, first.wrapped_key())
    second.close()
    reopened = Vault(tmp_path / "second")
    reopened.unlock(PASSWORD)  # its own header digest and MAC check out
    assert reopened.service_key("sync-record") == first.service_key("sync-record")
    assert not reopened.totp_enabled
    reopened.close()


def test_a_wrong_password_makes_no_vault(first: Vault, tmp_path: Path) -> None:
    second = Vault(make_home(tmp_path / "second"), kdf=FAST_KDF)
    with pytest.raises(WrongPassword):
        second.create_from_wrapped_key("not the password", first.wrapped_key())
    assert not second.exists()


def test_changed_parameters_do_not_unwrap(first: Vault, tmp_path: Path) -> None:
    """The wrapping's associated data covers the KDF parameters, salt and vault id."""
    wrapped = first.wrapped_key()
    cheaper = KdfParams(time_cost=1, memory_kib=8 * 1024, parallelism=2).to_json()
    for changed in (
        dataclasses.replace(wrapped, kdf=cheaper),
        dataclasses.replace(wrapped, vault_id="0" * 32),
    ):
        second = Vault(make_home(tmp_path / f"second-{id(changed)}"), kdf=FAST_KDF)
        with pytest.raises(WrongPassword):
            second.create_from_wrapped_key(PASSWORD, changed)


def test_an_existing_vault_is_left_alone(first: Vault) -> None:
    with pytest.raises(VaultExists):
        first.create_from_wrapped_key(PASSWORD, first.wrapped_key())
