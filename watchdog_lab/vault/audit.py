"""The vault's audit trail: who did what to the vault and its connections, never a value.

The event kind and time are stored in clear (a failed unlock must be recorded while the vault
is locked); anything naming a connection is encrypted under the data key, because a stolen
``vault.db`` must not reveal connection names. A process that does not hold the data key (the
vault is locked, or it is another process) seals the detail to the vault's audit public key
instead: it can write the detail but never read one back, and only an unlock reads it.
"""

from __future__ import annotations

import json
import sqlite3
from enum import Enum
from typing import Any

from .crypto import FORMAT_VERSION, Aead, CryptoError, DecryptionFailed, aad, open_sealed, seal
from .models import AuditEvent


class Event(str, Enum):
    VAULT_CREATED = "vault.created"
    VAULT_UNLOCKED = "vault.unlocked"
    UNLOCK_FAILED = "vault.unlock_failed"
    UNLOCK_THROTTLED = "vault.unlock_throttled"
    VAULT_LOCKED = "vault.locked"
    PASSWORD_CHANGED = "vault.password_changed"  # noqa: S105 - an event name
    TOTP_ENABLED = "vault.totp_enabled"
    TOTP_DISABLED = "vault.totp_disabled"
    CONNECTION_ADDED = "connection.added"
    CONNECTION_UPDATED = "connection.updated"
    CONNECTION_RENAMED = "connection.renamed"
    CONNECTION_REMOVED = "connection.removed"
    BOT_PROMOTED = "bot.promoted"
    BOT_PACKAGE_INSTALLED = "bot.package_installed"
    BOT_STARTED = "bot.started"
    BOT_STOPPED = "bot.stopped"
    BOT_DELETED = "bot.deleted"
    BOT_GRANTS_CHANGED = "bot.grants_changed"
    BOT_SEAL_BROKEN = "bot.seal_broken"  # its notebook or packages changed outside WatchDog Lab
    BOT_VERSION_PUBLISHED = "bot.version_published"  # a new notebook version (never its source)
    BOT_ROLLED_BACK = "bot.rolled_back"
    KERNEL_GRANTED = "kernel.granted"
    KERNEL_REVOKED = "kernel.revoked"
    NOTEBOOK_GRANT_REMEMBERED = "notebook.grant_remembered"
    NOTEBOOK_GRANT_FORGOTTEN = "notebook.grant_forgotten"
    AI_FIX_REQUESTED = "ai_fix.requested"  # its payload's hash and outcome, never the payload
    BACKUP_RESTORED = "backup.restored"  # written into the restored vault, with the swap
    SYNC_SET_UP = "sync.set_up"  # the target connection and the collections that may sync
    SYNC_PUSHED = "sync.pushed"  # counts only: what was sent, deleted, refused as a conflict
    SYNC_PULLED = "sync.pulled"
    SYNC_DISABLED = "sync.disabled"


def _aad(vault_id: str, event: str, ts: float) -> bytes:
    return aad(FORMAT_VERSION, vault_id, "audit", event, repr(ts))


def record(
    db: sqlite3.Connection,
    event: Event,
    ts: float,
    *,
    vault_id: str,
    aead: Aead | None = None,
    seal_to: bytes | None = None,
    connection_id: str | None = None,
    note: str | None = None,
    detail: dict[str, object] | None = None,
) -> None:
    """Append one event inside the caller's transaction (so it lands with the change it logs).

    A detail is encrypted under ``aead`` (the data key) when given, else sealed to ``seal_to``
    (the vault's audit public key).
    """
    blob = sealed = None
    if detail is not None:
        plaintext = json.dumps(detail, sort_keys=True).encode()
        if aead is not None:
            blob = aead.encrypt(plaintext, _aad(vault_id, event, ts))
        elif seal_to is not None:
            sealed = seal(seal_to, plaintext, _aad(vault_id, event, ts))
        else:
            raise ValueError("an audit detail needs the data key or the audit public key")
    db.execute(
        "INSERT INTO audit (ts, event, connection_id, note, detail, sealed_detail) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (ts, event.value, connection_id, note, blob, sealed),
    )


CORRUPTED = {"error": "this audit record is corrupted or was tampered with"}


def read(
    rows: list[tuple[Any, ...]], *, vault_id: str, aead: Aead, private_key: bytes | bytearray | None
) -> list[AuditEvent]:
    """Decrypt the details of ``rows`` (seq, ts, event, connection_id, note, detail,
    sealed_detail); ``private_key`` is the audit key's private half, for the details sealed
    while the data key was not at hand."""
    events = []
    for seq, ts, event, connection_id, note, blob, sealed in rows:
        detail: dict[str, object] | None = None
        associated = _aad(vault_id, event, ts)
        try:
            if blob is not None:
                detail = json.loads(aead.decrypt(blob, associated))
            elif sealed is not None:
                if private_key is None:
                    raise DecryptionFailed("no audit key to open a sealed detail")
                detail = json.loads(open_sealed(private_key, sealed, associated))
        except (CryptoError, ValueError):
            detail = dict(CORRUPTED)
        events.append(
            AuditEvent(
                seq=seq, ts=ts, event=event, connection_id=connection_id, note=note, detail=detail
            )
        )
    return events
