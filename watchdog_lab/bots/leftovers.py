"""Bot files that no registered bot owns: what a promote killed halfway leaves behind.

A promote writes the bot's folder (and, near the end, its kernelspec) before the registry
entry that makes it a bot. If the process dies in between (SIGKILL, power loss), nothing
removes them: they hold a venv of hundreds of megabytes, and the kernelspec keeps offering a
kernel in JupyterLab's launcher. ``doctor`` lists them and removes them on request.

A promote still running looks exactly like one that died, so every promote holds a shared
lock on ``<home>/promote.lock`` until its bot is registered (or its files removed), and a
removal takes the lock exclusively: it never runs while a promote is in progress. The lock is
``flock``, released by the kernel when its holder dies, so a killed promote cannot leave it
held.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ..paths import PRIVATE_FILE_MODE, ensure_private_dir
from .errors import PromoteRunning
from .kernelspec import KERNEL_NAME_PREFIX, KERNELS_FOLDER, kernelspec_dir
from .layout import BotPaths, is_bot_id

__all__ = [
    "PROMOTE_LOCK",
    "Leftover",
    "discard_bot_files",
    "find_leftovers",
    "promote_running",
    "promoting",
    "remove_leftovers",
]

PROMOTE_LOCK = "promote.lock"


class Leftover(BaseModel):
    """Files of bot ``id``, which the registry does not know: its folder, its kernelspec."""

    model_config = ConfigDict(frozen=True)

    id: str
    folder: str | None = None
    kernelspec: str | None = None
    size_bytes: int = 0


def _lock_path(home: Path) -> Path:
    return Path(home) / PROMOTE_LOCK


def _open_lock(home: Path) -> int:
    ensure_private_dir(Path(home), follow_symlinks=True)  # the home itself may be a link
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    return os.open(_lock_path(home), flags, PRIVATE_FILE_MODE)


@contextlib.contextmanager
def promoting(home: Path) -> Iterator[None]:
    """Held by a promote from before its folder exists until its bot is registered or its
    files are removed. Shared: promotes of different bots run side by side."""
    fd = _open_lock(home)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextlib.contextmanager
def _no_promote_running(home: Path) -> Iterator[None]:
    fd = _open_lock(home)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PromoteRunning from None
        yield
    finally:
        os.close(fd)


def promote_running(home: Path) -> bool:
    """Whether a promote holds the lock now (read only: creates nothing)."""
    try:
        fd = os.open(_lock_path(home), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def _kernelspec_ids(home: Path) -> Iterable[str]:
    folder = Path(home) / KERNELS_FOLDER
    if not folder.is_dir():
        return []
    ids = []
    for entry in folder.iterdir():
        if not entry.name.startswith(KERNEL_NAME_PREFIX):
            continue
        with contextlib.suppress(ValueError):
            ids.append(uuid.UUID(entry.name.removeprefix(KERNEL_NAME_PREFIX)).hex)
    return ids


def find_leftovers(home: Path, registered: Collection[str]) -> list[Leftover]:
    """Bot folders and kernelspecs in ``home`` whose id is not in ``registered``."""
    home = Path(home)
    bots = home / "bots"
    folder_ids = (
        {e.name for e in bots.iterdir() if is_bot_id(e.name) and e.is_dir() and not e.is_symlink()}
        if bots.is_dir()
        else set()
    )
    found = []
    for bot_id in sorted((folder_ids | set(_kernelspec_ids(home))) - set(registered)):
        root = BotPaths(home, bot_id).root
        spec = kernelspec_dir(home, bot_id)
        found.append(
            Leftover(
                id=bot_id,
                folder=str(root) if bot_id in folder_ids else None,
                kernelspec=str(spec) if spec.is_dir() else None,
                size_bytes=_size(root) if bot_id in folder_ids else 0,
            )
        )
    return found


def discard_bot_files(home: Path, bot_id: str) -> None:
    """Remove bot ``bot_id``'s folder and kernelspec, whichever exist."""
    shutil.rmtree(BotPaths(Path(home), bot_id).root, ignore_errors=True)
    shutil.rmtree(kernelspec_dir(home, bot_id), ignore_errors=True)


def remove_leftovers(
    home: Path, registered: Callable[[], Collection[str]], only: Collection[str]
) -> list[Leftover]:
    """Remove the leftovers among ``only`` (ids the user agreed to), and return them.

    Refused with :class:`PromoteRunning` while a promote runs. ``registered`` is read again
    under the lock: a bot registered since the user was asked is no longer a leftover.
    """
    with _no_promote_running(Path(home)):
        removed = [left for left in find_leftovers(home, registered()) if left.id in only]
        for leftover in removed:
            discard_bot_files(home, leftover.id)
    return removed
