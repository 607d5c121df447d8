"""The vault's audit trail: who did what to the vault and its connections, never a value.

The event kind and time are stored in clear (a failed unlock must be recorded while the vault
is locked); anything naming a connection is encrypted under the data key, because a stolen
``vault.db`` must not reveal connection names.
"""

from __future__ import annotations

import json
import sqlite3
from enum import Enum

from .crypto import FORMAT_VERSION, Aead, DecryptionFailed, aad
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
    KERNEL_GRANTED = "kernel.granted"
    KERNEL_REVOKED = "kernel.revoked"
    NOTEBOOK_GRANT_REMEMBERED = "notebook.grant_remembered"
    NOTEBOOK_GRANT_FORGOTTEN = "notebook.grant_forgotten"


def _aad(vault_id: str, event: str, ts: float) -> bytes:
    return aad(FORMAT_VERSION, vault_id, "audit", event, repr(ts))


def record(
    db: sqlite3.Connection,
    event: Event,
    ts: float,
    *,
    vault_id: str,
    aead: Aead | None = None,
    connection_id: str | None = None,
    note: str | None = None,
    detail: dict[str, object] | None = None,
) -> None:
    """Append one event inside the caller's transaction (so it lands with the change it logs)."""
    blob = None
    if detail is not None:
        if aead is None:
            raise ValueError("an audit detail needs the data key")
        blob = aead.encrypt(json.dumps(detail, sort_keys=True).encode(), _aad(vault_id, event, ts))
    db.execute(
        "INSERT INTO audit (ts, event, connection_id, note, detail) VALUES (?, ?, ?, ?, ?)",
        (ts, event.value, connection_id, note, blob),
    )


def read(rows: list[tuple], *, vault_id: str, aead: Aead) -> list[AuditEvent]:
    events = []
    for seq, ts, event, connection_id, note, blob in rows:
        detail: dict[str, object] | None = None
        if blob is not None:
            try:
                detail = json.loads(aead.decrypt(blob, _aad(vault_id, event, ts)))
            except DecryptionFailed:
                detail = {"error": "this audit record is corrupted or was tampered with"}
        events.append(
            AuditEvent(
                seq=seq, ts=ts, event=event, connection_id=connection_id, note=note, detail=detail
            )
        )
    return events
