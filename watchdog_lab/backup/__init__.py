"""Encrypted snapshots of a WatchDog Lab home (the vault and the bots), with retention,
verification and an all-or-nothing restore. See docs/backups.md."""

from __future__ import annotations

from .errors import (
    BackupCorrupted,
    BackupError,
    BackupFromAnotherVault,
    BackupNeedsUnlock,
    BackupNotFound,
    BackupTooSoon,
    BackupWrongPassword,
    BotsRunning,
    InvalidBackupId,
    NoVaultToBackUp,
    RestoreTargetNotEmpty,
)
from .keys import BackupKey, key_from_password, key_from_vault
from .manager import BackupManager, check_backup_id
from .models import (
    CreateBackup,
    DescribeBackup,
    DescribePrune,
    DescribeRestore,
    DescribeVerification,
    ListBackups,
    PruneBackups,
    RestoreBackup,
    VerifyBackup,
)

__all__ = [
    "BackupCorrupted",
    "BackupError",
    "BackupFromAnotherVault",
    "BackupKey",
    "BackupManager",
    "BackupNeedsUnlock",
    "BackupNotFound",
    "BackupTooSoon",
    "BackupWrongPassword",
    "BotsRunning",
    "CreateBackup",
    "DescribeBackup",
    "DescribePrune",
    "DescribeRestore",
    "DescribeVerification",
    "InvalidBackupId",
    "ListBackups",
    "NoVaultToBackUp",
    "PruneBackups",
    "RestoreBackup",
    "RestoreTargetNotEmpty",
    "VerifyBackup",
    "check_backup_id",
    "key_from_password",
    "key_from_vault",
]
