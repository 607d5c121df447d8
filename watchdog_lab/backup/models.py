"""What the backup service answers, shared by the REST API and the CLI (``--json``)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict, SecretStr

__all__ = [
    "CreateBackup",
    "DescribeBackup",
    "DescribeRestore",
    "DescribeVerification",
    "ListBackups",
    "Reason",
    "RestoreBackup",
    "VerifyBackup",
    "iso_utc",
]

Reason = Literal["manual", "automatic", "daily", "pre-restore"]
REASONS: tuple[str, ...] = ("manual", "automatic", "daily", "pre-restore")


def iso_utc(timestamp: float) -> str:
    """``2026-01-31T12:00:00Z``: what every face shows as a backup's time."""
    moment = datetime.fromtimestamp(timestamp, timezone.utc)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CreateBackup(_Model):
    """``POST /backups``: no fields."""


class VerifyBackup(_Model):
    """``POST /backups/{id}/verify``: no fields."""


class PruneBackups(_Model):
    """``POST /backups/prune``: no fields (the retention is the server's setting)."""


class RestoreBackup(_Model):
    """``POST /backups/{id}/restore``: the vault password, the user's consent to bring back
    whatever the snapshot holds (a removed connection, a revoked grant)."""

    password: SecretStr | None = None


class DescribeBackup(_Model):
    id: str
    created_at: str
    size_bytes: int
    reason: Reason


class ListBackups(_Model):
    backups: list[DescribeBackup]
    retention_days: int
    automatic: bool
    last_automatic_at: str | None = None
    last_error: str | None = None


class DescribeVerification(_Model):
    id: str
    ok: bool
    problems: list[str]
    checked_files: int


class DescribeRestore(_Model):
    """``id``: the backup restored; ``restored_from``: its creation time; ``safety_backup``:
    the snapshot of what was there before (empty for a restore into a new folder)."""

    id: str
    restored_from: str
    safety_backup: str
    connections: int
    bots: int


class DescribePrune(_Model):
    """The snapshots a prune deleted (older than ``retention_days``; never the newest)."""

    removed: list[str]
    retention_days: int
