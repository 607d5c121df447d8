"""Altered bytes in ``vault.db``: a typed error naming the damage, and nothing else lost."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from watchdog_lab.vault import CorruptedRecord, TamperedHeader, Vault, WrongPassword

from .conftest import PASSWORD, generic, kalshi, open_vault


def _raw(home: Path) -> sqlite3.Connection:
    return sqlite3.connect(home / "vault.db", isolation_level=None)


def _flip(blob: bytes, index: int) -> bytes:
    return blob[:index] + bytes([blob[index] ^ 0x01]) + blob[index + 1 :]


@pytest.fixture
def three(vault: Vault, rsa_pem: str) -> Vault:
    vault.add_connection(kalshi(rsa_pem))
    vault.add_connection(generic("Alpha", token="alpha-token-value"))
    vault.add_connection(generic("Beta", token="beta-token-value", extra="beta-extra-value"))
    return vault


def _id_of(vault: Vault, name: str) -> str:
    return vault.describe_connection(name).id


def test_every_byte_of_a_field_ciphertext_is_authenticated(three: Vault, home: Path) -> None:
    cid = _id_of(three, "Alpha")
    db = _raw(home)
    ((tag, blob),) = db.execute(
        "SELECT tag, value FROM connection_fields WHERE connection_id = ?", (cid,)
    ).fetchall()
    for index in range(len(blob)):
        db.execute(
            "UPDATE connection_fields SET value = ? WHERE tag = ?", (_flip(blob, index), tag)
        )
        with pytest.raises(CorruptedRecord, match="Alpha"):
            three.get_connection("Alpha")
    db.execute("UPDATE connection_fields SET value = ? WHERE tag = ?", (blob, tag))
    assert three.get_connection("Alpha").fields == {"token": "alpha-token-value"}


def test_every_byte_of_a_meta_record_is_authenticated(three: Vault, home: Path) -> None:
    cid = _id_of(three, "Beta")
    db = _raw(home)
    (blob,) = db.execute("SELECT meta FROM connections WHERE id = ?", (cid,)).fetchone()
    for index in range(0, len(blob), 7):
        db.execute("UPDATE connections SET meta = ? WHERE id = ?", (_flip(blob, index), cid))
        with pytest.raises(CorruptedRecord, match=cid):
            three.get_connection("Beta")


def test_a_corrupted_record_leaves_the_others_readable(three: Vault, home: Path) -> None:
    cid = _id_of(three, "Beta")
    db = _raw(home)
    (blob,) = db.execute("SELECT meta FROM connections WHERE id = ?", (cid,)).fetchone()
    db.execute("UPDATE connections SET meta = ? WHERE id = ?", (_flip(blob, 20), cid))
    listing = three.list_connections()
    assert [c.name for c in listing if c.status == "ok"] == ["Alpha", "Kalshi"]
    broken = [c for c in listing if c.status == "corrupted"]
    assert [c.id for c in broken] == [cid] and cid in (broken[0].error or "")
    assert three.get_connection("Alpha").fields == {"token": "alpha-token-value"}
    assert three.get_connection("Kalshi").kind == "kalshi"
    three.remove_connection_by_id(cid)
    assert [c.name for c in three.list_connections()] == ["Alpha", "Kalshi"]


def test_a_field_ciphertext_moved_to_another_connection_fails(three: Vault, home: Path) -> None:
    alpha, beta = _id_of(three, "Alpha"), _id_of(three, "Beta")
    db = _raw(home)
    (a_blob,) = db.execute(
        "SELECT value FROM connection_fields WHERE connection_id = ?", (alpha,)
    ).fetchone()
    (b_tag,) = db.execute(
        "SELECT tag FROM connection_fields WHERE connection_id = ? LIMIT 1", (beta,)
    ).fetchone()
    db.execute("UPDATE connection_fields SET value = ? WHERE tag = ?", (a_blob, b_tag))
    with pytest.raises(CorruptedRecord, match="Beta"):
        three.get_connection("Beta")


def test_a_field_ciphertext_moved_to_another_field_fails(three: Vault, home: Path) -> None:
    beta = _id_of(three, "Beta")
    db = _raw(home)
    rows = db.execute(
        "SELECT tag, value FROM connection_fields WHERE connection_id = ?", (beta,)
    ).fetchall()
    (t1, v1), (t2, v2) = rows
    db.execute("UPDATE connection_fields SET value = ? WHERE tag = ?", (v2, t1))
    db.execute("UPDATE connection_fields SET value = ? WHERE tag = ?", (v1, t2))
    with pytest.raises(CorruptedRecord, match="Beta"):
        three.get_connection("Beta")


def test_a_meta_record_moved_to_another_row_fails(three: Vault, home: Path) -> None:
    alpha, beta = _id_of(three, "Alpha"), _id_of(three, "Beta")
    db = _raw(home)
    (a_meta,) = db.execute("SELECT meta FROM connections WHERE id = ?", (alpha,)).fetchone()
    db.execute("UPDATE connections SET meta = ? WHERE id = ?", (a_meta, beta))
    with pytest.raises(CorruptedRecord):
        three.get_connection("Beta")


def test_swapped_name_indexes_are_detected(three: Vault, home: Path) -> None:
    alpha, beta = _id_of(three, "Alpha"), _id_of(three, "Beta")
    db = _raw(home)
    (ia,) = db.execute("SELECT name_index FROM connections WHERE id = ?", (alpha,)).fetchone()
    (ib,) = db.execute("SELECT name_index FROM connections WHERE id = ?", (beta,)).fetchone()
    db.execute("UPDATE connections SET name_index = ? WHERE id = ?", (b"tmp", alpha))
    db.execute("UPDATE connections SET name_index = ? WHERE id = ?", (ia, beta))
    db.execute("UPDATE connections SET name_index = ? WHERE id = ?", (ib, alpha))
    with pytest.raises(CorruptedRecord):
        three.get_connection("Alpha")


@pytest.mark.parametrize("column", ["vault_id", "kdf", "salt", "wrapped_dek", "digest"])
def test_any_flipped_byte_in_the_header_is_reported_as_tampering(
    three: Vault, home: Path, column: str
) -> None:
    three.close()
    db = _raw(home)
    (value,) = db.execute(f"SELECT {column} FROM vault_header").fetchone()  # noqa: S608
    raw = value.encode() if isinstance(value, str) else value
    for index in range(0, len(raw), max(1, len(raw) // 12)):
        flipped = _flip(raw, index)
        stored = flipped.decode("latin-1") if isinstance(value, str) else flipped
        db.execute(f"UPDATE vault_header SET {column} = ?", (stored,))  # noqa: S608
        with pytest.raises(TamperedHeader):
            open_vault(home).unlock(PASSWORD)
    db.execute(f"UPDATE vault_header SET {column} = ?", (value,))  # noqa: S608
    restored = open_vault(home)
    restored.unlock(PASSWORD)
    assert restored.get_connection("Alpha").fields == {"token": "alpha-token-value"}


@pytest.mark.parametrize("column", ["totp_last_step", "mac"])
def test_header_fields_covered_by_the_keyed_mac_are_checked_after_the_password(
    three: Vault, home: Path, column: str
) -> None:
    three.close()
    db = _raw(home)
    if column == "mac":
        (mac,) = db.execute("SELECT mac FROM vault_header").fetchone()
        db.execute("UPDATE vault_header SET mac = ?", (_flip(mac, 3),))
    else:
        db.execute("UPDATE vault_header SET totp_last_step = 99")
    v = open_vault(home)
    with pytest.raises(TamperedHeader, match="authentication"):
        v.unlock(PASSWORD)
    with pytest.raises(WrongPassword):
        v.unlock("wrong password here")


def test_stripping_two_factor_from_the_header_is_detected(home: Path) -> None:
    import pyotp

    v = open_vault(home)
    v.create(PASSWORD)
    enrolment = v.begin_totp(PASSWORD)
    secret = enrolment.secret.get_secret_value()
    v.enable_totp(PASSWORD, secret, pyotp.TOTP(secret).now())
    v.close()
    _raw(home).execute("UPDATE vault_header SET totp = NULL")
    with pytest.raises(TamperedHeader):
        open_vault(home).unlock(PASSWORD)


def test_a_forged_kdf_cost_is_refused_before_argon2_runs(three: Vault, home: Path) -> None:
    """A header asking for 64 GiB must not be attempted even if its digest is recomputed."""
    import hashlib
    import json

    from watchdog_lab.vault.crypto import aad

    three.close()
    db = _raw(home)
    fmt, vid, _kdf, salt, wrapped = db.execute(
        "SELECT format_version, vault_id, kdf, salt, wrapped_dek FROM vault_header"
    ).fetchone()
    kdf = json.dumps(
        {"alg": "argon2id", "time_cost": 3, "memory_kib": 64 * 1024 * 1024, "parallelism": 4},
        sort_keys=True,
    )
    digest = hashlib.sha256(aad(fmt, vid, kdf, salt, wrapped)).digest()
    db.execute("UPDATE vault_header SET kdf = ?, digest = ?", (kdf, digest))
    with pytest.raises(TamperedHeader, match="memory_kib"):
        open_vault(home).unlock(PASSWORD)


def test_a_file_that_is_not_a_database_is_reported(home: Path) -> None:
    home.mkdir(mode=0o700)
    (home / "vault.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(TamperedHeader, match="not a readable SQLite database"):
        open_vault(home).unlock(PASSWORD)


def test_a_missing_header_row_is_reported(three: Vault, home: Path) -> None:
    three.close()
    _raw(home).execute("DELETE FROM vault_header")
    with pytest.raises(TamperedHeader, match="missing"):
        open_vault(home).unlock(PASSWORD)
