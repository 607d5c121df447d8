"""Everything the vault can refuse, as classes a face can map to a message and an exit code.

Messages never carry a secret value: at most a connection's name or record id, which the user
already knows.
"""

from __future__ import annotations


class VaultError(Exception):
    """Base class: every vault failure a user can act on."""


class VaultNotFound(VaultError):
    def __init__(self, path: str) -> None:
        super().__init__(f"No vault at {path}. Create one first (`watchdog-lab init`).")


class VaultExists(VaultError):
    def __init__(self, path: str) -> None:
        super().__init__(f"A vault already exists at {path}; it was left untouched.")


class VaultLocked(VaultError):
    def __init__(self) -> None:
        super().__init__("The vault is locked. Unlock it with your vault password first.")


class WrongPassword(VaultError):
    def __init__(self) -> None:
        super().__init__("Wrong vault password.")


class TotpRequired(VaultError):
    def __init__(self) -> None:
        super().__init__(
            "This vault has two-factor authentication on: give the current 6-digit code."
        )


class InvalidTotpCode(VaultError):
    def __init__(self) -> None:
        super().__init__(
            "That two-factor code is wrong, expired or was already used; wait for the next one."
        )


class TotpAlreadyEnabled(VaultError):
    def __init__(self) -> None:
        super().__init__("Two-factor authentication is already on for this vault.")


class TotpNotEnabled(VaultError):
    def __init__(self) -> None:
        super().__init__("Two-factor authentication is not on for this vault.")


class Throttled(VaultError):
    """Unlock refused before any password work because of earlier failures."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        seconds = max(1, int(retry_after + 0.999))
        super().__init__(
            f"Too many failed unlock attempts. Try again in {seconds} second"
            f"{'s' if seconds != 1 else ''}."
        )


class VaultBusy(VaultError):
    """Another process held the vault's database for longer than every wait allowed."""

    #: What a REST client is told to wait (``Retry-After``) before trying again.
    retry_after = 1.0

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"The vault is busy: another WatchDog Lab process kept it locked over {seconds:g}s "
            "(a long backup or restore?). Nothing was changed; try again in a moment."
        )


class WeakPassword(VaultError):
    def __init__(self, reason: str) -> None:
        super().__init__(f"Password refused: {reason}")


class PasswordTooLong(WeakPassword):
    """Refused before any other work: nothing longer is ever a vault password, and a longer
    input would only cost time (key derivation, teaching it to a redactor)."""

    def __init__(self, maximum: int) -> None:
        super().__init__(
            f"a vault password has at most {maximum} characters; this one is longer. "
            "Check that the right file or variable was given."
        )


class InvalidName(VaultError, ValueError):
    def __init__(self, name: str, reason: str, what: str = "connection") -> None:
        shown = name if len(name) <= 80 else name[:77] + "..."
        super().__init__(f"Invalid {what} name {shown!r}: {reason}")


class InvalidConnection(VaultError):
    """The kind or fields of a connection don't fit its kind's rules."""


class ConnectionNotFound(VaultError):
    def __init__(self, name: str) -> None:
        super().__init__(f"No connection named {name!r}.")


class DuplicateConnection(VaultError):
    def __init__(self, name: str, existing: str | None = None) -> None:
        clash = f" (it clashes with {existing!r}; names are case-insensitive)" if existing else ""
        super().__init__(f"A connection named {name!r} already exists{clash}.")


class CorruptedRecord(VaultError):
    """One stored record failed authentication; every other record is still readable."""

    def __init__(self, record: str) -> None:
        self.record = record
        super().__init__(
            f"The vault record {record} is corrupted or was tampered with and cannot be "
            "decrypted. Other records are unaffected; remove and re-add this one, or restore "
            "it from a backup."
        )


class TamperedHeader(VaultError):
    def __init__(self, detail: str) -> None:
        super().__init__(
            f"The vault header failed its integrity check ({detail}). The file was damaged or "
            "tampered with; nothing was decrypted. Restore vault.db from a backup."
        )


class UnsafeVaultFile(VaultError):
    """A file or folder of the vault is a symlink or not a regular file: opening or chmodding
    it would act on whatever it points to."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(
            f"{path} {problem}: the vault's files are never reached through a link (SQLite "
            "would read and write wherever it points). Put the real file there instead of the "
            "link, or point WATCHDOG_LAB_HOME at the folder that holds it."
        )


class UnsupportedVault(VaultError):
    def __init__(self, found: int, supported: int) -> None:
        super().__init__(
            f"This vault uses format/schema version {found}, newer than this WatchDog Lab "
            f"understands ({supported}). Upgrade watchdog-lab."
        )
