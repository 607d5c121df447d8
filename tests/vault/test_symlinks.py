"""No link in the home is followed: a planted ``vault.db``, ``-wal`` or ``-shm`` link, or a
linked folder the home code makes private, is refused, and what it points to is left as it was.

Only the home itself may be reached through a link: that is where the user chose to keep it.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from watchdog_lab.bots.layout import BotPaths
from watchdog_lab.errors import UnsafeHomeEntry
from watchdog_lab.paths import ensure_private_dir, ensure_private_file
from watchdog_lab.vault import UnsafeVaultFile, Vault

from .conftest import PASSWORD, generic, open_vault

BOT_ID = "c" * 32


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A file of the user's outside the home, readable by others on purpose."""
    target = tmp_path / "elsewhere" / "notes.txt"
    target.parent.mkdir()
    target.write_text("not a vault")
    target.chmod(0o644)
    return target


def test_a_symlinked_vault_db_is_refused_and_its_target_left_alone(
    home: Path, elsewhere: Path
) -> None:
    home.mkdir(mode=0o700)
    (home / "vault.db").symlink_to(elsewhere)
    with pytest.raises(UnsafeVaultFile, match=r"vault\.db is a symlink"):
        open_vault(home).exists()
    assert _mode(elsewhere) == 0o644
    assert elsewhere.read_text() == "not a vault"


def test_a_dangling_vault_db_link_is_refused_rather_than_created_through(
    home: Path, tmp_path: Path
) -> None:
    home.mkdir(mode=0o700)
    target = tmp_path / "elsewhere.db"
    (home / "vault.db").symlink_to(target)
    with pytest.raises(UnsafeVaultFile, match="is a symlink"):
        open_vault(home).create(PASSWORD)
    assert not target.exists()


@pytest.mark.parametrize("suffix", ["-wal", "-shm"])
def test_a_symlinked_journal_file_is_refused_and_its_target_left_alone(
    vault: Vault, home: Path, elsewhere: Path, suffix: str
) -> None:
    vault.add_connection(generic("A", token="t" * 16))
    vault.close()  # the last connection removes -wal and -shm
    (home / f"vault.db{suffix}").unlink(missing_ok=True)
    (home / f"vault.db{suffix}").symlink_to(elsewhere)
    with pytest.raises(UnsafeVaultFile, match=rf"vault\.db{suffix} is a symlink"):
        open_vault(home).unlock(PASSWORD)
    assert _mode(elsewhere) == 0o644
    assert elsewhere.read_text() == "not a vault"


def test_a_home_reached_through_a_symlink_still_opens(tmp_path: Path) -> None:
    real = tmp_path / "real-home"
    link = tmp_path / "home-link"
    link.symlink_to(real, target_is_directory=True)
    real.mkdir(mode=0o755)
    v = open_vault(link)
    v.create(PASSWORD)
    v.close()
    assert _mode(real) == 0o700
    open_vault(link).unlock(PASSWORD)


def test_a_symlinked_bots_folder_is_refused_and_its_target_left_alone(
    tmp_path: Path, home: Path
) -> None:
    target = tmp_path / "shared"
    target.mkdir(mode=0o755)
    target.chmod(0o755)
    home.mkdir(mode=0o700)
    (home / "bots").symlink_to(target, target_is_directory=True)
    with pytest.raises(UnsafeHomeEntry, match="bots is a symlink"):
        BotPaths(home, BOT_ID).create()
    assert _mode(target) == 0o755
    assert list(target.iterdir()) == []


def test_a_private_file_that_is_a_symlink_is_refused(tmp_path: Path, elsewhere: Path) -> None:
    link = tmp_path / "state.json"
    link.symlink_to(elsewhere)
    with pytest.raises(UnsafeHomeEntry, match="is a symlink"):
        ensure_private_file(link)
    assert _mode(elsewhere) == 0o644


def test_a_private_folder_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir(mode=0o755)
    target.chmod(0o755)
    (tmp_path / "folder").symlink_to(target, target_is_directory=True)
    with pytest.raises(UnsafeHomeEntry, match="is a symlink"):
        ensure_private_dir(tmp_path / "folder")
    assert _mode(target) == 0o755
