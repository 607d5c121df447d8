"""What goes into a snapshot, read consistently while the server and bots keep writing.

The vault is copied with SQLite's online backup API (a consistent copy even mid-transaction of
another connection); the bots to include are the ones registered in that copy, so the registry
and the bot folders agree. Per bot: ``bot.json``, ``packages.lock``, every file of
``notebook/`` (the frozen versions, their seals and metadata) and the whole of ``state/``.
Not included: the venv (rebuilt from the lock), logs, runs, the runner's run and tmp folders,
status files and kernelspecs. Symlinks, devices and pipes (a bot can plant them in its own
``state/``) are skipped: never followed, never opened.
"""

from __future__ import annotations

import os
import re
import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path

from ..bots.layout import BotPaths, is_bot_id
from ..vault import VAULT_FILE
from .format import SnapshotFormatError, SnapshotWriter

__all__ = ["VaultHeaderRow", "copy_vault", "is_snapshot_path", "write_bots"]

BOT_FILES = ("bot.json", "packages.lock")
BOT_DIRS = ("notebook", "state")
_BUSY_TIMEOUT_S = 10.0
_BOT = r"bots/[0-9a-f]{32}"
_NAME = r"[^/\x00]+"
_ALLOWED = re.compile(
    rf"{re.escape(VAULT_FILE)}|{_BOT}|{_BOT}/(?:bot\.json|packages\.lock|notebook|state)"
    rf"|{_BOT}/notebook/{_NAME}|{_BOT}/state(?:/{_NAME})+"
)


def is_snapshot_path(path: str) -> bool:
    """Whether a snapshot may hold ``path``: the only names restore will write."""
    if not _ALLOWED.fullmatch(path):
        return False
    return all(part not in ("", ".", "..") for part in path.split("/"))


@dataclass(frozen=True)
class VaultHeaderRow:
    """The vault header fields a snapshot's clear header repeats (what opens it)."""

    vault_id: str
    format_version: int
    kdf: str
    salt: bytes
    wrapped_dek: bytes


def copy_vault(source: Path, target: Path) -> VaultHeaderRow:
    """A consistent copy of ``source`` (the live vault.db) at ``target`` (created 0600)."""
    fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600)
    os.close(fd)
    src = sqlite3.connect(source, timeout=_BUSY_TIMEOUT_S)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            # One file, no -wal beside it: the copy is read as it is, here and after restore.
            dst.execute("PRAGMA journal_mode = DELETE")
            row = dst.execute(
                "SELECT vault_id, format_version, kdf, salt, wrapped_dek FROM vault_header "
                "WHERE id = 1"
            ).fetchone()
        finally:
            dst.close()
    finally:
        src.close()
    if row is None:
        raise SnapshotFormatError("the vault has no header yet")
    return VaultHeaderRow(str(row[0]), int(row[1]), str(row[2]), bytes(row[3]), bytes(row[4]))


def registered_bots(vault_copy: Path) -> list[str]:
    db = sqlite3.connect(vault_copy)
    try:
        rows = db.execute("SELECT id FROM bots ORDER BY id").fetchall()
    finally:
        db.close()
    return [r[0] for r in rows if isinstance(r[0], str) and is_bot_id(r[0])]


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def add_regular_file(
    writer: SnapshotWriter, name: str, path: str | Path, dir_fd: int | None = None
) -> bool:
    """Stream ``path`` (relative to ``dir_fd``) into the snapshot as ``name`` if it is a
    regular file. Opened without following a link, and checked once open."""
    try:
        fd = os.open(path, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError:  # gone, a symlink (ELOOP), unreadable: not part of the snapshot
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        writer.add_file(name, lambda n: os.read(fd, n))
        return True
    finally:
        os.close(fd)


def _add_tree(
    writer: SnapshotWriter, parent_fd: int, entry: str, name: str, *, nested: bool
) -> int:
    """The folder ``entry`` of ``parent_fd`` as ``name``, top-down.

    Every step goes through a descriptor of the folder above, opened without following links:
    a bot that swaps a folder of its ``state/`` for a link while the backup runs (to have a
    file of the user's copied into the snapshot, then restored where it can read it) gets the
    link refused, not followed.
    """
    try:
        fd = os.open(entry, _DIR_FLAGS, dir_fd=parent_fd)
    except OSError:
        return 0
    files = 0
    try:
        writer.add_dir(name)
        with os.scandir(fd) as listing:
            children = sorted(listing, key=lambda e: e.name)
        for child in children:
            child_name = f"{name}/{child.name}"
            if child.is_dir(follow_symlinks=False):
                if nested:
                    files += _add_tree(writer, fd, child.name, child_name, nested=True)
            elif child.is_file(follow_symlinks=False):
                files += add_regular_file(writer, child_name, child.name, fd)
    finally:
        os.close(fd)
    return files


def write_bots(writer: SnapshotWriter, home: Path, bot_ids: list[str]) -> int:
    """Every backed-up file of every bot in ``bot_ids``; returns the number of files."""
    files = 0
    for bot_id in bot_ids:
        base = f"bots/{bot_id}"
        try:
            root = os.open(BotPaths(home, bot_id).root, _DIR_FLAGS)
        except OSError:  # registered, but its folder is gone: the registry entry still counts
            continue
        try:
            writer.add_dir(base)
            for name in BOT_FILES:
                files += add_regular_file(writer, f"{base}/{name}", name, root)
            for folder in BOT_DIRS:
                # Versions are files side by side; only state/ nests.
                nested = folder == "state"
                files += _add_tree(writer, root, folder, f"{base}/{folder}", nested=nested)
        finally:
            os.close(root)
    return files
