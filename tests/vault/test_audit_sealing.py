"""Audit details written while the vault is locked: sealed to the vault's audit public key,
readable after the next unlock, and a swapped or damaged key or blob is detected."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from watchdog_lab.vault import TamperedHeader, Vault
from watchdog_lab.vault.audit import CORRUPTED, Event
from watchdog_lab.vault.crypto import new_seal_keypair

from .conftest import PASSWORD, open_vault

DATA = Path(__file__).parent / "data"
BOT_ID = "b" * 32
INSTALLED = {"bot": "Momentum", "package": "left-pad-quant", "version": "2.4.1"}


def _raw(home: Path) -> sqlite3.Connection:
    return sqlite3.connect(home / "vault.db", isolation_level=None)


def _flip(blob: bytes, index: int) -> bytes:
    return blob[:index] + bytes([blob[index] ^ 0x01]) + blob[index + 1 :]


def _installed_while_locked(home: Path) -> None:
    """What a CLI or server that never had the password does after installing a package."""
    with open_vault(home) as locked:
        locked.record_event(Event.BOT_PACKAGE_INSTALLED, subject=BOT_ID, detail=INSTALLED)


def _installs(vault: Vault) -> list:
    return [e for e in vault.audit_log() if e.event == Event.BOT_PACKAGE_INSTALLED.value]


@pytest.fixture
def locked(vault: Vault, home: Path) -> Vault:
    vault.lock()
    return vault


def test_a_detail_recorded_while_locked_is_read_after_unlock(locked: Vault, home: Path) -> None:
    _installed_while_locked(home)
    locked.unlock(PASSWORD)
    (event,) = _installs(locked)
    assert event.detail == INSTALLED
    assert event.connection_id == BOT_ID


def test_sealed_details_survive_a_password_change(locked: Vault, home: Path) -> None:
    _installed_while_locked(home)
    locked.unlock(PASSWORD)
    locked.change_password(PASSWORD, "a brand new password")
    locked.lock()
    locked.unlock("a brand new password")
    assert _installs(locked)[0].detail == INSTALLED


def test_a_sealed_detail_is_not_stored_in_clear(locked: Vault, home: Path) -> None:
    _installed_while_locked(home)
    raw = b"".join(p.read_bytes() for p in home.iterdir() if p.is_file())
    for value in INSTALLED.values():
        assert value.encode() not in raw


def test_every_byte_of_a_sealed_detail_is_authenticated(locked: Vault, home: Path) -> None:
    _installed_while_locked(home)
    locked.unlock(PASSWORD)
    db = _raw(home)
    seq, blob = db.execute(
        "SELECT seq, sealed_detail FROM audit WHERE sealed_detail IS NOT NULL"
    ).fetchone()
    # The ephemeral key, the nonce, the ciphertext and the tag.
    for index in (0, 31, 32, 43, 44, len(blob) - 17, len(blob) - 1):
        db.execute("UPDATE audit SET sealed_detail = ? WHERE seq = ?", (_flip(blob, index), seq))
        (event,) = _installs(locked)
        assert event.detail == CORRUPTED
    db.execute("UPDATE audit SET sealed_detail = ? WHERE seq = ?", (blob, seq))
    assert _installs(locked)[0].detail == INSTALLED


def test_a_sealed_detail_moved_to_another_event_reads_as_tampered(
    locked: Vault, home: Path
) -> None:
    _installed_while_locked(home)
    locked.unlock(PASSWORD)
    _raw(home).execute(
        "UPDATE audit SET event = ? WHERE sealed_detail IS NOT NULL", (Event.BOT_STARTED.value,)
    )
    (event,) = [e for e in locked.audit_log() if e.event == Event.BOT_STARTED.value]
    assert event.detail == CORRUPTED


def test_a_swapped_audit_public_key_is_detected_at_unlock(locked: Vault, home: Path) -> None:
    _, attacker_public = new_seal_keypair()
    _raw(home).execute("UPDATE vault_header SET audit_public = ?", (attacker_public,))
    _installed_while_locked(home)  # sealed to the attacker's key, unknowingly
    with pytest.raises(TamperedHeader, match="audit key failed authentication"):
        locked.unlock(PASSWORD)


def test_a_key_pair_taken_from_another_vault_is_detected_at_unlock(
    locked: Vault, home: Path, tmp_path: Path
) -> None:
    other = open_vault(tmp_path / "other-home")
    other.create(PASSWORD)
    other.close()
    pair = (
        _raw(tmp_path / "other-home")
        .execute("SELECT audit_public, audit_private FROM vault_header")
        .fetchone()
    )
    _raw(home).execute("UPDATE vault_header SET audit_public = ?, audit_private = ?", pair)
    with pytest.raises(TamperedHeader, match="audit key failed authentication"):
        locked.unlock(PASSWORD)


def test_a_public_key_swapped_while_unlocked_stops_the_audit_read(vault: Vault, home: Path) -> None:
    _, attacker_public = new_seal_keypair()
    _raw(home).execute("UPDATE vault_header SET audit_public = ?", (attacker_public,))
    with pytest.raises(TamperedHeader, match="audit public key was replaced"):
        vault.audit_log()


def test_details_sealed_to_a_removed_audit_key_read_as_tampered(locked: Vault, home: Path) -> None:
    _installed_while_locked(home)
    _raw(home).execute("UPDATE vault_header SET audit_public = NULL, audit_private = NULL")
    locked.unlock(PASSWORD)  # looks like a vault from before the audit key: it gets a new one
    (event,) = _installs(locked)
    assert event.detail == CORRUPTED


def test_removing_half_of_the_audit_key_is_detected_at_unlock(locked: Vault, home: Path) -> None:
    _raw(home).execute("UPDATE vault_header SET audit_private = NULL")
    with pytest.raises(TamperedHeader, match="audit key failed authentication"):
        locked.unlock(PASSWORD)


def test_a_public_key_that_is_not_a_key_costs_the_detail_not_the_event(
    locked: Vault, home: Path
) -> None:
    _raw(home).execute("UPDATE vault_header SET audit_public = ?", (b"\x00" * 32,))
    _installed_while_locked(home)
    (note,) = (
        _raw(home)
        .execute("SELECT note FROM audit WHERE event = ?", (Event.BOT_PACKAGE_INSTALLED.value,))
        .fetchone()
    )
    assert "audit key is unusable" in note


def _vault_from_schema_3(home: Path) -> Vault:
    home.mkdir(mode=0o700)
    db = _raw(home)
    db.executescript((DATA / "vault-schema3.sql").read_text())
    db.close()
    return open_vault(home)


def test_a_vault_from_before_the_audit_key_gets_one_at_unlock_and_loses_nothing(
    home: Path,
) -> None:
    vault = _vault_from_schema_3(home)
    assert vault.exists()  # opened, so migrated
    assert _raw(home).execute("SELECT audit_public FROM vault_header").fetchone() == (None,)
    vault.unlock(PASSWORD)
    assert vault.get_connection("Alpha").fields == {"token": "alpha-token-value"}
    (old,) = _installs(vault)
    assert old.detail == {"bot": "Old", "package": "oldpkg", "version": "1.0"}
    vault.lock()
    _installed_while_locked(home)
    vault.unlock(PASSWORD)
    assert [e.detail for e in _installs(vault)] == [INSTALLED, old.detail]
    vault.close()
    reopened = open_vault(home)  # the key written at the first unlock is the one kept
    reopened.unlock(PASSWORD)
    assert [e.detail for e in _installs(reopened)] == [INSTALLED, old.detail]
    reopened.close()


def test_a_detail_before_the_first_unlock_of_an_old_vault_is_dropped_with_a_note(
    home: Path,
) -> None:
    _vault_from_schema_3(home).close()
    _installed_while_locked(home)
    vault = open_vault(home)
    vault.unlock(PASSWORD)
    newest = _installs(vault)[0]
    assert newest.detail is None and "next unlock" in (newest.note or "")
    vault.close()
