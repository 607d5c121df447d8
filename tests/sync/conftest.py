"""A real PostgreSQL for the sync tests: one throwaway cluster per test session, a fresh
database (with the shipped migration applied) per test.

The cluster runs from Debian's ``postgresql`` package (``make system-packages`` installs it).
Without it these tests FAIL rather than skip: a CI machine missing the install step must not
pass by testing nothing. PostgreSQL refuses to run as root, so as root the cluster runs as the
``postgres`` user (``runuser``). The superuser reaches it through a Unix socket (trust); the
sync client connects over TCP on 127.0.0.1 as ``wdl_app``, a password-authenticated role that
owns nothing, so row-level security applies to it exactly as to Supabase's ``authenticated``.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from watchdog_lab.sync import Target, migration_sql
from watchdog_lab.vault import CreateConnection, KdfParams, Vault

FAST_KDF = KdfParams(time_cost=1, memory_kib=8 * 1024, parallelism=1)
PASSWORD = "correct horse battery staple"
APP_ROLE = "wdl_app"
APP_PASSWORD = "app-pw-" + uuid.uuid4().hex
SYNC_NAME = "sync-db"


def _pg_bin() -> Path:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(os.path.realpath(initdb)).parent
    pytest.fail(
        "PostgreSQL server binaries are missing (no /usr/lib/postgresql/*/bin/initdb): the sync "
        "tests need a real PostgreSQL. Install Debian's postgresql package (`make "
        "system-packages`, or `sudo apt-get install postgresql`)."
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    bin: Path
    root: Path
    socket_dir: Path
    port: int
    as_postgres: list[str]

    def run(self, tool: str, *args: str, input: str | None = None) -> str:
        done = subprocess.run(
            [*self.as_postgres, str(self.bin / tool), *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"{tool} failed: {done.stderr[-2000:]}")
        return done.stdout

    def sql(self, database: str, statement: str) -> str:
        return self.run(
            "psql",
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            str(self.socket_dir),
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            database,
            "-At",
            input=statement,
        )

    def superuser_dsn(self, database: str) -> str:
        return f"host={self.socket_dir} port={self.port} user=postgres dbname={database}"

    def app_dsn(self, database: str, port: int | None = None) -> str:
        return (
            f"postgresql://{APP_ROLE}:{APP_PASSWORD}@127.0.0.1:{port or self.port}/{database}"
            "?sslmode=disable"
        )

    def dump(self, database: str) -> str:
        return self.run(
            "pg_dump", "-h", str(self.socket_dir), "-p", str(self.port), "-U", "postgres", database
        )


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    bin_dir = _pg_bin()
    root = Path(tempfile.mkdtemp(prefix="wdl-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None:
            pytest.fail("running as root, the PostgreSQL tests need runuser (util-linux)")
        shutil.chown(root, "postgres", "postgres")
        as_postgres = [runuser, "-u", "postgres", "--"]
    root.chmod(0o700)
    data, sockets = root / "data", root / "sock"
    cluster = Cluster(bin_dir, root, sockets, _free_port(), as_postgres)
    cluster.run("initdb", "-D", str(data), "-U", "postgres", "--no-sync", "-E", "UTF8",
                "--auth-local=trust", "--auth-host=scram-sha-256")  # fmt: skip
    subprocess.run([*as_postgres, "mkdir", "-m", "700", str(sockets)], check=True)
    options = (
        f"-k {sockets} -p {cluster.port} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off"
    )
    cluster.run("pg_ctl", "-D", str(data), "-l", str(root / "log"), "-o", options, "-w", "start")
    try:
        cluster.sql(
            "postgres",
            "create role authenticated nologin;\n"
            f"create role {APP_ROLE} login password '{APP_PASSWORD}' in role authenticated;",
        )
        yield cluster
    finally:
        subprocess.run(
            [*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Database:
    cluster: Cluster
    name: str

    def target(self, owner: str | None = None, port: int | None = None) -> Target:
        return Target(self.cluster.app_dsn(self.name, port), owner or OWNER)

    def sql(self, statement: str) -> str:
        return self.cluster.sql(self.name, statement)

    def dump(self) -> str:
        return self.cluster.dump(self.name)


OWNER = str(uuid.uuid4())


@pytest.fixture
def database(pg_cluster: Cluster) -> Database:
    """A fresh database with the migration applied (as its owner, the superuser)."""
    name = "t_" + uuid.uuid4().hex[:16]
    pg_cluster.sql("postgres", f"create database {name};")
    pg_cluster.sql(name, migration_sql(1))
    return Database(pg_cluster, name)


def make_home(path: Path) -> Path:
    path.mkdir(mode=0o700)
    return path


@pytest.fixture
def home_a(tmp_path: Path, database: Database) -> Iterator[Vault]:
    """The first home: a vault with the sync connection to ``database``."""
    vault = Vault(make_home(tmp_path / "home-a"), kdf=FAST_KDF)
    vault.create(PASSWORD)
    target = database.target()
    vault.add_connection(
        CreateConnection(
            name=SYNC_NAME, kind="postgres", fields={"dsn": target.dsn, "owner": target.owner}
        )
    )
    yield vault
    vault.close()


@pytest.fixture
def empty_home(tmp_path: Path) -> Iterator[Vault]:
    vault = Vault(make_home(tmp_path / "home-b"), kdf=FAST_KDF)
    yield vault
    vault.close()
