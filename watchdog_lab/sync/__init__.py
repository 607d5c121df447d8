"""Optional sync of the vault through a PostgreSQL database that holds ciphertext only.

Off by default. The database (a Supabase project works) is named by a vault connection of kind
``postgres``; what travels is described in ``docs/sync.md``. The driver (psycopg 3, the
``sync`` extra) is imported only when a database is reached, so the rest of the package never
needs it.
"""

from __future__ import annotations

from .engine import Report, Status, Sync, Target, clone
from .errors import Conflict, ConflictsFound, SyncError, TamperedRecord
from .remote import migration_sql

__all__ = [
    "Conflict",
    "ConflictsFound",
    "Report",
    "Status",
    "Sync",
    "SyncError",
    "TamperedRecord",
    "Target",
    "clone",
    "migration_sql",
]
