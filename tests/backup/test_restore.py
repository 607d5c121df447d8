"""A restore killed at any point leaves the old state or the new one, never a mix: the next
open (``recover``) rolls an unfinished swap back, or finishes a committed one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from watchdog_lab.backup import BackupManager, key_from_vault
from watchdog_lab.backup import restore as restore_module

from .conftest import Populated, open_vault
from .test_manager import _bot_snapshot

PASSWORD = "correct horse battery"


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, no handler catches it."""


def _state(home: Path, bot_ids: list[str]) -> tuple[set[str], dict[str, object]]:
    vault = open_vault(home)
    vault.unlock(PASSWORD)
    names = {c.name for c in vault.list_connections()}
    vault.close()
    return names, {b: _bot_snapshot(home, b) for b in bot_ids}


def _prepare(populated: Populated) -> tuple[str, object, object]:
    """A backup, then changes: returns (backup id, new state, old state)."""
    vault, home = populated.vault, populated.home
    ids = [b.id for b in populated.bots]
    backup = populated.manager.create(key_from_vault(vault))
    new_state = _state(home, ids)
    vault.remove_connection("Plain")
    (populated.bots[0].paths.state / "positions.json").write_bytes(b"{}")
    old_state = _state(home, ids)
    vault.close()
    return backup.id, new_state, old_state


def _restore(populated: Populated, backup_id: str) -> None:
    vault = open_vault(populated.home)
    vault.unlock(PASSWORD)
    key = key_from_vault(vault)
    try:
        populated.manager.restore_in_place(backup_id, key, lambda: key, release=vault.close)
    finally:
        vault.close()


def _renames_in_a_restore(populated: Populated, backup_id: str) -> int:
    count = 0
    real = restore_module._rename

    def counting(src: Path, dst: Path) -> None:
        nonlocal count
        count += 1
        real(src, dst)

    restore_module._rename = counting  # type: ignore[assignment]
    try:
        _restore(populated, backup_id)
    finally:
        restore_module._rename = real  # type: ignore[assignment]
    return count


def test_a_kill_at_every_rename_of_the_swap_is_rolled_back(
    populated: Populated, monkeypatch: pytest.MonkeyPatch
) -> None:
    backup_id, new_state, old_state = _prepare(populated)
    ids = [b.id for b in populated.bots]
    home = populated.home
    # Dry run on a copy of the home to count the swap's renames.
    spare = home.parent / "spare"
    shutil.copytree(home, spare, symlinks=True)
    total = _renames_in_a_restore(
        Populated(spare, populated.vault, BackupManager(spare), [], {}), backup_id
    )
    assert total >= 6
    real = restore_module._rename
    for kill_at in range(1, total + 1):
        calls = 0

        def dying(src: Path, dst: Path, kill_at: int = kill_at) -> None:
            nonlocal calls
            calls += 1
            if calls == kill_at:
                raise Killed
            real(src, dst)

        monkeypatch.setattr(restore_module, "_rename", dying)
        with pytest.raises(Killed):
            _restore(populated, backup_id)
        monkeypatch.setattr(restore_module, "_rename", real)
        assert (home / restore_module.JOURNAL).exists()

        assert BackupManager(home).recover() == "rolled back an interrupted restore"
        assert _state(home, ids) == old_state, f"killed at rename {kill_at} of {total}"
        assert not (home / restore_module.JOURNAL).exists()
        assert not [p for p in home.iterdir() if p.name.startswith(".restore-")]
    # And the same restore, not killed, brings the snapshot's state.
    _restore(populated, backup_id)
    assert _state(home, ids) == new_state


def test_a_kill_after_the_commit_is_completed(
    populated: Populated, monkeypatch: pytest.MonkeyPatch
) -> None:
    backup_id, new_state, _ = _prepare(populated)
    ids = [b.id for b in populated.bots]

    def killed_before_cleanup(home: Path, staging: Path) -> None:
        raise Killed

    monkeypatch.setattr(restore_module, "_finish", killed_before_cleanup)
    with pytest.raises(Killed):
        _restore(populated, backup_id)
    monkeypatch.undo()

    assert BackupManager(populated.home).recover() == "completed an interrupted restore"
    assert _state(populated.home, ids) == new_state
    assert not [p for p in populated.home.iterdir() if p.name.startswith(".restore-")]


def test_a_kill_while_staging_leaves_the_home_untouched(
    populated: Populated, monkeypatch: pytest.MonkeyPatch
) -> None:
    backup_id, _, old_state = _prepare(populated)
    ids = [b.id for b in populated.bots]

    def killed(*args: object, **kwargs: object) -> None:
        raise Killed

    monkeypatch.setattr(restore_module.StagingSink, "end_file", killed)
    with pytest.raises(Killed):
        _restore(populated, backup_id)
    monkeypatch.undo()

    assert not (populated.home / restore_module.JOURNAL).exists()
    # What a SIGKILL (no handler ran) leaves while staging: a staging folder, no journal.
    leftover = populated.home / ".restore-0123456789abcdef-00000000" / "new"
    leftover.mkdir(parents=True)
    (leftover / "vault.db").write_bytes(b"half")
    assert BackupManager(populated.home).recover() is not None
    assert _state(populated.home, ids) == old_state
    assert not [p for p in populated.home.iterdir() if p.name.startswith(".restore-")]


def test_a_failing_swap_is_rolled_back_at_once(
    populated: Populated, monkeypatch: pytest.MonkeyPatch
) -> None:
    backup_id, _, old_state = _prepare(populated)
    ids = [b.id for b in populated.bots]
    real = restore_module._rename
    calls = 0

    def disk_full(src: Path, dst: Path) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise OSError(28, "No space left on device")
        real(src, dst)

    monkeypatch.setattr(restore_module, "_rename", disk_full)
    with pytest.raises(OSError, match="No space"):
        _restore(populated, backup_id)
    monkeypatch.undo()

    assert not (populated.home / restore_module.JOURNAL).exists()
    assert _state(populated.home, ids) == old_state
    assert not [p for p in populated.home.iterdir() if p.name.startswith(".restore-")]
