"""``watchdog-lab backup``: the real command, in subprocesses, against a real vault."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from watchdog_lab.backup import BackupManager, key_from_vault
from watchdog_lab.backup import restore as restore_module
from watchdog_lab.vault import RateLimitPolicy, Vault

from ..backup.conftest import FAST_KDF as LIB_FAST_KDF
from ..backup.conftest import make_bot
from .conftest import CLI, FAST_KDF, GENERIC_TOKEN, PASSWORD, Cli, clean_env, vault_contents

NEW_PASSWORD = "a new and longer passphrase"
#: A sparse state file: backing it up takes long enough to be killed mid-write, costs no disk.
BIG_STATE_BYTES = 600 * 1024 * 1024


def _created_id(cli: Cli) -> str:
    result = cli.ok("backup", "create", "--json")
    return str(json.loads(result.out)["id"])


def test_create_list_verify_and_restore_into_a_new_folder(seeded: Cli, tmp_path: Path) -> None:
    backup_id = _created_id(seeded)
    listed = json.loads(seeded.ok("backup", "list", "--json", password=None).out)["backups"]
    assert [(b["id"], b["reason"]) for b in listed] == [(backup_id, "manual")]
    verified = json.loads(seeded.ok("backup", "verify", backup_id, "--json").out)
    assert verified["results"][0]["ok"] is True
    before = vault_contents(seeded.home)

    seeded.ok("connections", "remove", "Other", "--yes")
    target = tmp_path / "restored"
    seeded.ok("backup", "restore", backup_id, "--into", str(target))

    assert vault_contents(target) == before
    assert "Other" not in vault_contents(seeded.home)
    # Without a vault (lost), a backup still verifies with its password.
    (seeded.home / "vault.db").unlink()
    lost = json.loads(seeded.ok("backup", "verify", backup_id, "--json").out)
    assert lost["results"][0]["ok"] is True
    for result in seeded.transcript:
        assert PASSWORD not in result.text and GENERIC_TOKEN not in result.text


def test_restore_in_place_saves_the_current_state_first(seeded: Cli) -> None:
    backup_id = _created_id(seeded)
    before = vault_contents(seeded.home)
    seeded.ok("connections", "remove", "Other", "--yes")

    restored = json.loads(seeded.ok("backup", "restore", backup_id, "--json").out)

    assert vault_contents(seeded.home) == before
    listed = json.loads(seeded.ok("backup", "list", "--json", password=None).out)["backups"]
    assert {b["id"]: b["reason"] for b in listed}[restored["safety_backup"]] == "pre-restore"


def test_a_backup_restores_with_the_password_it_was_made_under(seeded: Cli, tmp_path: Path) -> None:
    backup_id = _created_id(seeded)
    before = vault_contents(seeded.home)
    seeded.ok("password", "change", *FAST_KDF, env={"WATCHDOG_LAB_NEW_PASSWORD": NEW_PASSWORD})

    refused = seeded.run("backup", "restore", backup_id, "--into", str(tmp_path / "a"),
                         password=NEW_PASSWORD)  # fmt: skip
    assert refused.rc == 1 and "Wrong password for this backup" in refused.err
    seeded.ok("backup", "restore", backup_id, "--into", str(tmp_path / "b"))
    assert vault_contents(tmp_path / "b") == before


def test_in_place_the_vaults_password_of_today_opens_an_older_backup(seeded: Cli) -> None:
    backup_id = _created_id(seeded)
    before = vault_contents(seeded.home)
    seeded.ok("password", "change", *FAST_KDF, env={"WATCHDOG_LAB_NEW_PASSWORD": NEW_PASSWORD})
    seeded.ok("connections", "remove", "Other", "--yes", password=NEW_PASSWORD)

    seeded.ok("backup", "restore", backup_id, password=NEW_PASSWORD)

    assert vault_contents(seeded.home) == before  # the restored vault has the old password


def test_hostile_ids_get_a_clear_error(seeded: Cli) -> None:
    for action, hostile in (("verify", "../../etc/passwd"), ("restore", "a" * 5000)):
        result = seeded.run("backup", action, hostile, password=None)
        assert result.rc == 1, result.text
        assert "A backup id is 16 lowercase hex characters" in result.err
    missing = seeded.run("backup", "verify", "0123456789abcdef")
    assert missing.rc == 1 and "No backup '0123456789abcdef'" in missing.err


def test_prune_keeps_recent_backups(seeded: Cli) -> None:
    backup_id = _created_id(seeded)
    pruned = json.loads(seeded.ok("backup", "prune", "--json", password=None).out)
    assert pruned == {"removed": [], "retention_days": 30}
    listed = json.loads(seeded.ok("backup", "list", "--json", password=None).out)["backups"]
    assert [b["id"] for b in listed] == [backup_id]


def test_a_killed_backup_leaves_older_ones_intact_and_is_never_listed(seeded: Cli) -> None:
    older = _created_id(seeded)
    with Vault(seeded.home, kdf=LIB_FAST_KDF, rate_limit=RateLimitPolicy(free_attempts=100)) as v:
        v.unlock(PASSWORD)
        bot = make_bot(v, "big-state", [])
    with open(bot.paths.state / "huge.bin", "wb") as handle:
        handle.truncate(BIG_STATE_BYTES)
    older_bytes = (seeded.home / "backups" / f"{older}.wdlbackup").read_bytes()

    env = clean_env(seeded.home, WATCHDOG_LAB_PASSWORD=PASSWORD)
    proc = subprocess.Popen([*CLI, "backup", "create"], env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    partial: list[Path] = []
    while time.monotonic() < deadline and proc.poll() is None:
        partial = list((seeded.home / "backups").glob(".tmp-*.wdlbackup"))
        if partial and partial[0].stat().st_size > 8 * 1024 * 1024:
            break
        time.sleep(0.005)
    assert proc.poll() is None, "the backup finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    assert partial and partial[0].exists()  # the partial file is there...
    listed = json.loads(seeded.ok("backup", "list", "--json", password=None).out)["backups"]
    assert [b["id"] for b in listed] == [older]  # ...and not counted
    assert (seeded.home / "backups" / f"{older}.wdlbackup").read_bytes() == older_bytes
    verified = json.loads(seeded.ok("backup", "verify", "--json").out)["results"]
    assert [(r["id"], r["ok"]) for r in verified] == [(older, True)]
    # The next backup removes what the killed one left (nobody holds its lock any more).
    (bot.paths.state / "huge.bin").unlink()
    _created_id(seeded)
    assert not list((seeded.home / "backups").glob(".tmp-*"))


class _Killed(BaseException):
    """Stands for SIGKILL: no handler runs."""


def test_any_vault_command_rolls_back_a_restore_killed_halfway(
    seeded: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    backup_id = _created_id(seeded)
    seeded.ok("connections", "remove", "Other", "--yes")
    after_remove = vault_contents(seeded.home)
    real, calls = restore_module._rename, [0]

    def dying(src: Path, dst: Path) -> None:
        calls[0] += 1
        if calls[0] == 2:  # the old vault.db is aside, the snapshot's not yet in place
            raise _Killed
        real(src, dst)

    monkeypatch.setattr(restore_module, "_rename", dying)
    with Vault(seeded.home, rate_limit=RateLimitPolicy(free_attempts=1000)) as vault:
        vault.unlock(PASSWORD)
        key = key_from_vault(vault)
        with pytest.raises(_Killed):
            BackupManager(seeded.home).restore_in_place(
                backup_id, key, lambda: key, release=vault.close
            )
    monkeypatch.undo()
    assert (seeded.home / restore_module.JOURNAL).exists()

    listed = seeded.ok("connections", "list")

    assert "rolled back an interrupted restore" in listed.err
    assert "Other" not in listed.out and "Kalshi" in listed.out
    assert not (seeded.home / restore_module.JOURNAL).exists()
    assert vault_contents(seeded.home) == after_remove
