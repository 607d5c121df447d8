"""Everything backups can refuse, as classes each face maps to a status, an exit code or a
message. Messages never carry a secret: at most a backup id, a file's path inside a snapshot, or
a bot id, which the user already knows."""

from __future__ import annotations

import math

__all__ = [
    "BackupCorrupted",
    "BackupError",
    "BackupFromAnotherVault",
    "BackupNeedsUnlock",
    "BackupNotFound",
    "BackupTooSoon",
    "BackupWrongPassword",
    "BotsRunning",
    "CurrentVaultNotOpened",
    "InvalidBackupId",
    "NoVaultToBackUp",
    "RestoreBusy",
    "RestoreTargetNotEmpty",
]


class BackupError(Exception):
    """Base class: every backup failure a user can act on."""


class InvalidBackupId(BackupError):
    """An id that cannot be one of ours (a path, a huge string): refused before any file
    name is built from it."""

    def __init__(self, pattern_text: str) -> None:
        super().__init__(
            f"A backup id is {pattern_text}, as listed by `watchdog-lab backup list` "
            "(or GET /watchdog-lab/backups)."
        )


class BackupNotFound(BackupError):
    def __init__(self, backup_id: str) -> None:
        super().__init__(
            f"No backup {backup_id!r} in this WatchDog Lab home; list them with "
            "`watchdog-lab backup list`."
        )
        self.backup_id = backup_id


class NoVaultToBackUp(BackupError):
    def __init__(self, path: str) -> None:
        super().__init__(f"No vault at {path}: there is nothing to back up yet.")


class BackupTooSoon(BackupError):
    """A manual backup asked for through the REST API too soon after the last one."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(
            "A manual backup was made moments ago; the next one can be made in "
            f"{max(1, math.ceil(retry_after))} s (c.WatchdogLab.backup_min_interval_seconds)."
        )


class BackupNeedsUnlock(BackupError):
    """Sealing or opening a snapshot needs a key derived from the vault's data key."""

    def __init__(self, action: str) -> None:
        super().__init__(
            f"{action} needs the vault unlocked: backups are sealed under a key derived from "
            "its data key. Unlock the vault and try again."
        )


class BackupWrongPassword(BackupError):
    def __init__(self) -> None:
        super().__init__(
            "Wrong password for this backup. A backup opens with the password the vault had "
            "when the backup was made."
        )


class BackupFromAnotherVault(BackupError):
    def __init__(self, backup_id: str) -> None:
        super().__init__(
            f"Backup {backup_id} was made by another vault; the unlocked vault's key does not "
            "open it. Give the password of the vault that made it."
        )


class CurrentVaultNotOpened(BackupError):
    """An in-place restore over another vault whose password was not given: its state could
    not be saved first, so nothing is replaced."""

    def __init__(self) -> None:
        super().__init__(
            "The current vault is another vault, and this password does not open it: its state "
            "cannot be saved before the restore. Restore into a new folder instead "
            "(`watchdog-lab backup restore ID --into DIR`)."
        )


class BackupCorrupted(BackupError):
    """The snapshot failed verification; nothing was restored from it."""

    def __init__(self, backup_id: str, problems: list[str]) -> None:
        shown = "; ".join(problems[:3]) or "unreadable"
        super().__init__(
            f"Backup {backup_id} failed verification ({shown}); nothing was restored from it. "
            "Pick another backup."
        )
        self.backup_id, self.problems = backup_id, problems


class RestoreBusy(BackupError):
    def __init__(self) -> None:
        super().__init__(
            "A restore of this WatchDog Lab home is in progress; wait for it to finish."
        )


class RestoreTargetNotEmpty(BackupError):
    def __init__(self, path: str) -> None:
        super().__init__(
            f"{path} is not empty: a backup is restored into a new, empty folder (or in place)."
        )


class BotsRunning(BackupError):
    def __init__(self, names: list[str]) -> None:
        shown = ", ".join(sorted(names)[:5])
        super().__init__(
            f"Cannot restore in place while bots run ({shown}); stop them first "
            "(`watchdog-lab bots stop NAME`)."
        )
        self.names = names
