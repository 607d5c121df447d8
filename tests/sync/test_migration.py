"""The shipped migration: package data, row-level security on every table, Supabase's shape."""

from __future__ import annotations

import uuid

from watchdog_lab.sync import migration_sql

from .conftest import Cluster, Database


def test_the_migration_ships_inside_the_package() -> None:
    from importlib import resources

    names = [p.name for p in resources.files("watchdog_lab.sync.migrations").iterdir()]
    assert "0001_ciphertext_store.sql" in names
    assert "enable row level security" in migration_sql(1)


def test_row_level_security_is_on_for_every_table(database: Database) -> None:
    tables = database.sql(
        "select c.relname, c.relrowsecurity from pg_class c join pg_namespace n "
        "on n.oid = c.relnamespace where n.nspname = 'watchdog_lab_sync' and c.relkind = 'r' "
        "order by 1"
    ).split()
    assert tables == ["sync_records|t", "sync_vaults|t"]


def test_every_table_has_owner_policies_for_each_command(database: Database) -> None:
    policies = database.sql(
        "select tablename, cmd, roles::text, coalesce(qual, ''), coalesce(with_check, '') "
        "from pg_policies where schemaname = 'watchdog_lab_sync' order by 1, 2"
    ).splitlines()
    seen = {}
    for line in policies:
        table, cmd, roles, using, check = line.split("|")
        assert roles == "{authenticated}"
        assert "auth.uid()" in (using or check) and "owner" in (using or check)
        seen.setdefault(table, set()).add(cmd)
    expected = {"SELECT", "INSERT", "UPDATE", "DELETE"}
    assert seen == {"sync_records": expected, "sync_vaults": expected}
    defaults = database.sql(
        "select table_name, column_default from information_schema.columns "
        "where table_schema = 'watchdog_lab_sync' and column_name = 'owner' order by 1"
    ).splitlines()
    assert defaults == ["sync_records|auth.uid()", "sync_vaults|auth.uid()"]


def _schema(database: Database) -> list[str]:
    # pg_dump's \restrict lines carry a random key per run; the schema is the rest.
    return [line for line in database.dump().splitlines() if not line.startswith("\\")]


def test_running_the_migration_again_changes_nothing(database: Database) -> None:
    before = _schema(database)
    database.sql(migration_sql(1))
    assert _schema(database) == before


def test_an_existing_auth_uid_is_kept(pg_cluster: Cluster) -> None:
    """Supabase already has auth.uid(): the migration must not replace it."""
    name = "t_" + uuid.uuid4().hex[:16]
    pg_cluster.sql("postgres", f"create database {name};")
    fixed = str(uuid.uuid4())
    pg_cluster.sql(
        name,
        "create schema auth; create function auth.uid() returns uuid language sql stable "
        f"as $$ select '{fixed}'::uuid $$;",
    )
    pg_cluster.sql(name, migration_sql(1))
    assert pg_cluster.sql(name, "select auth.uid()").strip() == fixed
