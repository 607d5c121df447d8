"""The SQLite file under the vault: schema, migrations, transactions, file permissions.

Only this module speaks SQL, and only with bound parameters. WAL with ``synchronous=FULL``
makes every committed transaction survive a killed process; ``BEGIN IMMEDIATE`` serialises
writers (the server and any number of CLI runs may have the file open at once).

Many writers at once: each waits for the write lock (SQLite's busy timeout), and the few
places where SQLite answers "database is locked" without waiting (opening a file another
process is recovering, a busy timeout that ran out) are retried, for a bounded time, before
:class:`VaultBusy` says so in words; nothing is retried once a transaction has begun.

SQLite's locks are POSIX record locks, which a process loses on *every* close of *any*
descriptor of the file, even one SQLite never saw. Checking the files' modes with an ordinary
descriptor while a connection is open would drop that connection's locks: another process
would then take itself for the only user, reset the shared-memory index under our mapped copy
(SIGBUS) or checkpoint beneath a reader (a "malformed" database). So the files are checked
through ``O_PATH`` descriptors, whose close leaves locks alone.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from ..errors import UnsafeHomeEntry
from ..paths import PRIVATE_FILE_MODE, ensure_private_dir, ensure_private_file
from .errors import TamperedHeader, UnsafeVaultFile, UnsupportedVault, VaultBusy

T = TypeVar("T")

BUSY_TIMEOUT_MS = 10_000
#: How long, from its first try, a statement that found the database busy is tried again
#: before the caller is told (each try waits up to ``BUSY_TIMEOUT_MS`` inside SQLite; the
#: server answers requests on one thread, so this stays short).
BUSY_RETRY_SECONDS = 15.0
#: The first pause between tries; it doubles up to the last.
BUSY_RETRY_PAUSE = (0.005, 0.5)

_V1 = """
CREATE TABLE vault_header (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    format_version INTEGER NOT NULL,
    vault_id TEXT NOT NULL,
    kdf TEXT NOT NULL,
    salt BLOB NOT NULL,
    wrapped_dek BLOB NOT NULL,
    digest BLOB NOT NULL,
    totp BLOB,
    totp_last_step INTEGER NOT NULL DEFAULT 0,
    mac BLOB NOT NULL
);
CREATE TABLE unlock_attempts (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    failures INTEGER NOT NULL DEFAULT 0,
    last_attempt REAL NOT NULL DEFAULT 0
);
INSERT INTO unlock_attempts (id, failures, last_attempt) VALUES (1, 0, 0);
CREATE TABLE connections (
    id TEXT PRIMARY KEY,
    name_index BLOB NOT NULL UNIQUE,
    meta BLOB NOT NULL
);
CREATE TABLE connection_fields (
    connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    tag BLOB NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (connection_id, tag)
);
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    event TEXT NOT NULL,
    connection_id TEXT,
    note TEXT,
    detail BLOB
);
"""

# Non-secret bot registry. Grants name connections by their opaque id only: connection names
# are encrypted, and the registry must not reveal them.
_V2 = """
CREATE TABLE bots (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    created_at REAL NOT NULL,
    config TEXT NOT NULL,
    desired_state TEXT NOT NULL DEFAULT 'stopped'
);
CREATE TABLE bot_grants (
    bot_id TEXT NOT NULL REFERENCES bots(id) ON DELETE CASCADE,
    connection_id TEXT NOT NULL,
    PRIMARY KEY (bot_id, connection_id)
);
"""


def _run_script(script: str) -> Callable[[sqlite3.Connection], None]:
    """Statements one by one: ``executescript`` would commit the migration's transaction."""

    def apply(db: sqlite3.Connection) -> None:
        for statement in filter(str.strip, script.split(";")):
            db.execute(statement)

    return apply


# Grants of interactive kernels remembered per notebook (the kernel broker): the notebook's
# path and the connection's opaque id; removing the connection forgets them.
_V3 = """
CREATE TABLE notebook_grants (
    path TEXT NOT NULL,
    connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    created_at REAL NOT NULL,
    PRIMARY KEY (path, connection_id)
);
"""

# The audit sealing key: an X25519 pair whose public half lets a locked process seal audit
# details that only the data key's holder reads; the private half is stored wrapped under the
# data key. A vault older than this gets its pair at its next unlock. A sealed detail is kept
# apart from a detail encrypted under the data key.
_V4 = """
ALTER TABLE vault_header ADD COLUMN audit_public BLOB;
ALTER TABLE vault_header ADD COLUMN audit_private BLOB;
ALTER TABLE audit ADD COLUMN sealed_detail BLOB;
"""

# One entry per schema version; entry N-1 upgrades a version N-1 file to version N. Later
# services (the bot registry) append here rather than creating tables of their own.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _run_script(_V1),
    _run_script(_V2),
    _run_script(_V3),
    _run_script(_V4),
]


def schema_version() -> int:
    return len(MIGRATIONS)


class Store:
    """One open connection to ``vault.db``; safe to share between threads (calls serialised)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        files = [path, *(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm"))]
        try:
            # The home may be reached through a link (the user's choice); nothing in it may be:
            # SQLite would follow a planted vault.db, -wal or -shm link wherever it points.
            ensure_private_dir(path.parent, follow_symlinks=True)
            for file in files:  # another store of this process may have them open
                ensure_private_db_file(file)
            if not path.exists():
                fd = os.open(
                    path, os.O_CREAT | os.O_WRONLY | os.O_EXCL | os.O_NOFOLLOW, PRIVATE_FILE_MODE
                )
                os.close(fd)
        except UnsafeHomeEntry as exc:
            raise UnsafeVaultFile(str(exc.filename), exc.problem) from None
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
            )
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            _when_free(lambda: self._db.execute("PRAGMA journal_mode = WAL"))
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute("PRAGMA secure_delete = ON")
            self._migrate()
        except sqlite3.OperationalError:
            raise
        except sqlite3.DatabaseError as exc:
            raise TamperedHeader(f"{path.name} is not a readable SQLite database") from exc
        try:
            for file in files:  # SQLite may have made -wal and -shm with the process umask
                ensure_private_db_file(file)
        except UnsafeHomeEntry as exc:
            self._db.close()
            raise UnsafeVaultFile(str(exc.filename), exc.problem) from None

    def _migrate(self) -> None:
        with self.transaction() as db:
            current = db.execute("PRAGMA user_version").fetchone()[0]
            if current > schema_version():
                raise UnsupportedVault(current, schema_version())
            for version in range(current, schema_version()):
                MIGRATIONS[version](db)
                db.execute(f"PRAGMA user_version = {version + 1}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: all of it lands, or (killed, raised) none of it."""
        with self._lock:
            _when_free(lambda: self._db.execute("BEGIN IMMEDIATE"))
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return _when_free(lambda: self._db.execute(sql, params).fetchall())

    def query_one(self, sql: str, params: tuple[object, ...] = ()) -> tuple[Any, ...] | None:
        with self._lock:
            row: tuple[Any, ...] | None = _when_free(
                lambda: self._db.execute(sql, params).fetchone()
            )
            return row

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    text = str(exc)
    return "database is locked" in text or "database is busy" in text


def _when_free(statement: Callable[[], T]) -> T:
    """Run ``statement`` (one that changes nothing when it fails: a ``BEGIN``, a read, a
    pragma), trying again while SQLite answers busy, for at most ``BUSY_RETRY_SECONDS``."""
    deadline = time.monotonic() + BUSY_RETRY_SECONDS
    pause, longest = BUSY_RETRY_PAUSE
    while True:
        try:
            return statement()
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise
            if time.monotonic() + pause > deadline:
                raise VaultBusy(BUSY_RETRY_SECONDS) from None
        time.sleep(pause)
        pause = min(longest, pause * 2)


def ensure_private_db_file(path: Path) -> None:
    """:func:`~watchdog_lab.paths.ensure_private_file` for a file SQLite may hold open in
    this process: looked at through an ``O_PATH`` descriptor, whose close keeps SQLite's
    locks (see the module's doc), and changed through ``/proc/self/fd``, which names exactly
    the file opened, never a link planted since."""
    o_path = getattr(os, "O_PATH", None)
    if o_path is None or not os.path.isdir("/proc/self/fd"):
        ensure_private_file(path)  # no O_PATH (not Linux): the portable check
        return
    try:
        fd = os.open(path, o_path | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        info = os.fstat(fd)
        if stat.S_ISLNK(info.st_mode):  # O_PATH | O_NOFOLLOW opens a link itself
            raise UnsafeHomeEntry(str(path), "is a symlink")
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeHomeEntry(str(path), "is not a regular file")
        if info.st_mode & 0o777 != PRIVATE_FILE_MODE:
            os.chmod(f"/proc/self/fd/{fd}", PRIVATE_FILE_MODE)
    finally:
        os.close(fd)
