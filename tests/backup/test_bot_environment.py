"""A bot restored without its venv gets it rebuilt from its sealed lock, and starts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from watchdog_lab.backup import BackupManager, key_from_vault
from watchdog_lab.backup.environments import (
    EnvironmentBuilder,
    lock_requirements,
    rebuild_environments,
)
from watchdog_lab.bots.kernelspec import kernelspec_dir
from watchdog_lab.bots.layout import BotPaths
from watchdog_lab.bots.models import BotState, PromoteBot
from watchdog_lab.bots.seal import SealFault, verify_version
from watchdog_lab.bots.supervisor import BotManager

from ..support import wait_for, write_notebook
from .conftest import PASSWORD, open_vault


@pytest.fixture(scope="session")
def uv_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.getbasetemp() / "uv-cache"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def bot_home(tmp_path: Path) -> Path:
    return tmp_path / "h"  # short: IPC socket paths live under the home


@pytest.fixture
def manager(bot_home: Path, uv_cache: Path) -> Iterator[BotManager]:
    vault = open_vault(bot_home)
    vault.create(PASSWORD)
    bots = BotManager(vault, uv_cache=uv_cache)
    yield bots
    for bot in bots.list():
        bots.stop(bot.id, timeout=10)
    vault.close()


def test_lock_requirements_are_the_pins_without_the_sdk() -> None:
    lock = (
        b"# header\ninterpreter /usr/bin/python3\n"
        b"package ipykernel==6.29.5 record-sha256=ab\n"
        b"package watchdog-lab==1.0 record-sha256=cd\n"
        b"package six==1.16.0 record-sha256=ef\nsite-packages []\n"
    )
    assert lock_requirements(lock) == ["ipykernel==6.29.5", "six==1.16.0"]


def test_a_restored_bot_without_its_venv_is_rebuilt_and_starts(
    manager: BotManager, bot_home: Path, tmp_path: Path, uv_cache: Path
) -> None:
    vault = manager.vault
    notebook = write_notebook(tmp_path / "nb.ipynb", "print('ran')")
    bot = manager.promote(PromoteBot(notebook=str(notebook), name="Restored Bot"))
    backups = BackupManager(bot_home)
    backup = backups.create(key_from_vault(vault))
    manager.delete(bot.id)  # gone: registry entry, folder, venv and kernelspec
    target = tmp_path / "r"

    backups.restore_into(backup.id, key_from_vault(vault), target)
    paths = BotPaths(target, bot.id)
    assert not paths.venv.exists()
    restored = open_vault(target)
    restored.unlock(PASSWORD)
    assert verify_version(restored, paths, 1) is SealFault.PACKAGES  # cannot start as it is
    builder = EnvironmentBuilder(cache_dir=uv_cache)
    report = rebuild_environments(target, builder, restored)

    assert report.failed == {} and report.rebuilt == [bot.id]
    assert kernelspec_dir(target, bot.id).is_dir()
    assert verify_version(restored, paths, 1) is None  # the check every start makes
    there = BotManager(restored, uv_cache=uv_cache)
    try:
        there.start(bot.id)
        wait_for(lambda: there.describe(bot.id).status.reason == "finished", 90, "the restored run")
        stdout = "".join(r.text for r in there.logs(bot.id) if r.stream == "stdout")
        assert stdout == "ran\n"
        assert there.describe(bot.id).state is BotState.STOPPED
    finally:
        there.stop(bot.id, timeout=10)
        restored.close()
