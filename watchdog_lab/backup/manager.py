"""The backup service: create, list, verify, prune and restore sealed snapshots of a home.

Every face (the server's routes and its automatic backups, the CLI) goes through
:class:`BackupManager`; none of them opens a snapshot or decides a policy itself. Snapshots live
in ``<home>/backups/``, one file each, named by a random id. A snapshot is written to a
temporary file beside its final name, under an exclusive ``flock``, fsynced, then renamed: a
killed backup leaves only a temporary file, which no listing counts and which the next backup
removes once no process holds its lock.
"""

from __future__ import annotations

import builtins
import contextlib
import fcntl
import os
import re
import secrets
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..bots.layout import BotPaths, is_bot_id
from ..bots.status import read_status, runner_is_alive
from ..paths import ensure_private_dir, home_dir
from ..vault import VAULT_FILE, audit
from ..vault.store import ensure_private_db_file
from .config import DEFAULT_RETENTION_DAYS
from .errors import (
    BackupCorrupted,
    BackupFromAnotherVault,
    BackupNeedsUnlock,
    BackupNotFound,
    BackupTooSoon,
    BotsRunning,
    InvalidBackupId,
    NoVaultToBackUp,
    RestoreTargetNotEmpty,
)
from .format import (
    Header,
    NullSink,
    SnapshotFormatError,
    SnapshotWriter,
    fsync_dir,
    key_check,
    key_matches,
    read_header,
    read_snapshot,
)
from .keys import BackupKey
from .models import (
    REASONS,
    DescribeBackup,
    DescribeRestore,
    DescribeVerification,
    iso_utc,
)
from .restore import (
    STAGING_PREFIX,
    VAULT_FILES,
    StagingSink,
    recover,
    recover_locked,
    restore_lock,
    swap_in,
)
from .snapshot import (
    BOT_DIRS,
    BOT_FILES,
    add_regular_file,
    copy_vault,
    is_snapshot_path,
    registered_bots,
    write_bots,
)

__all__ = ["BACKUPS_FOLDER", "SUFFIX", "BackupManager"]

BACKUPS_FOLDER = "backups"
SUFFIX = ".wdlbackup"
TMP_PREFIX = ".tmp-"
ID_BYTES = 8
_ID = re.compile(rf"[0-9a-f]{{{ID_BYTES * 2}}}")
ID_RULE = f"{ID_BYTES * 2} lowercase hex characters"
DAY_SECONDS = 86400.0
_WRITE_BUFFER = 1024 * 1024


def check_backup_id(value: object) -> str:
    """``value`` if it can name a backup, else :class:`InvalidBackupId` (before any path is
    built from it: no traversal, no huge names)."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise InvalidBackupId(ID_RULE)
    return value


@dataclass(frozen=True)
class _Stored:
    header: Header
    path: Path
    size: int

    def describe(self) -> DescribeBackup:
        reason = self.header.reason if self.header.reason in REASONS else "manual"
        return DescribeBackup(
            id=self.header.snapshot_id,
            created_at=iso_utc(self.header.created_at),
            size_bytes=self.size,
            reason=reason,  # checked against REASONS above
        )


class BackupManager:
    """Snapshots of the home at ``home``. ``clock`` is injectable so retention can be tested."""

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        *,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.home = home_dir(home)
        self.retention_days = retention_days
        self._clock = clock

    @property
    def folder(self) -> Path:
        return self.home / BACKUPS_FOLDER

    def path_of(self, backup_id: str) -> Path:
        return self.folder / f"{check_backup_id(backup_id)}{SUFFIX}"

    # ------------------------------------------------------------------ listing

    def _stored(self) -> list[_Stored]:
        if not self.folder.is_dir():
            return []
        out = []
        for path in self.folder.glob(f"*{SUFFIX}"):
            if not _ID.fullmatch(path.name[: -len(SUFFIX)]):
                continue  # temporary files and foreign names are never counted
            try:
                out.append(self._read_stored(path))
            except (OSError, SnapshotFormatError):
                continue
        return sorted(out, key=lambda s: (s.header.created_at, s.header.snapshot_id), reverse=True)

    def _read_stored(self, path: Path) -> _Stored:
        with open(path, "rb") as stream:
            header, _ = read_header(stream)
            size = os.fstat(stream.fileno()).st_size
        if header.snapshot_id != path.name[: -len(SUFFIX)]:
            raise SnapshotFormatError("the file's name and its header's id differ")
        return _Stored(header, path, size)

    def list(self) -> builtins.list[DescribeBackup]:
        """Every complete snapshot, newest first."""
        return [s.describe() for s in self._stored()]

    def header(self, backup_id: str) -> Header:
        path = self.path_of(backup_id)
        try:
            return self._read_stored(path).header
        except FileNotFoundError:
            raise BackupNotFound(backup_id) from None
        except SnapshotFormatError as exc:
            raise BackupCorrupted(backup_id, [str(exc)]) from None

    def newest_at(self) -> float | None:
        stored = self._stored()
        return stored[0].header.created_at if stored else None

    def ensure_paced(self, min_interval: float) -> None:
        """Refuse (:class:`BackupTooSoon`) a manual backup within ``min_interval`` seconds of
        the newest manual one: what kernel code holding the server's token may ask for must
        not be able to fill the disk."""
        if min_interval <= 0:
            return
        manual = [s.header.created_at for s in self._stored() if s.header.reason == "manual"]
        if manual:
            wait = max(manual) + min_interval - self._clock()
            if wait > 0:
                raise BackupTooSoon(wait)

    # ------------------------------------------------------------------- create

    def create(
        self, key: BackupKey, reason: str = "manual", *, exclusive: bool = True
    ) -> DescribeBackup:
        """Snapshot the vault and the bots under ``key`` (the vault's backup key).

        ``exclusive``: refuse (:class:`~.restore.RestoreBusy`) while a restore runs, whose
        half-swapped home is no state to save; a restore's own safety snapshot passes False.
        """
        if exclusive:
            ensure_private_dir(self.home, follow_symlinks=True)
            with restore_lock(self.home, shared=True):
                return self.create(key, reason, exclusive=False)
        if reason not in REASONS:
            raise ValueError(f"unknown backup reason {reason!r}")
        vault_path = self.home / VAULT_FILE
        if not vault_path.is_file():
            raise NoVaultToBackUp(str(vault_path))
        # Refuses a link planted in the vault's place, without closing a descriptor of it: that
        # would drop the locks SQLite holds on it in this process (see vault.store).
        ensure_private_db_file(vault_path)
        ensure_private_dir(self.folder)
        self.cleanup_stale()
        snapshot_id = secrets.token_hex(ID_BYTES)
        final = self.folder / f"{snapshot_id}{SUFFIX}"
        tmp = self.folder / f"{TMP_PREFIX}{snapshot_id}{SUFFIX}"
        vault_copy = self.folder / f"{TMP_PREFIX}{snapshot_id}.vault.db"
        fd = os.open(
            tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600
        )
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            row = copy_vault(vault_path, vault_copy)
            if row.vault_id != key.vault_id:
                raise BackupFromAnotherVault(snapshot_id)
            header = Header(
                snapshot_id=snapshot_id,
                created_at=self._clock(),
                reason=reason,
                vault_id=row.vault_id,
                vault_format=row.format_version,
                kdf=row.kdf,
                salt=row.salt,
                wrapped_dek=row.wrapped_dek,
                key_check=key_check(key.key, snapshot_id),
            )
            with open(fd, "wb", buffering=_WRITE_BUFFER, closefd=False) as stream:
                writer = SnapshotWriter(stream, header, key.key)
                add_regular_file(writer, VAULT_FILE, vault_copy)
                write_bots(writer, self.home, registered_bots(vault_copy))
                writer.finish()
                stream.flush()
                os.fsync(fd)
            os.rename(tmp, final)
            fsync_dir(self.folder)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        finally:
            _remove_db(vault_copy)
            os.close(fd)
        return _Stored(header, final, final.stat().st_size).describe()

    def cleanup_stale(self) -> builtins.list[str]:
        """Remove temporary files of backups that no process is writing any more."""
        removed: builtins.list[str] = []
        if not self.folder.is_dir():
            return removed
        for lock_path in self.folder.glob(f"{TMP_PREFIX}*{SUFFIX}"):
            snapshot_id = lock_path.name[len(TMP_PREFIX) : -len(SUFFIX)]
            try:
                fd = os.open(lock_path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue  # a backup in progress
            try:
                for leftover in self.folder.glob(f"{TMP_PREFIX}{snapshot_id}*"):
                    leftover.unlink(missing_ok=True)
                removed.append(snapshot_id)
            finally:
                os.close(fd)
        return removed

    # ------------------------------------------------------------------- verify

    def _open_checked(self, backup_id: str, key: BackupKey) -> _Stored:
        path = self.path_of(backup_id)
        try:
            stored = self._read_stored(path)
        except FileNotFoundError:
            raise BackupNotFound(backup_id) from None
        except SnapshotFormatError as exc:
            raise BackupCorrupted(backup_id, [str(exc)]) from None
        if stored.header.vault_id != key.vault_id or not key_matches(key.key, stored.header):
            raise BackupFromAnotherVault(backup_id)
        return stored

    def verify(self, backup_id: str, key: BackupKey) -> DescribeVerification:
        """Decrypt and check every record; ``ok`` false names the first one that failed."""
        try:
            stored = self._open_checked(backup_id, key)
        except BackupCorrupted as exc:
            return DescribeVerification(
                id=backup_id, ok=False, problems=exc.problems, checked_files=0
            )
        except BackupFromAnotherVault as exc:
            return DescribeVerification(
                id=backup_id, ok=False, problems=[str(exc)], checked_files=0
            )
        sink = _CountingSink()
        try:
            with open(stored.path, "rb") as stream:
                header, raw = read_header(stream)
                report = read_snapshot(stream, header, raw, key.key, sink, _check_path)
        except SnapshotFormatError as exc:
            return DescribeVerification(
                id=backup_id, ok=False, problems=[str(exc)], checked_files=sink.files
            )
        return DescribeVerification(id=backup_id, ok=True, problems=[], checked_files=report.files)

    # -------------------------------------------------------------------- prune

    def prune(self, now: float | None = None) -> builtins.list[str]:
        """Delete snapshots older than the retention; the newest one always stays."""
        now = self._clock() if now is None else now
        cutoff = now - self.retention_days * DAY_SECONDS
        removed = []
        for stored in self._stored()[1:]:
            if stored.header.created_at < cutoff:
                stored.path.unlink(missing_ok=True)
                removed.append(stored.header.snapshot_id)
        if removed:
            fsync_dir(self.folder)
        self.cleanup_stale()
        return removed

    # ------------------------------------------------------------------ restore

    def recover(self) -> str | None:
        """Finish or undo a restore that was killed (see :mod:`.restore`)."""
        return recover(self.home)

    def running_bots(self) -> builtins.list[str]:
        """Bots of this home whose runner is alive (by name where ``bot.json`` says it)."""
        names: builtins.list[str] = []
        bots = self.home / "bots"
        if not bots.is_dir():
            return names
        for entry in bots.iterdir():
            if not is_bot_id(entry.name):
                continue
            paths = BotPaths(self.home, entry.name)
            if runner_is_alive(read_status(paths.status_file, entry.name)):
                names.append(_bot_name(paths))
        return names

    def _stage(self, stored: _Stored, key: BackupKey, root: Path) -> None:
        sink = StagingSink(root)
        try:
            with open(stored.path, "rb") as stream:
                header, raw = read_header(stream)
                read_snapshot(stream, header, raw, key.key, sink, _check_path)
            sink.sync_dirs()
        except SnapshotFormatError as exc:
            raise BackupCorrupted(stored.header.snapshot_id, [str(exc)]) from None
        finally:
            sink.close()

    def restore_into(self, backup_id: str, key: BackupKey, target: Path) -> DescribeRestore:
        """Restore into ``target``, a new home: absent, or an empty folder."""
        stored = self._open_checked(backup_id, key)
        target = Path(target).absolute()
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise RestoreTargetNotEmpty(str(target))
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.parent / f".{target.name}{STAGING_PREFIX}{secrets.token_hex(4)}"
        staging.mkdir(mode=0o700)
        try:
            self._stage(stored, key, staging)
            counts = _counts(staging / VAULT_FILE)
            _note_restore(staging / VAULT_FILE, stored.header, self._clock(), "into a new home")
            if target.exists():
                target.rmdir()
            os.rename(staging, target)
            fsync_dir(target.parent)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return DescribeRestore(
            id=backup_id,
            restored_from=iso_utc(stored.header.created_at),
            safety_backup="",
            connections=counts[0],
            bots=counts[1],
        )

    def restore_in_place(
        self,
        backup_id: str,
        key: BackupKey,
        current_key: Callable[[], BackupKey | None],
        *,
        release: Callable[[], None] = lambda: None,
    ) -> DescribeRestore:
        """Replace this home's vault and bots by the snapshot's, all or nothing.

        Verifies the whole snapshot while staging it, refuses while a bot runs, takes a
        ``pre-restore`` snapshot of the current state with ``current_key()`` (None: there is
        no vault to save), calls ``release()`` (close every open handle on the vault: the file
        is about to be replaced), then swaps (see :mod:`.restore`).
        """
        ensure_private_dir(self.home, follow_symlinks=True)
        self.recover()
        with restore_lock(self.home, wait=True):  # backups under way finish first
            stored = self._open_checked(backup_id, key)
            self._refuse_running()
            staging = self.home / f"{STAGING_PREFIX}{backup_id}-{secrets.token_hex(4)}"
            (staging / "new").mkdir(parents=True, mode=0o700)
            try:
                self._stage(stored, key, staging / "new")
                counts = _counts(staging / "new" / VAULT_FILE)
                safety = ""
                if (self.home / VAULT_FILE).is_file():
                    saving = current_key()
                    if saving is None:
                        raise BackupNeedsUnlock("Saving the current state before a restore")
                    safety = self.create(saving, "pre-restore", exclusive=False).id
                _note_restore(
                    staging / "new" / VAULT_FILE,
                    stored.header,
                    self._clock(),
                    f"in place; the state before is backup {safety}" if safety else "in place",
                )
                self._refuse_running()
                release()
                swap_in(self.home, staging, self._targets(staging / "new"))
            except Exception:
                # Mid-swap (a full disk, a permission): put the old state back now. A kill
                # runs no handler: the next recover() does the same.
                recover_locked(self.home)
                shutil.rmtree(staging, ignore_errors=True)
                raise
        self._refresh_kernelspecs()
        return DescribeRestore(
            id=backup_id,
            restored_from=iso_utc(stored.header.created_at),
            safety_backup=safety,
            connections=counts[0],
            bots=counts[1],
        )

    def _refuse_running(self) -> None:
        running = self.running_bots()
        if running:
            raise BotsRunning(running)

    def _targets(self, new: Path) -> builtins.list[str]:
        """What the swap replaces: the vault's files, and per restored bot the backed-up
        parts (its venv, logs and runs stay), or its whole folder when it has none here."""
        targets = list(VAULT_FILES)
        bots = new / "bots"
        for entry in sorted(bots.iterdir()) if bots.is_dir() else []:
            base = f"bots/{entry.name}"
            if (self.home / base).is_dir():
                targets += [f"{base}/{name}" for name in (*BOT_FILES, *BOT_DIRS)]
            else:
                targets.append(base)
        return targets

    def _refresh_kernelspecs(self) -> None:
        """Kernelspecs follow the restored registry: removed for bots it does not hold,
        written for the bots it holds that have a venv here."""
        from ..bots.kernelspec import remove_kernelspec, write_kernelspec

        bots = _bot_names(self.home / VAULT_FILE)
        for bot_dir in (self.home / "bots").iterdir() if (self.home / "bots").is_dir() else []:
            if not is_bot_id(bot_dir.name):
                continue
            if bot_dir.name not in bots:
                remove_kernelspec(self.home, bot_dir.name)
                continue
            paths = BotPaths(self.home, bot_dir.name)
            if paths.venv_python.exists():
                write_kernelspec(self.home, bot_dir.name, bots[bot_dir.name], paths.venv_python)


class _CountingSink(NullSink):
    def __init__(self) -> None:
        self.files = 0

    def end_file(self) -> None:
        self.files += 1


def _check_path(path: str, kind: str) -> None:
    if not is_snapshot_path(path):
        raise SnapshotFormatError(f"the snapshot names a path it may not hold: {path[:80]!r}")


def _remove_db(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            path.with_name(path.name + suffix).unlink()


def _note_restore(vault_db: Path, header: Header, now: float, how: str) -> None:
    """Append ``backup.restored`` to the staged vault's audit trail before it is swapped in, so
    the restored vault says where its state came from (the trail it restores ends at the
    snapshot; what came after is in the safety backup)."""
    db = sqlite3.connect(vault_db)
    try:
        with db:
            audit.record(
                db,
                audit.Event.BACKUP_RESTORED,
                now,
                vault_id=header.vault_id,
                note=f"backup {header.snapshot_id} of {iso_utc(header.created_at)}, {how}",
            )
    finally:
        db.close()  # the last connection: SQLite folds its WAL back into the file


def _counts(vault_db: Path) -> tuple[int, int]:
    db = sqlite3.connect(f"file:{vault_db}?mode=ro", uri=True)
    try:
        connections = db.execute("SELECT COUNT(*) FROM connections").fetchone()[0]
        bots = db.execute("SELECT COUNT(*) FROM bots").fetchone()[0]
    finally:
        db.close()
    return int(connections), int(bots)


def _bot_names(vault_db: Path) -> dict[str, str]:
    if not vault_db.is_file():
        return {}
    db = sqlite3.connect(vault_db)
    try:
        return {str(r[0]): str(r[1]) for r in db.execute("SELECT id, name FROM bots")}
    finally:
        db.close()


def _bot_name(paths: BotPaths) -> str:
    import json

    try:
        name = json.loads(paths.config_file.read_text(encoding="utf-8")).get("name")
    except (OSError, ValueError, AttributeError):
        name = None
    return name if isinstance(name, str) else paths.bot_id
