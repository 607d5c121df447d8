"""A restore killed halfway is rolled back when the server starts, before anything opens the
vault."""

from __future__ import annotations

from pathlib import Path

import pytest
from traitlets.config import Config

from watchdog_lab.backup import BackupManager, key_from_vault
from watchdog_lab.backup import restore as restore_module
from watchdog_lab.vault import CreateConnection, Vault

from .conftest import FAST_KDF, server_config

PASSWORD = "correct horse battery staple"


class Killed(BaseException):
    """Stands for SIGKILL: no handler runs."""


@pytest.fixture
def jp_server_config(watchdog_home: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    vault = Vault(watchdog_home, kdf=FAST_KDF)
    vault.create(PASSWORD)
    vault.add_connection(CreateConnection(name="Old", kind="generic", fields={"token": "x" * 20}))
    manager = BackupManager(watchdog_home)
    key = key_from_vault(vault)
    backup = manager.create(key)
    vault.remove_connection("Old")
    vault.add_connection(CreateConnection(name="Now", kind="generic", fields={"token": "y" * 20}))
    real, calls = restore_module._rename, [0]

    def dying(src: Path, dst: Path) -> None:
        calls[0] += 1
        if calls[0] == 2:  # the old vault.db is aside, the new one not yet in place
            raise Killed
        real(src, dst)

    monkeypatch.setattr(restore_module, "_rename", dying)
    with pytest.raises(Killed):
        manager.restore_in_place(backup.id, key, lambda: key, release=vault.close)
    monkeypatch.undo()
    vault.close()
    assert (watchdog_home / restore_module.JOURNAL).exists()
    return server_config(watchdog_home)


async def test_the_server_rolls_back_a_killed_restore_at_start(api, watchdog_home: Path) -> None:  # type: ignore[no-untyped-def]
    assert not (watchdog_home / restore_module.JOURNAL).exists()
    assert (await api.post("vault/unlock", {"password": PASSWORD})).code == 200
    names = [c["name"] for c in (await api.get("connections")).json["connections"]]
    assert names == ["Now"]
