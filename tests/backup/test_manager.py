"""Create, list, verify and restore: what a snapshot holds comes back exactly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from watchdog_lab.backup import (
    BackupCorrupted,
    BackupManager,
    BackupNeedsUnlock,
    BackupWrongPassword,
    BotsRunning,
    InvalidBackupId,
    RestoreTargetNotEmpty,
    key_from_password,
    key_from_vault,
)
from watchdog_lab.backup.keys import key_from_vault_file
from watchdog_lab.bots.layout import BotPaths
from watchdog_lab.bots.models import BotStatus
from watchdog_lab.bots.registry import BotRegistry
from watchdog_lab.bots.seal import verify_version
from watchdog_lab.bots.status import self_identity, write_status
from watchdog_lab.errors import UnsafeHomeEntry
from watchdog_lab.vault import UpdateConnection

from .conftest import (
    BOT_NAME,
    CONNECTION_NAME,
    NEW_PASSWORD,
    PASSWORD,
    Populated,
    open_vault,
)


def _values(vault) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    return {c.name: vault.get_connection(c.name).fields for c in vault.list_connections()}


def _tree(root: Path) -> dict[str, bytes | None]:
    out: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        out[str(path.relative_to(root))] = path.read_bytes() if path.is_file() else None
    return out


def _bot_snapshot(home: Path, bot_id: str) -> dict[str, object]:
    paths = BotPaths(home, bot_id)
    return {
        "notebook": _tree(paths.notebooks),
        "state": _tree(paths.state),
        "bot.json": paths.config_file.read_bytes(),
        "lock": (paths.root / "packages.lock").read_bytes(),
    }


def _registry(vault) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    return [
        (r.id, r.name, r.created_at, r.config, r.desired_state, r.grants)
        for r in BotRegistry(vault.store).list()
    ]


def test_restore_in_place_brings_back_connections_bots_and_state(populated: Populated) -> None:
    vault, home = populated.vault, populated.home
    values, registry = _values(vault), _registry(vault)
    bots = {b.id: _bot_snapshot(home, b.id) for b in populated.bots}
    backup = populated.manager.create(key_from_vault(vault))

    # Everything changes afterwards: a value, a removed connection, a bot's state and versions.
    vault.update_connection("Stripe", UpdateConnection(fields={"token": "tok_changed_later_0"}))
    vault.remove_connection(CONNECTION_NAME)
    bot = populated.bots[0]
    (bot.paths.state / "positions.json").write_bytes(b"{}")
    (bot.paths.state / "new-file.txt").write_bytes(b"later")
    bot.paths.notebook(2).unlink()
    BotRegistry(vault.store).delete(populated.bots[1].id)

    restored = populated.manager.restore_in_place(
        backup.id, key_from_vault(vault), lambda: key_from_vault(vault), release=vault.close
    )

    assert (restored.connections, restored.bots) == (3, 2)
    assert restored.safety_backup and restored.safety_backup != backup.id
    again = open_vault(home)
    again.unlock(PASSWORD)
    assert _values(again) == values
    assert _registry(again) == registry
    for bot_id, before in bots.items():
        assert _bot_snapshot(home, bot_id) == before
        # The check a start makes before any connection is handed over: it passes.
        assert verify_version(again, BotPaths(home, bot_id), 2) is None
    assert not any(p.name.startswith(".restore-") for p in home.iterdir())
    assert not (home / "restore-journal.json").exists()
    again.close()


def test_restore_into_a_new_folder_leaves_the_current_home_alone(
    populated: Populated, tmp_path: Path
) -> None:
    vault = populated.vault
    backup = populated.manager.create(key_from_vault(vault))
    vault.remove_connection("Plain")
    target = tmp_path / "restored-home"

    restored = populated.manager.restore_into(backup.id, key_from_vault(vault), target)

    assert restored.safety_backup == ""
    copy = open_vault(target)
    copy.unlock(PASSWORD)
    assert _values(copy) == populated.connections
    assert "Plain" not in _values(vault)
    assert (target / "bots" / populated.bots[0].id / "state" / "positions.json").exists()
    assert not (target / "bots" / populated.bots[0].id / "logs").exists()
    assert oct(target.stat().st_mode & 0o777) == oct(0o700)
    copy.close()


def test_restore_into_a_folder_that_is_not_empty_is_refused(
    populated: Populated, tmp_path: Path
) -> None:
    backup = populated.manager.create(key_from_vault(populated.vault))
    target = tmp_path / "busy"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(RestoreTargetNotEmpty):
        populated.manager.restore_into(backup.id, key_from_vault(populated.vault), target)
    assert [p.name for p in target.iterdir()] == ["keep.txt"]


def test_a_backup_made_before_a_password_change_opens_with_the_old_password(
    populated: Populated, tmp_path: Path
) -> None:
    backup = populated.manager.create(key_from_vault(populated.vault))
    populated.vault.change_password(PASSWORD, NEW_PASSWORD)
    header = populated.manager.header(backup.id)

    with pytest.raises(BackupWrongPassword):
        key_from_password(header, NEW_PASSWORD)
    old = key_from_password(header, PASSWORD)
    # The unlocked vault opens it too: a password change keeps the data key.
    assert old == key_from_vault(populated.vault)
    populated.manager.restore_into(backup.id, old, tmp_path / "old")
    restored = open_vault(tmp_path / "old")
    restored.unlock(PASSWORD)
    assert _values(restored) == populated.connections
    restored.close()


def test_the_key_from_a_password_is_the_vault_service_key(populated: Populated) -> None:
    from_file = key_from_vault_file(populated.vault.path, PASSWORD)
    assert from_file == key_from_vault(populated.vault)


def test_in_place_restore_is_refused_while_a_bot_runs(populated: Populated) -> None:
    backup = populated.manager.create(key_from_vault(populated.vault))
    populated.vault.remove_connection("Plain")
    bot = populated.bots[0]
    pid, start = self_identity()  # this process stands for a live runner
    write_status(
        bot.paths.status_file, BotStatus(bot_id=bot.id, state="running", pid=pid, pid_start=start)
    )

    with pytest.raises(BotsRunning, match=BOT_NAME):
        populated.manager.restore_in_place(
            backup.id, key_from_vault(populated.vault), lambda: key_from_vault(populated.vault)
        )
    assert "Plain" not in _values(populated.vault)
    assert len(populated.manager.list()) == 1  # not even a safety snapshot was taken


def test_a_damaged_snapshot_restores_nothing(populated: Populated) -> None:
    vault = populated.vault
    backup = populated.manager.create(key_from_vault(vault))
    vault.remove_connection("Plain")
    path = populated.manager.path_of(backup.id)
    data = bytearray(path.read_bytes())
    data[-200] ^= 0x01
    path.write_bytes(bytes(data))

    with pytest.raises(BackupCorrupted):
        populated.manager.restore_in_place(
            backup.id, key_from_vault(vault), lambda: key_from_vault(vault), release=vault.close
        )
    assert "Plain" not in _values(vault)
    assert [b.id for b in populated.manager.list()] == [backup.id]
    assert not any(p.name.startswith(".restore-") for p in populated.home.iterdir())


def test_a_locked_vault_cannot_be_backed_up(populated: Populated) -> None:
    populated.vault.lock()
    with pytest.raises(BackupNeedsUnlock):
        key_from_vault(populated.vault)


@pytest.mark.parametrize(
    "hostile",
    ["../../etc/passwd", "..", "a" * 100_000, "0123456789ABCDEF", "0123456789abcde/", "", "%2e%2e"],
)
def test_hostile_ids_are_refused_before_any_path_is_built(hostile: str, home: Path) -> None:
    manager = BackupManager(home)
    with pytest.raises(InvalidBackupId):
        manager.path_of(hostile)
    with pytest.raises(InvalidBackupId):
        manager.header(hostile)


def test_listing_never_counts_temporary_or_foreign_files(populated: Populated) -> None:
    backup = populated.manager.create(key_from_vault(populated.vault))
    folder = populated.manager.folder
    (folder / ".tmp-0123456789abcdef.wdlbackup").write_bytes(b"WDLBKUP1partial")
    (folder / "notes.wdlbackup").write_bytes(b"x")
    assert [b.id for b in populated.manager.list()] == [backup.id]
    # A temporary file no process holds is removed by the next backup.
    populated.manager.create(key_from_vault(populated.vault))
    assert not (folder / ".tmp-0123456789abcdef.wdlbackup").exists()


def test_snapshot_files_are_private(populated: Populated) -> None:
    backup = populated.manager.create(key_from_vault(populated.vault))
    path = populated.manager.path_of(backup.id)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700


def test_symlinks_in_state_are_not_followed(populated: Populated, tmp_path: Path) -> None:
    outside = tmp_path / "outside-secret.txt"
    outside.write_text("never in a backup")
    bot = populated.bots[0]
    os.symlink(outside, bot.paths.state / "link.txt")
    os.symlink(tmp_path, bot.paths.state / "link-folder")
    backup = populated.manager.create(key_from_vault(populated.vault))
    populated.manager.restore_into(backup.id, key_from_vault(populated.vault), tmp_path / "r")
    state = tmp_path / "r" / "bots" / bot.id / "state"
    assert not os.path.lexists(state / "link.txt")
    assert not os.path.lexists(state / "link-folder")
    assert (state / "positions.json").exists()


def test_backups_run_side_by_side_but_never_during_a_restore(populated: Populated) -> None:
    from watchdog_lab.backup.errors import RestoreBusy
    from watchdog_lab.backup.restore import restore_lock

    key = key_from_vault(populated.vault)
    with restore_lock(populated.home, shared=True):  # another backup under way
        populated.manager.create(key)
    with restore_lock(populated.home), pytest.raises(RestoreBusy):  # a restore under way
        populated.manager.create(key)
    assert len(populated.manager.list()) == 1


def test_memory_does_not_grow_with_the_size_of_state(populated: Populated) -> None:
    import tracemalloc

    big = populated.bots[0].paths.state / "big.bin"
    with open(big, "wb") as handle:
        handle.truncate(48 * 1024 * 1024)  # sparse: costs no disk to read
    key = key_from_vault(populated.vault)
    tracemalloc.start()
    try:
        populated.manager.create(key)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes for a 48 MiB file"


def test_a_link_planted_in_the_vaults_place_is_not_backed_up(
    populated: Populated, tmp_path: Path
) -> None:
    key = key_from_vault(populated.vault)
    populated.vault.close()
    vault_db = populated.home / "vault.db"
    moved = tmp_path / "elsewhere.db"
    vault_db.rename(moved)
    vault_db.symlink_to(moved)
    with pytest.raises(UnsafeHomeEntry, match="symlink"):
        populated.manager.create(key, "manual")
    assert populated.manager.list() == []
