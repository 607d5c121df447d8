"""The SQLite file itself: permissions, journal mode, schema version and migrations."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from watchdog_lab.vault import UnsupportedVault, Vault
from watchdog_lab.vault.store import Store, schema_version

from .conftest import PASSWORD, generic, open_vault


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_home_is_0700_and_vault_files_are_0600(vault: Vault, home: Path) -> None:
    vault.add_connection(generic("A", token="t" * 16))
    assert _mode(home) == 0o700
    for name in ("vault.db", "vault.db-wal", "vault.db-shm"):
        assert _mode(home / name) == 0o600, name


def test_a_loosened_home_is_tightened_on_open(vault: Vault, home: Path) -> None:
    vault.close()
    home.chmod(0o755)
    (home / "vault.db").chmod(0o644)
    open_vault(home).unlock(PASSWORD)
    assert _mode(home) == 0o700 and _mode(home / "vault.db") == 0o600


def test_journal_is_wal(vault: Vault, home: Path) -> None:
    mode = sqlite3.connect(home / "vault.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_new_file_is_at_the_current_schema_version(vault: Vault, home: Path) -> None:
    version = sqlite3.connect(home / "vault.db").execute("PRAGMA user_version").fetchone()[0]
    assert version == schema_version() >= 1


def test_a_newer_schema_is_refused_with_upgrade_advice(vault: Vault, home: Path) -> None:
    vault.close()
    sqlite3.connect(home / "vault.db").execute(f"PRAGMA user_version = {schema_version() + 1}")
    with pytest.raises(UnsupportedVault, match="Upgrade watchdog-lab"):
        open_vault(home).unlock(PASSWORD)


def test_migrations_run_in_order_and_only_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from watchdog_lab.vault import store as store_module

    applied: list[int] = []

    def second(db: sqlite3.Connection) -> None:
        applied.append(2)
        db.execute("CREATE TABLE extra (x INTEGER)")

    monkeypatch.setattr(store_module, "MIGRATIONS", [*store_module.MIGRATIONS, second])
    path = tmp_path / "home" / "vault.db"
    Store(path).close()
    Store(path).close()
    assert applied == [2]
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == schema_version()


def test_a_failing_migration_leaves_the_file_at_its_old_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from watchdog_lab.vault import store as store_module

    path = tmp_path / "home" / "vault.db"
    Store(path).close()
    before = len(store_module.MIGRATIONS)

    def broken(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE half (x INTEGER)")
        raise RuntimeError("migration failed")

    monkeypatch.setattr(store_module, "MIGRATIONS", [*store_module.MIGRATIONS, broken])
    with pytest.raises(RuntimeError):
        Store(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == before
    assert db.execute("SELECT name FROM sqlite_master WHERE name = 'half'").fetchone() is None


def test_hostile_names_are_stored_as_data_not_sql(vault: Vault) -> None:
    name = "x'); DROP TABLE connections; --"
    # Not a valid connection name, so it must be refused without touching the table...
    with pytest.raises(Exception, match="Invalid connection name"):
        vault.add_connection(generic(name, token="t" * 16))
    # ...and a valid name containing SQL words round-trips as plain text.
    vault.add_connection(generic("DROP TABLE connections", token="t" * 16))
    assert vault.get_connection("drop table connections").fields == {"token": "t" * 16}
