"""Failures of the database never show the connection string, its password, user or host."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from watchdog_lab.sync.errors import DatabaseUnreachable, MigrationMissing, SyncError
from watchdog_lab.sync.remote import Remote

from .conftest import APP_PASSWORD, APP_ROLE, Cluster, Database


def _message(dsn: str) -> str:
    with pytest.raises(SyncError) as caught, Remote(dsn, str(uuid.uuid4())) as remote:
        remote.fetch_records()
    # Not chained either: a traceback would print the driver's message.
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    return str(caught.value)


def test_a_wrong_database_password_is_reported_without_the_dsn(database: Database) -> None:
    wrong = "wrong-" + uuid.uuid4().hex
    dsn = database.cluster.app_dsn(database.name).replace(APP_PASSWORD, wrong)
    message = _message(dsn)
    assert "refused the user name or password" in message
    for part in (wrong, APP_ROLE, "127.0.0.1", database.name, dsn):
        assert part not in message


def test_an_unreachable_database_is_reported_without_the_dsn(pg_cluster: Cluster) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dsn = pg_cluster.app_dsn("nowhere", port=port)
    message = _message(dsn)
    assert "nothing accepts connections" in message
    for part in (APP_PASSWORD, APP_ROLE, str(port), "nowhere"):
        assert part not in message


def test_a_database_without_the_tables_says_to_run_the_migration(pg_cluster: Cluster) -> None:
    name = "t_" + uuid.uuid4().hex[:16]
    pg_cluster.sql("postgres", f"create database {name};")
    with pytest.raises(MigrationMissing), Remote(pg_cluster.app_dsn(name), str(uuid.uuid4())) as r:
        r.fetch_records()


def test_a_refused_connection_is_a_database_unreachable_error(database: Database) -> None:
    dsn = database.cluster.app_dsn(database.name).replace(APP_PASSWORD, "x")
    with pytest.raises(DatabaseUnreachable):
        Remote(dsn, str(uuid.uuid4())).__enter__()


def test_the_package_imports_and_explains_without_the_driver() -> None:
    code = (
        "import sys; sys.modules['psycopg'] = None\n"
        "import watchdog_lab.cli.app, watchdog_lab.sync\n"
        "from watchdog_lab.sync.remote import Remote\n"
        "from watchdog_lab.sync.errors import DriverMissing\n"
        "try:\n"
        "    Remote('postgresql://x', 'y').__enter__()\n"
        "except DriverMissing as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'watchdog-lab[sync]'" in done.stdout
