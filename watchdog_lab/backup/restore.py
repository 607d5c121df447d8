"""Putting a verified snapshot in place so that no kill leaves half of it.

Restore first decrypts the whole snapshot into a staging folder inside the home (so every
rename below stays on one filesystem and is atomic), fsyncing what it writes. Then a journal
(``restore-journal.json``, written atomically) lists every path to be replaced; each old entry is
renamed into the staging folder's ``old/`` and the staged one renamed into its place. When all
are in place the journal says ``committed``, and only then is the old state deleted.

A restore killed at any point is finished by the next :func:`recover` (the server's start, any
``watchdog-lab backup`` command): a journal still ``swapping`` is rolled back, every old entry
renamed back (the rollback is idempotent, so a kill during it is recovered the same way); a
``committed`` one only has its leftovers removed; a staging folder without a journal (killed
while decrypting) is deleted. So the home holds either the old state or the new, never a mix.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from ..bots.layout import write_bytes_atomic
from ..vault import VAULT_FILE
from .errors import RestoreBusy
from .format import SnapshotFormatError, fsync_dir
from .snapshot import is_snapshot_path

__all__ = ["JOURNAL", "StagingSink", "recover", "restore_lock", "swap_in"]

JOURNAL = "restore-journal.json"
LOCK_FILE = "restore.lock"
STAGING_PREFIX = ".restore-"
_NEW, _OLD = "new", "old"
#: The vault's companions: a -wal of the old vault beside the new vault.db would be replayed
#: into it, so they move aside with it.
VAULT_FILES = (VAULT_FILE, f"{VAULT_FILE}-wal", f"{VAULT_FILE}-shm")


@contextlib.contextmanager
def restore_lock(home: Path, *, wait: bool = False, shared: bool = False) -> Iterator[None]:
    """One restore (or recovery) of a home at a time, across processes, and no snapshot
    while one runs: backups hold it ``shared`` (they may run side by side), restores
    exclusively. Without ``wait``, a lock held elsewhere raises :class:`RestoreBusy`."""
    fd = os.open(home / LOCK_FILE, os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
        try:
            fcntl.flock(fd, mode | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise RestoreBusy from None
        yield
    finally:
        os.close(fd)


class StagingSink:
    """Writes a snapshot's entries under ``root``, every file fsynced, nothing followed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._fd: int | None = None
        self._dirs: set[Path] = set()

    def _target(self, path: str) -> Path:
        if not is_snapshot_path(path):
            raise SnapshotFormatError(f"the snapshot names a path it may not hold: {path[:80]!r}")
        return self.root / path

    def _mkdirs(self, folder: Path) -> None:
        missing = [p for p in (folder, *folder.parents) if p not in self._dirs and p != self.root]
        for part in reversed([p for p in missing if self.root in p.parents]):
            with contextlib.suppress(FileExistsError):
                part.mkdir(mode=0o700)
            if part.is_symlink() or not part.is_dir():
                raise SnapshotFormatError(f"{part.relative_to(self.root)} is not a folder")
            self._dirs.add(part)

    def add_dir(self, path: str, mode: int) -> None:
        self._mkdirs(self._target(path))

    def begin_file(self, path: str, mode: int) -> None:
        target = self._target(path)
        self._mkdirs(target.parent)
        try:
            self._fd = os.open(
                target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600
            )
        except FileExistsError:
            raise SnapshotFormatError(f"the snapshot holds {path} twice") from None

    def write(self, data: bytes) -> None:
        assert self._fd is not None
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]

    def end_file(self) -> None:
        assert self._fd is not None
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def sync_dirs(self) -> None:
        for folder in sorted(self._dirs | {self.root}):
            fsync_dir(folder)


def _rename(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.rename(source, target)


def _write_journal(home: Path, journal: dict[str, object]) -> None:
    write_bytes_atomic(home / JOURNAL, json.dumps(journal, sort_keys=True).encode("utf-8"))
    fsync_dir(home)


def swap_in(home: Path, staging: Path, targets: list[str]) -> None:
    """Replace each of ``targets`` (paths relative to ``home``) by ``staging/new/<target>``
    (absent there: the target is removed), all or nothing across kills."""
    ops = [{"target": t, "existed": os.path.lexists(home / t)} for t in targets]
    journal: dict[str, object] = {"staging": staging.name, "phase": "swapping", "ops": ops}
    _write_journal(home, journal)
    parents: set[Path] = {home}
    for op in ops:
        target = str(op["target"])
        if op["existed"]:
            _rename(home / target, staging / _OLD / target)
        new = staging / _NEW / target
        if os.path.lexists(new):
            _rename(new, home / target)
        parents.add((home / target).parent)
    for folder in parents:
        if folder.is_dir():
            fsync_dir(folder)
    journal["phase"] = "committed"
    _write_journal(home, journal)
    _finish(home, staging)


def _finish(home: Path, staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)
    (home / JOURNAL).unlink(missing_ok=True)
    fsync_dir(home)


def _roll_back(home: Path, staging: Path, ops: list[dict[str, object]]) -> None:
    for op in reversed(ops):
        target = str(op["target"])
        old, here, new = staging / _OLD / target, home / target, staging / _NEW / target
        if os.path.lexists(old):  # the original was moved aside: put it back
            if os.path.lexists(here):
                _discard(here, new)
            _rename(old, here)
        elif not op["existed"] and os.path.lexists(here):  # ours, where nothing was
            _discard(here, new)
    fsync_dir(home)


def _discard(path: Path, spare: Path) -> None:
    """Move a restored entry out of the way (back into staging, or deleted if that is taken)."""
    if os.path.lexists(spare):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    else:
        _rename(path, spare)


def recover(home: Path) -> str | None:
    """Finish or undo a restore that was killed; what was done (None: nothing to do)."""
    if not home.is_dir():
        return None
    journal_path = home / JOURNAL
    stale = [p for p in home.glob(f"{STAGING_PREFIX}*") if p.is_dir() and not p.is_symlink()]
    if not journal_path.exists() and not stale:
        return None
    try:
        with restore_lock(home):
            return recover_locked(home)
    except RestoreBusy:  # another process is restoring right now: its own job
        return None


def recover_locked(home: Path) -> str | None:
    """:func:`recover`, for a caller that holds the restore lock already."""
    journal_path = home / JOURNAL
    stale = [p for p in home.glob(f"{STAGING_PREFIX}*") if p.is_dir() and not p.is_symlink()]
    if not journal_path.exists() and not stale:
        return None
    done = None
    if journal_path.exists():
        journal = json.loads(journal_path.read_text(encoding="utf-8"))
        name = str(journal["staging"])
        if not name.startswith(STAGING_PREFIX) or "/" in name:
            raise SnapshotFormatError(f"{JOURNAL} names an unexpected folder")
        staging = home / name
        if journal.get("phase") == "committed":
            done = "completed an interrupted restore"
        else:
            _roll_back(home, staging, list(journal["ops"]))
            done = "rolled back an interrupted restore"
        _finish(home, staging)
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
    return done or "removed an interrupted restore's staging folder"
