"""Retention: snapshots older than the setting go; the newest always stays."""

from __future__ import annotations

from collections.abc import Callable

from watchdog_lab.backup import BackupManager, key_from_vault

from .conftest import Populated

DAY = 86400.0
T0 = 1_800_000_000.0


def test_pruning_at_31_days_removes_only_what_is_older_than_30(
    populated: Populated, clocked: Callable[[float], BackupManager]
) -> None:
    key = key_from_vault(populated.vault)
    old = clocked(T0).create(key)
    middle = clocked(T0 + 10 * DAY).create(key)
    newest = clocked(T0 + 20 * DAY).create(key)

    removed = clocked(T0 + 31 * DAY).prune()

    assert removed == [old.id]
    assert [b.id for b in clocked(T0 + 31 * DAY).list()] == [newest.id, middle.id]


def test_the_newest_snapshot_is_kept_however_old(
    populated: Populated, clocked: Callable[[float], BackupManager]
) -> None:
    key = key_from_vault(populated.vault)
    clocked(T0).create(key)
    newest = clocked(T0 + DAY).create(key)

    removed = clocked(T0 + 400 * DAY).prune()

    assert len(removed) == 1
    assert [b.id for b in clocked(T0 + 400 * DAY).list()] == [newest.id]


def test_nothing_younger_than_the_retention_is_pruned(
    populated: Populated, clocked: Callable[[float], BackupManager]
) -> None:
    key = key_from_vault(populated.vault)
    first = clocked(T0).create(key)
    clocked(T0 + DAY).create(key)
    assert clocked(T0 + 29 * DAY).prune() == []
    assert first.id in [b.id for b in clocked(T0 + 29 * DAY).list()]
