"""Everything vault sync can refuse or fail with, worded so the user knows what to do next.

No message carries a connection string, a host, a database user or any value of the vault: the
database driver's own messages can echo the connection string, so they are never passed on.
At most a record id (random), a connection's name (typed by the user), versions and a short
reason reach a message.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Conflict",
    "ConflictsFound",
    "DatabaseRefused",
    "DatabaseUnreachable",
    "DriverMissing",
    "MigrationMissing",
    "NotConfigured",
    "RecordMissingOnServer",
    "RecordRolledBack",
    "SyncError",
    "TamperedRecord",
    "UnknownRecord",
    "VaultMismatch",
    "WrongSyncConnection",
]


class SyncError(Exception):
    """Base class: every sync failure a face maps to a message and an exit code."""


class DriverMissing(SyncError):
    def __init__(self) -> None:
        super().__init__(
            "Vault sync needs the PostgreSQL driver: pip install 'watchdog-lab[sync]'."
        )


class NotConfigured(SyncError):
    def __init__(self) -> None:
        super().__init__(
            "Sync is not set up in this home. Run `watchdog-lab sync setup CONNECTION` with a "
            "connection of kind postgres."
        )


class WrongSyncConnection(SyncError):
    """The named connection cannot be a sync target."""


class DatabaseUnreachable(SyncError):
    def __init__(self, reason: str) -> None:
        super().__init__(
            f"Could not talk to the sync database: {reason}. Nothing was changed on this side; "
            "run the command again when the database is reachable."
        )


class DatabaseRefused(SyncError):
    def __init__(self, reason: str) -> None:
        super().__init__(f"The sync database refused the request: {reason}.")


class MigrationMissing(SyncError):
    def __init__(self) -> None:
        super().__init__(
            "The sync database has no WatchDog Lab tables (or this role may not use them). "
            "Run the migration first: in Supabase's SQL editor, or `watchdog-lab sync setup "
            "NAME --migrate` (docs/sync.md)."
        )


class VaultMismatch(SyncError):
    def __init__(self) -> None:
        super().__init__(
            "The sync database holds another vault for this owner. Use another owner uuid for "
            "this vault, or sync this home from that vault (docs/sync.md)."
        )


class TamperedRecord(SyncError):
    def __init__(self, record_ids: list[str]) -> None:
        self.record_ids = list(record_ids)
        super().__init__(
            "Record(s) on the sync database failed authentication: "
            f"{', '.join(self.record_ids)}. They were changed by someone without the vault's "
            "key (or swapped between rows); nothing was applied. Push from a home that holds "
            "the right data (`sync push --mine NAME`) or remove those rows."
        )


class RecordRolledBack(SyncError):
    def __init__(self, record_id: str, known: int, served: int) -> None:
        super().__init__(
            f"The sync database served record {record_id} at version {served}, older than "
            f"version {known} this home already synced: an old copy was put back. Nothing was "
            "applied; push from a home that holds the newest data."
        )


class RecordMissingOnServer(SyncError):
    """A record this home synced is gone from the database (not tombstoned)."""


class UnknownRecord(SyncError):
    def __init__(self, what: str) -> None:
        super().__init__(
            f"No synced record or connection named {what!r}. `watchdog-lab sync status` lists "
            "the conflicts by name and record id."
        )


@dataclass(frozen=True)
class Conflict:
    """One record changed on both sides since they last agreed.

    ``local_version`` is the version this home last synced (its edit is on top of it);
    ``remote_version`` is the server's. ``name`` is this home's name for it, if it has one.
    """

    record_id: str
    name: str | None
    local_version: int
    remote_version: int
    local_deleted: bool
    remote_deleted: bool

    def describe(self) -> str:
        label = repr(self.name) if self.name else "(no local connection)"
        mine = "deleted here" if self.local_deleted else "changed here"
        theirs = "deleted" if self.remote_deleted else "changed"
        return (
            f"{label} record {self.record_id}: {mine} on top of version {self.local_version}, "
            f"{theirs} on the server at version {self.remote_version}"
        )


class ConflictsFound(SyncError):
    def __init__(self, conflicts: list[Conflict], done: str) -> None:
        self.conflicts = list(conflicts)
        lines = "\n  ".join(c.describe() for c in self.conflicts)
        super().__init__(
            f"{done} {len(self.conflicts)} record(s) changed on both sides and were left as "
            f"they are:\n  {lines}\nKeep the server's with `watchdog-lab sync pull --theirs "
            "NAME` or this home's with `watchdog-lab sync push --mine NAME` (NAME or record id)."
        )
