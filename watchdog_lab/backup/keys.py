"""The key that seals a vault's snapshots, from the unlocked vault or from a password.

The key is the vault's service key for ``backup`` (HKDF-SHA256 of the data key), so the
password that opens a vault opens its backups, and a password change, which re-wraps the same
data key, leaves every older backup readable with the password it had then (each snapshot
carries that wrapped copy in its header).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

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
from .errors import BackupNeedsUnlock, BackupWrongPassword
from .format import Header, SnapshotFormatError

__all__ = [
    "BACKUP_PURPOSE",
    "BackupKey",
    "key_from_password",
    "key_from_vault",
    "key_from_vault_file",
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
    db = sqlite3.connect(f"file:{vault_db}?mode=ro", uri=True)
    try:
        row = db.execute(
            "SELECT vault_id, format_version, kdf, salt, wrapped_dek FROM vault_header WHERE id = 1"
        ).fetchone()
    finally:
        db.close()
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
