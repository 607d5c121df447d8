"""Vault sync: push then pull of 1,000 connections through a local PostgreSQL, beside the
strongest simple peer.

Scenario: a throwaway PostgreSQL cluster (Debian's server binaries, started as the tests start
theirs: ``initdb`` and ``pg_ctl`` as the ``postgres`` user when run as root, fsync off), the
shipped migration applied to a fresh database per run, and the client connecting over TCP on
127.0.0.1 as a password-authenticated role that owns nothing, so row-level security applies to
it. Home A is a real vault (the tests' cheap Argon2id, everything else real) holding 1,000
connections plus the ``postgres`` connection that names the database.

Prints, for several runs on a fresh database each:
- push: home A sends every record (vault read, seal with AES-256-GCM, one versioned INSERT per
  record in one transaction as the owner, state file saved);
- pull: a new, empty home B is made from the database with the password (``clone``: the vault
  opened from the wrapped key, every row fetched and opened, every connection added);
- incremental: home A changes 10 connections and pushes again (every run); home B pulls them
  (the last run only);
against the product's target (push then pull under 2 s). The baseline, run side by side, is the
same 1,001 ciphertext blobs written with one ``COPY`` into a plain table (an id, a nonce, the
ciphertext: no versions, no row-level security, no AEAD) and read back with one ``SELECT``, each
on its own connection as the same role, so the ratio is what versioning, row-level security,
sealing and the vault's own writes cost together. Two middle figures split that cost: the sync
code's own database calls alone (its per-record versioned INSERTs in one transaction, and its
row-level-security SELECT), without the vault or the cipher.

Then checks the result is right: home B's connections equal home A's (names, kinds, field
values) after the full and the incremental pull, and no connection name or field value is
found in plaintext anywhere in the database (every column of every table, bytea included; the
owner uuid excepted, which is the rows' owner column by design).

Run: ``python benchmarks/bench_sync.py`` (about 30-60 s on a 2-core machine; needs Debian's
``postgresql`` package, as the sync tests do).
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

# Run from a checkout without installing: the repository root holds the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
from psycopg import sql

from watchdog_lab.sync import Sync, Target, clone, migration_sql
from watchdog_lab.sync.records import Sealed
from watchdog_lab.sync.remote import Remote
from watchdog_lab.vault import CreateConnection, KdfParams, UpdateConnection, Vault

CONNECTIONS = 1000
CHANGED = 10
RUNS = 3
TARGET_S = 2.0
PASSWORD = "benchmark passphrase"
# The sync tests' Argon2id cost: the benchmark measures sync, not the password hash.
FAST_KDF = KdfParams(time_cost=1, memory_kib=8 * 1024, parallelism=1)
SYNC_NAME = "sync-db"
APP_ROLE = "wdl_bench"
OWNER = str(uuid.uuid4())
T = TypeVar("T")


class Cluster:
    """A throwaway PostgreSQL cluster: the superuser over a Unix socket (trust), the app role
    over TCP with a password, as in the sync tests."""

    def __init__(self) -> None:
        found = sorted(
            glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
        )
        if not found:
            raise SystemExit(
                "PostgreSQL server binaries are missing (no /usr/lib/postgresql/*/bin/initdb); "
                "install Debian's postgresql package (`make system-packages`)."
            )
        self.bin = Path(found[-1]).parent
        self.root = Path(tempfile.mkdtemp(prefix="wdl-bench-pg-"))
        self.as_postgres: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.root, "postgres", "postgres")
            self.as_postgres = ["runuser", "-u", "postgres", "--"]
        self.root.chmod(0o700)
        self.data, self.sockets = self.root / "data", self.root / "sock"
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.app_password = secrets.token_hex(16)

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_postgres, *args], check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--no-sync",
                  "-E", "UTF8", "--auth-local=trust", "--auth-host=scram-sha-256")  # fmt: skip
        self._run("mkdir", "-m", "700", str(self.sockets))
        options = (
            f"-k {self.sockets} -p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
                  "-o", options, "-w", "start")  # fmt: skip
        with self.superuser("postgres") as conn:
            conn.execute("create role authenticated nologin")
            conn.execute(
                sql.SQL("create role {} login password {} in role authenticated").format(
                    sql.Identifier(APP_ROLE), sql.Literal(self.app_password)
                )
            )

    def stop(self) -> None:
        subprocess.run(
            [*self.as_postgres, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
             "stop"],
            capture_output=True, check=False,
        )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)

    @contextmanager
    def superuser(self, database: str) -> Iterator[psycopg.Connection[Any]]:
        conn = psycopg.connect(
            host=str(self.sockets), port=self.port, user="postgres", dbname=database,
            autocommit=True,
        )  # fmt: skip
        try:
            yield conn
        finally:
            conn.close()

    def new_database(self, setup_sql: str) -> str:
        name = "b_" + uuid.uuid4().hex[:16]
        with self.superuser("postgres") as conn:
            conn.execute(f"create database {name}")
        with self.superuser(name) as conn:
            conn.execute(setup_sql.encode())
        return name

    def app_dsn(self, database: str) -> str:
        return (
            f"postgresql://{APP_ROLE}:{self.app_password}@127.0.0.1:{self.port}/{database}"
            "?sslmode=disable"
        )


BASELINE_TABLE = f"""
create table blobs (id uuid primary key, nonce bytea not null, ciphertext bytea not null);
grant select, insert on blobs to {APP_ROLE};
"""


def baseline_push(dsn: str, blobs: list[tuple[str, bytes, bytes]]) -> None:
    with (
        psycopg.connect(dsn) as conn,  # leaving the block commits
        conn.cursor() as cur,
        cur.copy("copy blobs (id, nonce, ciphertext) from stdin") as copy,
    ):
        for row in blobs:
            copy.write_row(row)


def baseline_pull(dsn: str) -> dict[str, tuple[bytes, bytes]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("select id::text, nonce, ciphertext from blobs").fetchall()
    return {r[0]: (bytes(r[1]), bytes(r[2])) for r in rows}


def engine_writes_only(dsn: str, sealed: list[Sealed]) -> None:
    """The sync code's own write path without the vault or the cipher: one transaction as the
    owner, one versioned INSERT per record (what ``Sync.push`` sends)."""
    with Remote(dsn, OWNER) as remote, remote.transaction() as tx:
        for row in sealed:
            assert tx.insert_record(row)


def engine_reads_only(dsn: str) -> dict[str, Sealed]:
    with Remote(dsn, OWNER) as remote:
        return remote.fetch_records()


def build_home_a(home: Path) -> Vault:
    home.mkdir(mode=0o700)
    vault = Vault(home, kdf=FAST_KDF)
    vault.create(PASSWORD)
    for i in range(CONNECTIONS):
        vault.add_connection(
            CreateConnection(
                name=f"exchange-{i:04d}",
                kind="generic",
                fields={"api_key": "ak-" + secrets.token_hex(12), "secret": secrets.token_hex(24)},
            )
        )
    return vault


def connections_of(vault: Vault) -> dict[str, tuple[str, dict[str, str]]]:
    out = {}
    for described in vault.list_connections():
        assert described.name is not None, "a connection is unreadable"
        got = vault.get_connection(described.name)
        out[got.name] = (got.kind, dict(got.fields))
    return out


def check_no_plaintext(cluster: Cluster, database: str, vault: Vault) -> int:
    """Every value of every table, bytea included, searched for every name and field value."""
    stored: list[bytes] = []
    with cluster.superuser(database) as conn:
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema not in ('pg_catalog', 'information_schema')"
        ).fetchall()
        for schema, table in tables:
            for row in conn.execute(
                sql.SQL("select * from {}").format(sql.Identifier(schema, table))
            ):
                for value in row:
                    stored.append(bytes(value) if isinstance(value, (bytes, memoryview))
                                  else str(value).encode())  # fmt: skip
    haystack = b"\x00".join(stored)
    needles = 0
    for name, (kind, fields) in connections_of(vault).items():
        values = {f: v for f, v in fields.items() if len(v) >= 8}
        if kind == "postgres":
            # The owner uuid is the rows' owner column by design (row-level security needs it).
            values.pop("owner", None)
        for label, needle in [("name", name), *values.items()]:
            needles += 1
            assert needle.encode() not in haystack, f"{name}'s {label} is in the database"
    return needles


def timed(work: Callable[..., T], *args: Any) -> tuple[float, T]:
    start = time.perf_counter()
    result = work(*args)
    return time.perf_counter() - start, result


def main() -> int:
    load = os.getloadavg()
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          f"({os.cpu_count()} CPUs)")  # fmt: skip
    cluster = Cluster()
    started = time.perf_counter()
    cluster.start()
    print(f"PostgreSQL {cluster.bin.parent.name} cluster started in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    try:
        with tempfile.TemporaryDirectory() as tmp:
            return run(cluster, Path(tmp))
    finally:
        cluster.stop()


def run(cluster: Cluster, root: Path) -> int:
    started = time.perf_counter()
    vault_a = build_home_a(root / "home-a")
    print(f"home A: {CONNECTIONS} connections, built in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    sync_a = Sync(vault_a)
    figures: dict[str, list[float]] = {
        k: [] for k in ("push", "pull", "inc_push", "inc_pull", "base_push", "base_pull",
                        "db_write", "db_read")
    }  # fmt: skip
    migration = migration_sql(1)
    vault_b: Vault | None = None
    database = ""
    for run_no in range(RUNS):
        database = cluster.new_database(migration)
        dsn = cluster.app_dsn(database)
        target = {"dsn": dsn, "owner": OWNER}
        if run_no == 0:
            vault_a.add_connection(CreateConnection(name=SYNC_NAME, kind="postgres", fields=target))
        else:
            vault_a.update_connection(SYNC_NAME, UpdateConnection(fields=target, replace=True))
        sync_a.disable()
        sync_a.setup(SYNC_NAME, ["connections"])

        seconds, report = timed(sync_a.push)
        assert len(report.pushed) == CONNECTIONS + 1 and not report.conflicts, report
        figures["push"].append(seconds)

        if vault_b is not None:
            vault_b.close()
        home_b = root / f"home-b-{run_no}"
        home_b.mkdir(mode=0o700)
        vault_b = Vault(home_b, kdf=FAST_KDF)
        seconds, report = timed(clone, vault_b, Target(dsn, OWNER), PASSWORD)
        assert len(report.pulled) == CONNECTIONS + 1 and not report.problems, report
        figures["pull"].append(seconds)
        assert connections_of(vault_b) == connections_of(vault_a), "home B differs after pull"

        changed = [f"exchange-{i:04d}" for i in range(0, CONNECTIONS, CONNECTIONS // CHANGED)]
        for name in changed:
            vault_a.update_connection(
                name, UpdateConnection(fields={"secret": secrets.token_hex(24)})
            )
        seconds, report = timed(sync_a.push)
        assert sorted(report.pushed) == changed, report
        figures["inc_push"].append(seconds)
        # Once: a pull walks every row, saving the state after each, so it costs a full pull.
        if run_no == RUNS - 1:
            seconds, report = timed(Sync(vault_b).pull)
            assert sorted(report.pulled) == changed, report
            figures["inc_pull"].append(seconds)

        # The same ciphertext blobs, through the baseline and through the sync code's own
        # database calls alone, each into a fresh database.
        sealed = list(engine_reads_only(dsn).values())
        blobs = [(s.record_id, s.nonce, s.ciphertext) for s in sealed]
        base_dsn = cluster.app_dsn(cluster.new_database(BASELINE_TABLE))
        figures["base_push"].append(timed(baseline_push, base_dsn, blobs)[0])
        seconds, back = timed(baseline_pull, base_dsn)
        assert back == {r[0]: (r[1], r[2]) for r in blobs}, "baseline read back other bytes"
        figures["base_pull"].append(seconds)
        raw_dsn = cluster.app_dsn(cluster.new_database(migration))
        figures["db_write"].append(timed(engine_writes_only, raw_dsn, sealed)[0])
        seconds, back_sealed = timed(engine_reads_only, raw_dsn)
        assert back_sealed == {s.record_id: s for s in sealed}, "sync reads returned other rows"
        figures["db_read"].append(seconds)

    assert vault_b is not None
    assert connections_of(vault_b) == connections_of(vault_a), "home B differs after the pulls"
    needles = check_no_plaintext(cluster, database, vault_a)
    vault_b.lock()
    vault_b.unlock(PASSWORD)  # home B opens with the password alone
    vault_b.close()
    vault_a.close()

    med = {k: statistics.median(v) for k, v in figures.items()}
    worst = {k: max(v) for k, v in figures.items()}

    def ms(key: str) -> str:
        return f"{med[key] * 1000:>8.0f} / {worst[key] * 1000:>5.0f} ms"

    print(f"\nmedian / worst of {RUNS} runs, {CONNECTIONS + 1} records (fresh database each run)")
    print(f"{'':14}{'WatchDog Lab sync':>22}{'sync DB calls only':>22}{'COPY + SELECT':>22}"
          f"{'sync / baseline':>17}")  # fmt: skip
    print(f"{'push':14}{ms('push'):>22}{ms('db_write'):>22}{ms('base_push'):>22}"
          f"{med['push'] / med['base_push']:>16.0f}x")  # fmt: skip
    print(f"{'pull (clone)':14}{ms('pull'):>22}{ms('db_read'):>22}{ms('base_pull'):>22}"
          f"{med['pull'] / med['base_pull']:>16.0f}x")  # fmt: skip
    total, base_total = med["push"] + med["pull"], med["base_push"] + med["base_pull"]
    print(f"{'push + pull':14}{total * 1000:>17.0f} ms{'':>22}{base_total * 1000:>17.0f} ms"
          f"{total / base_total:>16.0f}x")  # fmt: skip
    print(f"\nincremental ({CHANGED} changed records): push {ms('inc_push')} ({RUNS} runs), "
          f"pull {med['inc_pull'] * 1000:.0f} ms (1 run)")  # fmt: skip
    print(
        f"\ncheck: home B's {CONNECTIONS + 1} connections equal home A's (names, kinds, "
        f"values) after the full and the incremental pull; {needles} names and values absent "
        "from every column of the database: ok"
    )
    load = os.getloadavg()
    print(f"load average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    worst_total = max(p + q for p, q in zip(figures["push"], figures["pull"], strict=True))
    ok = worst_total < TARGET_S
    print(f"target: push then pull of {CONNECTIONS:,} records under {TARGET_S:.0f} s: "
          f"{'PASS' if ok else 'FAIL'} (worst run {worst_total:.2f} s)")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
