"""restore_keys(): one password gives both keys of an in-place restore, for every face."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchdog_lab.backup.errors import BackupWrongPassword, CurrentVaultNotOpened
from watchdog_lab.backup.keys import key_from_vault, restore_keys
from watchdog_lab.vault import VAULT_FILE

from .conftest import NEW_PASSWORD, PASSWORD, Populated, open_vault


def snapshot_of(populated: Populated) -> str:
    return populated.manager.create(key_from_vault(populated.vault), "manual").id


def test_the_same_vault_opens_with_its_password_of_today(populated: Populated) -> None:
    backup_id = snapshot_of(populated)
    populated.vault.change_password(PASSWORD, NEW_PASSWORD)
    expected = key_from_vault(populated.vault)
    header = populated.manager.header(backup_id)
    keys = restore_keys(header, NEW_PASSWORD, populated.home / VAULT_FILE)
    assert keys.snapshot.key == keys.current.key == expected.key  # type: ignore[union-attr]


def test_the_same_vault_opens_with_the_password_it_had_then(populated: Populated) -> None:
    backup_id = snapshot_of(populated)
    populated.vault.change_password(PASSWORD, NEW_PASSWORD)
    header = populated.manager.header(backup_id)
    keys = restore_keys(header, PASSWORD, populated.home / VAULT_FILE)
    assert keys.current is not None and keys.current.key == keys.snapshot.key


def test_no_current_vault_means_nothing_to_save_first(populated: Populated, tmp_path: Path) -> None:
    header = populated.manager.header(snapshot_of(populated))
    keys = restore_keys(header, PASSWORD, tmp_path / "nowhere" / VAULT_FILE)
    assert keys.current is None and keys.snapshot.vault_id == header.vault_id


def test_another_vault_that_the_password_does_not_open_is_refused(
    populated: Populated, tmp_path: Path
) -> None:
    header = populated.manager.header(snapshot_of(populated))
    other = open_vault(tmp_path / "other")
    other.create(NEW_PASSWORD)
    other.close()
    with pytest.raises(CurrentVaultNotOpened, match="--into DIR"):
        restore_keys(header, PASSWORD, tmp_path / "other" / VAULT_FILE)


def test_a_password_that_opens_neither_is_wrong(populated: Populated) -> None:
    header = populated.manager.header(snapshot_of(populated))
    with pytest.raises(BackupWrongPassword):
        restore_keys(header, "not the password", populated.home / VAULT_FILE)
