"""Seals (watchdog_lab/bots/seal.py): a bot whose notebook or packages changed outside WatchDog
Lab gets no secret. Unit checks on real venvs and a real vault, then real promoted bots."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from watchdog_lab.bots.environment import environment_lock, site_packages_dir
from watchdog_lab.bots.errors import BotSealBroken
from watchdog_lab.bots.layout import BotPaths, write_bytes_atomic
from watchdog_lab.bots.models import BotMode, BotState, PromoteBot
from watchdog_lab.bots.seal import (
    SealFault,
    lock_path,
    seal_path,
    seal_version,
    verify_version,
)
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.vault import CreateConnection, KdfParams, Vault, VaultLocked

from .conftest import PASSWORD, wait_for, wait_state, write_notebook

SECRET = "tok-Seal-" + "q7Zr" * 6
MakeVersion = Callable[..., BotPaths]
# Records in state/ that it ran with its connection (never the secret itself).
MARK_CELL = (
    "import os, watchdog_lab as wd\n"
    "token = wd.connection('Ex').token\n"
    "open(os.path.join(os.environ['WATCHDOG_LAB_STATE_DIR'], 'ran'), 'w').write(str(len(token)))"
)


# --------------------------------------------------------------------- unit


@pytest.fixture
def make_version(tmp_path: Path, vault: Vault) -> MakeVersion:
    """A bot folder with a real (empty) venv, a notebook version and its lock, sealed."""

    def make(version: int = 1, text: str = "print('v1')", bot_id: str | None = None) -> BotPaths:
        paths = BotPaths(vault.home, bot_id or uuid.uuid4().hex)
        paths.create()
        if not paths.venv.exists():
            subprocess.run([sys.executable, "-m", "venv", "--without-pip", paths.venv], check=True)
        notebook = write_notebook(tmp_path / f"{paths.bot_id}-{version}.ipynb", text).read_bytes()
        paths.notebook(version).write_bytes(notebook)
        lock = environment_lock(paths.venv)
        write_bytes_atomic(lock_path(paths), lock)
        seal_version(vault, paths, version, notebook, lock)
        return paths

    return make


def test_a_sealed_version_verifies_as_written(make_version: MakeVersion, vault: Vault) -> None:
    paths = make_version()
    assert verify_version(vault, paths, 1) is None
    assert seal_path(paths, 1).stat().st_mode & 0o777 == 0o600


def test_one_changed_byte_of_the_notebook_breaks_the_seal(
    make_version: MakeVersion, vault: Vault
) -> None:
    paths = make_version(text="print('v1')")
    data = paths.notebook(1).read_bytes()
    paths.notebook(1).write_bytes(data.replace(b"v1", b"v2", 1))
    assert verify_version(vault, paths, 1) is SealFault.NOTEBOOK


def test_a_changed_lock_or_a_planted_startup_file_breaks_the_seal(
    make_version: MakeVersion, vault: Vault
) -> None:
    paths = make_version()
    original = lock_path(paths).read_bytes()
    lock_path(paths).write_bytes(original + b"package evil==1.0 record-sha256=00\n")
    assert verify_version(vault, paths, 1) is SealFault.LOCK
    lock_path(paths).write_bytes(original)
    (site_packages_dir(paths.venv) / "evil.pth").write_text("import os\n")
    assert verify_version(vault, paths, 1) is SealFault.PACKAGES


def test_a_version_swapped_for_another_fails(make_version: MakeVersion, vault: Vault) -> None:
    paths = make_version(1, "print('one')")
    make_version(2, "print('two')", bot_id=paths.bot_id)
    shutil.copyfile(paths.notebook(1), paths.notebook(2))
    shutil.copyfile(seal_path(paths, 1), seal_path(paths, 2))
    assert verify_version(vault, paths, 2) is SealFault.SEAL


def test_another_bots_files_and_seal_fail(make_version: MakeVersion, vault: Vault) -> None:
    mine, other = make_version(), make_version(text="print('other')")
    for source, target in (
        (other.notebook(1), mine.notebook(1)),
        (lock_path(other), lock_path(mine)),
        (seal_path(other, 1), seal_path(mine, 1)),
    ):
        shutil.copyfile(source, target)
    shutil.rmtree(mine.venv)
    shutil.copytree(other.venv, mine.venv, symlinks=True)
    assert verify_version(vault, mine, 1) is SealFault.SEAL


def test_a_seal_made_under_another_vault_fails(
    make_version: MakeVersion, vault: Vault, tmp_path: Path
) -> None:
    paths = make_version()
    other = Vault(tmp_path / "other", kdf=KdfParams(1, 8192, 1))
    other.create(PASSWORD)  # same password, another data key
    try:
        assert verify_version(other, paths, 1) is SealFault.SEAL
    finally:
        other.close()


def test_no_seal_is_unsealed_and_sealing_needs_the_vault_unlocked(
    make_version: MakeVersion, vault: Vault
) -> None:
    paths = make_version()
    seal_path(paths, 1).unlink()
    assert verify_version(vault, paths, 1) is SealFault.UNSEALED
    vault.lock()
    with pytest.raises(VaultLocked):
        seal_version(vault, paths, 1, b"{}", b"")
    assert not seal_path(paths, 1).exists()


# ------------------------------------------------------------ promoted bots


@pytest.fixture
def granted(manager: BotManager, vault: Vault, tmp_path: Path) -> BotPaths:
    """A bot promoted with one granted connection, not started."""
    vault.add_connection(CreateConnection(name="Ex", kind="generic", fields={"token": SECRET}))
    nb = write_notebook(tmp_path / "mark.ipynb", MARK_CELL)
    bot = manager.promote(PromoteBot(notebook=str(nb), name="Sealed", connections=["Ex"]))
    return BotPaths(vault.home, bot.id)


def _assert_refused_and_nothing_handed(
    manager: BotManager, vault: Vault, paths: BotPaths, changed: str
) -> None:
    bot = manager.describe("Sealed")
    assert bot.state is BotState.STOPPED and bot.desired_state == "stopped"
    assert bot.status.reason is not None and bot.status.reason.startswith("refused:")
    assert bot.status.pid is None and bot.status.runs == 0
    assert not (paths.state / "ran").exists()
    assert not paths.runner_log.exists() or paths.runner_log.read_bytes() == b""
    events = [e for e in vault.audit_log() if e.event == "bot.seal_broken"]
    assert events and events[0].connection_id == paths.bot_id
    assert events[0].detail == {"bot": "Sealed", "version": 1, "changed": changed}


def test_an_untouched_sealed_bot_starts_with_its_connection(
    manager: BotManager, vault: Vault, granted: BotPaths
) -> None:
    assert seal_path(granted, 1).is_file() and lock_path(granted).is_file()
    manager.start("Sealed")
    wait_state(manager, "Sealed", BotState.STOPPED, BotState.CRASHED)
    assert manager.describe("Sealed").status.reason == "finished"
    assert (granted.state / "ran").read_text() == str(len(SECRET))


def test_a_notebook_changed_on_disk_is_refused_audited_and_gets_nothing(
    manager: BotManager, vault: Vault, granted: BotPaths
) -> None:
    notebook = granted.notebook(1)
    notebook.write_bytes(notebook.read_bytes().replace(b"len(token)", b"token", 1))
    with pytest.raises(BotSealBroken) as info:
        manager.start("Sealed")
    message = str(info.value)
    assert message.startswith(
        "The notebook of bot 'Sealed' changed outside WatchDog Lab since it was promoted "
        "(version 1); its connections are withheld."
    )
    assert "promote the notebook again" in message and SECRET not in message
    _assert_refused_and_nothing_handed(manager, vault, granted, "notebook")


def test_a_changed_lock_file_is_refused(
    manager: BotManager, vault: Vault, granted: BotPaths
) -> None:
    lock = lock_path(granted)
    lock.write_bytes(lock.read_bytes().replace(b"package ", b"package  ", 1))
    with pytest.raises(BotSealBroken, match=r"The package lock of bot 'Sealed' \(packages.lock\)"):
        manager.start("Sealed")
    _assert_refused_and_nothing_handed(manager, vault, granted, "lock")


def test_a_package_planted_in_the_venv_is_refused(
    manager: BotManager, vault: Vault, granted: BotPaths
) -> None:
    (site_packages_dir(granted.venv) / "zz_planted.pth").write_text("import os\n")
    with pytest.raises(BotSealBroken, match="installed packages of bot 'Sealed' no longer match"):
        manager.start("Sealed")
    _assert_refused_and_nothing_handed(manager, vault, granted, "packages")


def test_reconcile_after_unlock_leaves_a_tampered_bot_stopped_with_the_reason(
    manager: BotManager, vault: Vault, granted: BotPaths
) -> None:
    manager.registry.set_desired(granted.bot_id, "running")  # as after a reboot
    vault.lock()
    assert manager.reconcile() == {"Sealed": "waiting-for-unlock"}
    notebook = granted.notebook(1)
    notebook.write_bytes(notebook.read_bytes() + b"\n")
    vault.unlock(PASSWORD)
    done = manager.reconcile()
    assert done["Sealed"].startswith("failed: The notebook of bot 'Sealed' changed outside")
    _assert_refused_and_nothing_handed(manager, vault, granted, "notebook")
    assert manager.reconcile() == {}  # not retried (nor audited again) at the next unlock


def test_a_bot_promoted_while_locked_runs_without_connections_but_gets_none(
    manager: BotManager, vault: Vault, tmp_path: Path
) -> None:
    vault.add_connection(CreateConnection(name="Ex", kind="generic", fields={"token": SECRET}))
    nb = write_notebook(tmp_path / "plain.ipynb", "print('plain')")
    vault.lock()
    bot = manager.promote(PromoteBot(notebook=str(nb), name="Plain", mode=BotMode.ONCE))
    paths = BotPaths(vault.home, bot.id)
    assert lock_path(paths).is_file() and not seal_path(paths, 1).exists()
    vault.unlock(PASSWORD)
    manager.start("Plain")  # nothing to withhold: it runs
    wait_for(lambda: manager.describe("Plain").status.reason == "finished", 90, "Plain to run")
    with pytest.raises(BotSealBroken, match="has no seal"):
        manager.set_grants("Plain", ["Ex"])
    assert manager.registry.get("Plain").grants == ()


def test_a_notebook_swapped_after_the_seal_check_is_not_run_with_the_connection(
    manager: BotManager, vault: Vault, granted: BotPaths
) -> None:
    # The runner is handed the sealed digest with the connections and runs only those bytes:
    # a file changed between the supervisor's check and the runner's read gets nothing.
    record = manager.registry.get("Sealed")
    connections = manager.granted_connections(record)  # the seal checks out now
    notebook = granted.notebook(1)
    notebook.write_bytes(notebook.read_bytes().replace(b"len(token)", b"token", 1))
    manager.spawn(record, connections)
    wait_state(manager, "Sealed", BotState.CRASHED, BotState.STOPPED)
    status = manager.describe("Sealed").status
    assert status.state is BotState.CRASHED
    assert status.reason is not None and "changed outside WatchDog Lab" in status.reason
    assert not (granted.state / "ran").exists()


def test_every_run_executes_the_notebook_bytes_read_at_start(
    manager: BotManager, vault: Vault, tmp_path: Path
) -> None:
    vault.add_connection(CreateConnection(name="Ex", kind="generic", fields={"token": SECRET}))
    cell = (
        "import os, watchdog_lab as wd\n"
        "state = os.environ['WATCHDOG_LAB_STATE_DIR']\n"
        "open(os.path.join(state, 'runs'), 'a').write('original\\n')"
    )
    nb = write_notebook(tmp_path / "every.ipynb", cell)
    request = PromoteBot(
        notebook=str(nb), name="Every", connections=["Ex"], mode=BotMode.EVERY, interval=0.5
    )
    bot = manager.promote(request)
    paths = BotPaths(vault.home, bot.id)
    manager.start("Every")
    runs = paths.state / "runs"
    wait_for(lambda: runs.exists(), 60, "first run")
    notebook = paths.notebook(1)
    notebook.write_bytes(notebook.read_bytes().replace(b"original", b"tampered", 1))
    wait_for(lambda: runs.read_text().count("\n") >= 3, 60, "two more runs")
    manager.stop("Every")
    assert set(runs.read_text().split()) == {"original"}
