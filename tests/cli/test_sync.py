"""``watchdog-lab sync`` end to end: two homes, a real PostgreSQL, the real command."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from watchdog_lab.cli import cmd_sync
from watchdog_lab.cli.console import Console
from watchdog_lab.vault import Vault

from ..sync import conftest as sync_fixtures
from ..sync.conftest import APP_PASSWORD, Database
from .conftest import GENERIC_TOKEN, PASSWORD, Cli

# The real PostgreSQL of the sync tests (a cluster per session, a database per test).
pg_cluster = sync_fixtures.pg_cluster
database = sync_fixtures.database


def _first_home(tmp_path: Path, database: Database, owner: str) -> Cli:
    cli = Cli(tmp_path / "a")
    cli.init()
    other = json.dumps({"fields": {"token": GENERIC_TOKEN}})
    cli.ok("connections", "add", "Other", "--kind", "generic", "--from-json", "-", stdin=other)
    target = database.target(owner=owner)
    sync_db = json.dumps({"fields": {"dsn": target.dsn, "owner": owner}})
    cli.ok("connections", "add", "syncdb", "--kind", "postgres", "--from-json", "-", stdin=sync_db)
    cli.ok("sync", "setup", "syncdb", "--connections")
    return cli


def _no_dsn_anywhere(*clis: Cli, dsn: str) -> None:
    for cli in clis:
        for result in cli.transcript:
            assert dsn not in " ".join(result.argv)
            assert APP_PASSWORD not in result.text, result.argv


def test_a_second_home_is_made_from_the_database_and_conflicts_are_reported(
    tmp_path: Path, database: Database
) -> None:
    owner = str(uuid.uuid4())
    a = _first_home(tmp_path, database, owner)
    assert "sent: Other, syncdb" in a.ok("sync", "push").out
    listed = a.ok("sync", "status").out
    assert "Syncing: connections" in listed and listed.count("in-sync") == 2

    b = Cli(tmp_path / "b")
    dsn = database.target(owner=owner).dsn
    made = b.ok("sync", "pull", "--owner", owner, env={"WATCHDOG_LAB_SYNC_DSN": dsn})
    assert "Made this home's vault" in made.out
    status = b.ok("sync", "status", "--json").json()
    assert {r["state"] for r in status["records"]} == {"in-sync"}  # type: ignore[index]
    with Vault(b.home) as vault:
        vault.unlock(PASSWORD)
        assert vault.get_connection("Other").fields == {"token": GENERIC_TOKEN}

    edit = json.dumps({"fields": {"token": "tok_from_a_0123456789"}})
    a.ok("connections", "update", "Other", "--from-json", "-", stdin=edit)
    a.ok("sync", "push")
    edit = json.dumps({"fields": {"token": "tok_from_b_0123456789"}})
    b.ok("connections", "update", "Other", "--from-json", "-", stdin=edit)
    refused = b.run("sync", "push")
    assert refused.rc == 1
    assert "changed on both sides" in refused.err
    assert "'Other'" in refused.err and "version 1" in refused.err and "version 2" in refused.err
    b.ok("sync", "push", "--mine", "Other")
    assert "pulled: Other" in a.ok("sync", "pull").out
    _no_dsn_anywhere(a, b, dsn=dsn)


def test_a_tampered_row_is_named_by_the_command(tmp_path: Path, database: Database) -> None:
    owner = str(uuid.uuid4())
    a = _first_home(tmp_path, database, owner)
    a.ok("sync", "push")
    record_id = database.sql(
        "update watchdog_lab_sync.sync_records set ciphertext = "
        "set_byte(ciphertext, 0, get_byte(ciphertext, 0) # 1) "
        "where id = (select id from watchdog_lab_sync.sync_records order by id limit 1) "
        "returning id"
    ).split()[0]
    refused = a.run("sync", "pull")
    assert refused.rc == 1
    assert record_id in refused.err and "failed authentication" in refused.err
    a.ok("sync", "disable")
    off = a.run("sync", "push")
    assert off.rc == 1 and "not set up" in off.err


def test_a_new_home_takes_the_connection_string_on_standard_input(
    tmp_path: Path, database: Database
) -> None:
    owner = str(uuid.uuid4())
    a = _first_home(tmp_path, database, owner)
    a.ok("sync", "push")
    b = Cli(tmp_path / "b")
    dsn = database.target(owner=owner).dsn
    b.ok("sync", "pull", "--dsn-stdin", "--owner", owner, stdin=dsn + "\n")
    assert "Other" in b.ok("connections", "list").out
    missing = Cli(tmp_path / "c").run("sync", "pull", "--owner", owner)
    assert missing.rc == 1 and "WATCHDOG_LAB_SYNC_DSN" in missing.err
    _no_dsn_anywhere(a, b, dsn=dsn)


def test_the_connection_string_variable_is_dropped_once_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nothing the command starts afterwards (a pg tool, a bot's runner) inherits it."""
    dsn = "postgresql://owner:pw-not-for-children@127.0.0.1:5432/wd"
    monkeypatch.setenv(cmd_sync.DSN_ENV, dsn)
    ctx = SimpleNamespace(console=Console())
    assert cmd_sync._read_dsn(ctx, from_stdin=False) == dsn  # type: ignore[arg-type]
    assert cmd_sync.DSN_ENV not in os.environ
