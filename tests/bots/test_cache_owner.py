"""The uv cache is trusted like the home: what is in it gets installed into bots.

A wheel planted in a cache that another user owns or may write would be installed as if it
came from the index, so such a cache is refused before anything is written or built.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from watchdog_lab.bots.errors import UnsafeFolder
from watchdog_lab.bots.models import PromoteBot
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.paths import ensure_trusted_dir
from watchdog_lab.vault import Vault

from .conftest import write_notebook

OTHER_UID = 4242
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another uid needs root")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _check(vault: Vault, cache: Path, tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "strategy.ipynb", "print('hello')")
    BotManager(vault, uv_cache=cache).check_promote(PromoteBot(notebook=str(notebook), name="B"))


def test_world_writable_cache_is_refused_before_anything_is_written(
    vault: Vault, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    cache.chmod(0o777)
    with pytest.raises(UnsafeFolder, match="writable by other users"):
        _check(vault, cache, tmp_path)
    assert _mode(cache) == 0o777, "a refused cache is reported, not silently fixed"
    assert not (vault.home / "bots").exists()


@needs_root
def test_cache_owned_by_another_user_is_refused(vault: Vault, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    os.chown(cache, OTHER_UID, OTHER_UID)
    with pytest.raises(UnsafeFolder, match="owned by another user"):
        _check(vault, cache, tmp_path)


@needs_root
def test_symlink_to_a_cache_of_another_user_is_refused(vault: Vault, tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, OTHER_UID, OTHER_UID)
    (tmp_path / "cache").symlink_to(theirs)
    with pytest.raises(UnsafeFolder, match="owned by another user"):
        _check(vault, tmp_path / "cache", tmp_path)


@needs_root
def test_home_owned_by_another_user_is_refused_for_a_cache_inside_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    os.chown(home, OTHER_UID, OTHER_UID)
    with pytest.raises(UnsafeFolder, match="home"):
        ensure_trusted_dir(home / "cache" / "uv", home=home)
    assert not (home / "cache").exists()


def test_group_writable_folder_between_home_and_cache_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "cache").mkdir(parents=True)
    (home / "cache").chmod(0o770)
    with pytest.raises(UnsafeFolder, match="writable by other users"):
        ensure_trusted_dir(home / "cache" / "uv", home=home)


def test_loose_home_is_tightened_like_everywhere_else(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o777)
    home.chmod(0o777)
    ensure_trusted_dir(home / "cache" / "uv", home=home)
    assert _mode(home) == 0o700


def test_missing_cache_is_created_private_folder_by_folder(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cache = ensure_trusted_dir(home / "cache" / "uv", home=home)
    assert cache == home / "cache" / "uv"
    assert [_mode(p) for p in (home, home / "cache", cache)] == [0o700, 0o700, 0o700]


def test_cache_outside_the_home_may_sit_in_a_sticky_shared_folder(tmp_path: Path) -> None:
    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp: others may create, but not rename what is ours
    cache = ensure_trusted_dir(shared / "uv", home=tmp_path / "home")
    assert _mode(cache) == 0o700


def test_cache_outside_the_home_in_a_writable_folder_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # without the sticky bit anyone may swap our folder for theirs
    with pytest.raises(UnsafeFolder, match="writable by other users"):
        ensure_trusted_dir(shared / "uv", home=tmp_path / "home")
