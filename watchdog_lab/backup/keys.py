"""The key that seals a vault's snapshots, from the unlocked vault or from a password.

The key is the vault's service key for ``backup`` (HKDF-SHA256 of the data key), so the
password that opens a vault opens its backups, and a password change, which re-wraps the same
data key, leaves every older backup readable with the password it had then (each snapshot
carries that wrapped copy in its header).
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..vault import Vault
from ..vault.crypto import (
    CryptoError,
    DecryptionFailed,
    KdfParams,
    aad,
    derive_key,
    subkey,
    unwrap_key,
    wipe,
)
from .errors import BackupNeedsUnlock, BackupWrongPassword, CurrentVaultNotOpened
from .format import Header, SnapshotFormatError

__all__ = [
    "BACKUP_PURPOSE",
    "BackupKey",
    "RestoreKeys",
    "key_from_password",
    "key_from_vault",
    "key_from_vault_file",
    "restore_keys",
]

#: The purpose of :meth:`Vault.service_key` that keys snapshots.
BACKUP_PURPOSE = "backup"
# What Vault.service_key derives for a purpose; kept equal to it (a test checks that a key
# from a password and one from the unlocked vault are the same).
_SERVICE_INFO = f"watchdog-lab/v1/service/{BACKUP_PURPOSE}"


@dataclass(frozen=True)
class BackupKey:
    """The sealing key of one vault's snapshots, and which vault that is."""

    vault_id: str
    key: bytes = b""

    def __repr__(self) -> str:  # never print the key
        return f"BackupKey(vault_id={self.vault_id!r})"


def vault_id_of(vault: Vault) -> str:
    row = vault.store.query_one("SELECT vault_id FROM vault_header WHERE id = 1")
    if row is None:
        raise BackupNeedsUnlock("Backing up")
    return str(row[0])


def key_from_vault(vault: Vault, action: str = "Backing up") -> BackupKey:
    """The unlocked vault's backup key (raises :class:`BackupNeedsUnlock` while locked)."""
    if vault.state.value != "unlocked":
        raise BackupNeedsUnlock(action)
    return BackupKey(vault_id_of(vault), vault.service_key(BACKUP_PURPOSE))


def key_from_password(header: Header, password: str) -> BackupKey:
    """Unwrap the data key a snapshot's header carries with ``password`` (Argon2id with the
    header's costs, bounded before any work), then derive the backup key from it."""
    try:
        params = KdfParams.from_json(header.kdf)
    except CryptoError as exc:
        raise SnapshotFormatError(f"the header's key derivation is unusable ({exc})") from exc
    kek = derive_key(password if isinstance(password, str) else "", header.salt, params)
    try:
        # The same associated data the vault header binds its wrapped key to.
        dek = unwrap_key(
            kek,
            header.wrapped_dek,
            aad(header.vault_format, header.vault_id, header.kdf, header.salt),
        )
    except (DecryptionFailed, CryptoError):
        raise BackupWrongPassword from None
    finally:
        wipe(kek)
    try:
        return BackupKey(header.vault_id, subkey(dek, _SERVICE_INFO))
    finally:
        wipe(dek)


def key_from_vault_file(vault_db: Path, password: str) -> BackupKey:
    """The backup key of the vault at ``vault_db``, from its password (the vault stays as it
    is: nothing is unlocked, nothing is written)."""
    row = _header_row(vault_db)
    if row is None:
        raise BackupNeedsUnlock("Opening the vault")
    header = Header(
        snapshot_id="",
        created_at=0.0,
        reason="",
        vault_id=str(row[0]),
        vault_format=int(row[1]),
        kdf=str(row[2]),
        salt=bytes(row[3]),
        wrapped_dek=bytes(row[4]),
        key_check=b"",
    )
    return key_from_password(header, password)


def _header_row(vault_db: Path) -> tuple[Any, ...] | None:
    """The vault file's header row, read only (None: no vault was created in it)."""
    db = sqlite3.connect(f"file:{vault_db}?mode=ro", uri=True)
    try:
        row: tuple[Any, ...] | None = db.execute(
            "SELECT vault_id, format_version, kdf, salt, wrapped_dek FROM vault_header WHERE id = 1"
        ).fetchone()
    finally:
        db.close()
    return row


@dataclass(frozen=True)
class RestoreKeys:
    """What an in-place restore needs: the key that opens the snapshot, and the key that seals
    the ``pre-restore`` snapshot of the current vault (None: there is no current vault)."""

    snapshot: BackupKey
    current: BackupKey | None


def restore_keys(
    header: Header, password: str, vault_db: Path, unlocked: BackupKey | None = None
) -> RestoreKeys:
    """Both keys of a restore in place from one password, the same for every face.

    A vault keeps its data key across password changes, so when the snapshot is the current
    vault's, either its password today (or the unlocked vault) or the one it had then opens
    both. A snapshot of another vault needs a password that opens each of them: the current
    state is saved before anything is replaced, or nothing is.
    """
    row = _header_row(vault_db) if unlocked is None and vault_db.is_file() else None
    current = unlocked
    if row is not None:
        with contextlib.suppress(BackupWrongPassword):  # perhaps the password it had then
            current = key_from_vault_file(vault_db, password)
    if current is not None and current.vault_id == header.vault_id:
        return RestoreKeys(current, current)
    snapshot = key_from_password(header, password)
    if row is not None and current is None:
        if str(row[0]) != header.vault_id:
            raise CurrentVaultNotOpened
        current = snapshot  # the same vault, opened with the password it had then
    return RestoreKeys(snapshot, current)
