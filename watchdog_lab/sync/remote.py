"""The sync database, through psycopg 3: the only module that speaks SQL to it.

Every transaction starts by setting ``request.jwt.claim.sub`` to the owner uuid, local to that
transaction: the row-level security policies compare each row's owner with ``auth.uid()``,
which reads that setting (Supabase's own ``auth.uid()`` reads it first too). Being local to
the transaction keeps it correct behind a transaction pooler (Supabase's port 6543), where two
transactions of one client may run on different server sessions; prepared statements are off
for the same reason.

Failures never pass the driver's message on: it can quote the connection string, the host or
the user. Each becomes one of :mod:`.errors`' classes with a reason written here, and the
driver's exception is not chained (``from None``), so no traceback carries it either.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from .errors import (
    DatabaseRefused,
    DatabaseUnreachable,
    DriverMissing,
    MigrationMissing,
)
from .records import Sealed

if TYPE_CHECKING:
    import psycopg

CONNECT_TIMEOUT_S = 10
# A database that stops answering mid-stream (a dropped route, no reset) must not hang a push:
# TCP keepalives notice a dead peer, and unacknowledged data gives up after this long.
TCP_USER_TIMEOUT_MS = 30_000
KEEPALIVE_IDLE_S = 15
KEEPALIVE_INTERVAL_S = 5
KEEPALIVE_PROBES = 3
# Statements that take longer than this are cancelled by the server: a stuck lock must not hang
# a push (or the server's automatic sync) forever.
STATEMENT_TIMEOUT_MS = 30_000
CLAIM_SETTING = "request.jwt.claim.sub"
MIGRATIONS_PACKAGE = "watchdog_lab.sync.migrations"

# SQLSTATE classes and codes that mean "the tables are not there for this role".
_MISSING_SCHEMA = {"42P01", "3F000", "42883"}
_REASONS = {
    "28P01": "the database refused the user name or password",
    "28000": "the database refused this user",
    "3D000": "the database named in the connection string does not exist",
    "42501": "this database role lacks a permission the sync tables need (docs/sync.md)",
    "57014": "a statement took too long and was cancelled",
    "53300": "the database has too many connections",
}


def migration_sql(number: int = 1) -> str:
    """The text of a shipped migration (``migrations/000N_*.sql``)."""
    prefix = f"{number:04d}_"
    for entry in resources.files(MIGRATIONS_PACKAGE).iterdir():
        if entry.name.startswith(prefix) and entry.name.endswith(".sql"):
            return entry.read_text(encoding="utf-8")
    raise FileNotFoundError(f"migration {prefix}*.sql is not installed")


def _driver() -> Any:
    try:
        import psycopg
    except ImportError:
        raise DriverMissing from None
    return psycopg


def _reason(exc: Exception) -> str:
    """A safe description of a driver failure (never its message)."""
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate in _REASONS:
        return _REASONS[sqlstate]
    text = str(exc).lower()  # read, never shown
    if "password authentication failed" in text or "authentication" in text:
        return _REASONS["28P01"]
    if "timeout" in text or "timed out" in text:
        return "the connection timed out"
    if "ssl" in text:
        return "the TLS handshake failed (check sslmode in the connection string)"
    if "could not translate host name" in text or "name or service not known" in text:
        return "the host name does not resolve"
    if "connection refused" in text:
        return "nothing accepts connections at that host and port"
    if "invalid dsn" in text or ("missing" in text and "=" in text):
        return "the connection string is not valid"
    if sqlstate:
        return f"SQLSTATE {sqlstate}"
    return "the connection failed or was cut"


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    psycopg = _driver()
    try:
        yield
    except psycopg.OperationalError as exc:
        sqlstate = getattr(exc, "sqlstate", None)
        if sqlstate in _MISSING_SCHEMA:
            raise MigrationMissing from None
        raise DatabaseUnreachable(_reason(exc)) from None
    except psycopg.Error as exc:
        sqlstate = getattr(exc, "sqlstate", None)
        if sqlstate in _MISSING_SCHEMA:
            raise MigrationMissing from None
        raise DatabaseRefused(_reason(exc)) from None


@dataclass(frozen=True)
class RemoteHeader:
    vault_id: str
    format_version: int
    kdf: str
    salt: bytes
    wrapped_key: bytes
    version: int


class Transaction:
    """The writes of one push; each returns whether the row was written (its version check
    held), so a stale write is a reported conflict, never an overwrite."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def _rows(self, sql: str, params: tuple[object, ...]) -> int:
        with _translated():
            return int(self._conn.execute(sql, params).rowcount)

    def insert_record(self, sealed: Sealed) -> bool:
        return (
            self._rows(
                "insert into watchdog_lab_sync.sync_records "
                "(id, version, nonce, ciphertext, deleted) values (%s, %s, %s, %s, %s) "
                "on conflict (owner, id) do nothing",
                (sealed.record_id, sealed.version, sealed.nonce, sealed.ciphertext, sealed.deleted),
            )
            == 1
        )

    def update_record(self, sealed: Sealed, expected: int) -> bool:
        """Write ``sealed`` only if the row is still at version ``expected``."""
        return (
            self._rows(
                "update watchdog_lab_sync.sync_records set version = %s, nonce = %s, "
                "ciphertext = %s, deleted = %s, updated_at = now() "
                "where owner = auth.uid() and id = %s and version = %s",
                (
                    sealed.version,
                    sealed.nonce,
                    sealed.ciphertext,
                    sealed.deleted,
                    sealed.record_id,
                    expected,
                ),
            )
            == 1
        )

    def put_header(self, header: RemoteHeader, expected: int | None) -> bool:
        """Insert the vault's header (``expected`` None) or replace version ``expected``."""
        if expected is None:
            return (
                self._rows(
                    "insert into watchdog_lab_sync.sync_vaults "
                    "(vault_id, format_version, kdf, salt, wrapped_key, version) "
                    "values (%s, %s, %s, %s, %s, %s) "
                    "on conflict (owner) do nothing",
                    (
                        header.vault_id,
                        header.format_version,
                        header.kdf,
                        header.salt,
                        header.wrapped_key,
                        header.version,
                    ),
                )
                == 1
            )
        return (
            self._rows(
                "update watchdog_lab_sync.sync_vaults set kdf = %s, salt = %s, wrapped_key = %s, "
                "version = %s, updated_at = now() "
                "where owner = auth.uid() and vault_id = %s and version = %s",
                (
                    header.kdf,
                    header.salt,
                    header.wrapped_key,
                    header.version,
                    header.vault_id,
                    expected,
                ),
            )
            == 1
        )


class Remote:
    """One connection to the sync database, as one owner."""

    def __init__(self, dsn: str, owner: str) -> None:
        self._dsn = dsn
        self._owner = owner
        self._conn: psycopg.Connection[Any] | None = None

    def __repr__(self) -> str:  # never the connection string
        return "Remote(<connection string hidden>)"

    def __enter__(self) -> Remote:
        psycopg = _driver()
        with _translated():
            self._conn = psycopg.connect(
                self._dsn,
                autocommit=True,
                prepare_threshold=None,
                connect_timeout=CONNECT_TIMEOUT_S,
                keepalives=1,
                keepalives_idle=KEEPALIVE_IDLE_S,
                keepalives_interval=KEEPALIVE_INTERVAL_S,
                keepalives_count=KEEPALIVE_PROBES,
                tcp_user_timeout=TCP_USER_TIMEOUT_MS,
                application_name="watchdog-lab-sync",
            )
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    @property
    def conn(self) -> psycopg.Connection[Any]:
        if self._conn is None:
            raise RuntimeError("Remote is used outside its with-block")
        return self._conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One database transaction as the owner: all of it commits, or none of it."""
        with _translated(), self.conn.transaction():
            self.conn.execute(
                "select set_config(%s, %s, true), set_config('statement_timeout', %s, true)",
                (CLAIM_SETTING, self._owner, str(STATEMENT_TIMEOUT_MS)),
            )
            yield Transaction(self.conn)

    def migrate(self) -> None:
        """Run the shipped migration (idempotent); needs a role that may create schemas."""
        with _translated(), self.conn.transaction():
            self.conn.execute(migration_sql(1).encode())

    def fetch_header(self) -> RemoteHeader | None:
        with self.transaction():
            row = self.conn.execute(
                "select vault_id, format_version, kdf, salt, wrapped_key, version "
                "from watchdog_lab_sync.sync_vaults where owner = auth.uid()"
            ).fetchone()
        if row is None:
            return None
        return RemoteHeader(row[0], int(row[1]), row[2], bytes(row[3]), bytes(row[4]), int(row[5]))

    def fetch_records(self) -> dict[str, Sealed]:
        with self.transaction():
            rows = self.conn.execute(
                "select id::text, version, nonce, ciphertext, deleted "
                "from watchdog_lab_sync.sync_records where owner = auth.uid()"
            ).fetchall()
        return {
            row[0]: Sealed(row[0], int(row[1]), bytes(row[2]), bytes(row[3]), bool(row[4]))
            for row in rows
        }
