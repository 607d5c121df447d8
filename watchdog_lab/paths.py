"""Where WatchDog Lab keeps its data, and how those folders are made private.

Every face (server, CLI, bots) resolves the home folder through :func:`home_dir` so that
``WATCHDOG_LAB_HOME`` means the same thing everywhere.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

from .errors import UnsafeHomeEntry

HOME_ENV = "WATCHDOG_LAB_HOME"
DEFAULT_HOME = "~/.watchdog-lab"
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def home_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The data folder: an explicit path, else ``$WATCHDOG_LAB_HOME``, else ``~/.watchdog-lab``."""
    raw = explicit if explicit is not None else os.environ.get(HOME_ENV) or DEFAULT_HOME
    return Path(raw).expanduser().absolute()


def ensure_private_dir(path: Path, *, follow_symlinks: bool = False) -> Path:
    """Create ``path`` (and parents) and force it to 0700.

    The mode is re-applied on every call: a folder created by an older version, or loosened by
    hand, is tightened again rather than trusted. ``path`` itself must not be a symlink (raises
    :class:`~.errors.UnsafeHomeEntry`): the chmod, and everything later written there, would go
    wherever the link points. Only the home itself may be reached through one
    (``follow_symlinks``), where the link is the user's own choice of where their data lives.
    """
    if not follow_symlinks and path.is_symlink():
        raise UnsafeHomeEntry(str(path), "is a symlink")
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    nofollow = 0 if follow_symlinks else os.O_NOFOLLOW
    fd = _open_entry(path, os.O_RDONLY | os.O_DIRECTORY | nofollow)
    try:
        if os.fstat(fd).st_mode & 0o777 != PRIVATE_DIR_MODE:
            os.fchmod(fd, PRIVATE_DIR_MODE)
    finally:
        os.close(fd)
    return path


def _open_entry(path: Path, flags: int) -> int:
    """``os.open`` that turns "it is a symlink" (with ``O_NOFOLLOW``) into a clear refusal."""
    try:
        return os.open(path, flags | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeHomeEntry(str(path), "is a symlink") from None
        if exc.errno == errno.ENOTDIR:
            raise UnsafeHomeEntry(str(path), "is not a folder") from None
        raise


def ensure_trusted_dir(path: Path, *, home: Path) -> Path:
    """Create ``path`` if needed and make sure no other user can have written into it.

    For a folder whose contents become code in a bot (the uv cache): a wheel planted there is
    installed as if it came from the index. Refused with :class:`~.bots.errors.UnsafeFolder`:

    - ``path`` itself, and every folder between it and the home: owned by another user, or
      writable by group or others (tightening now would not undo what may be in it already);
    - the home, when ``path`` is inside it: owned by another user (its mode is forced to 0700
      as :func:`ensure_private_dir` always does);
    - for a ``path`` outside the home, its ancestors up to ``/``: owned by anyone but this user
      or root, or writable by group or others without the sticky bit (``/tmp`` is fine: there
      nobody else can rename what is ours);
    - a symlink on the way that another user owns (its owner could point it elsewhere).

    Missing folders are created 0700, and ``path`` is forced to 0700 like the home.
    """
    path, home = Path(path).absolute(), Path(home).absolute()
    real_home = Path(os.path.realpath(home))
    _check_trusted_chain(path, real_home)
    missing = [p for p in (path, *path.parents) if not os.path.lexists(p)]
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile: judged below like any
            folder.mkdir(mode=PRIVATE_DIR_MODE)
    if not path.is_dir():
        _unsafe(path, "is not a folder")
    _check_trusted_chain(path, real_home)
    if path.stat().st_mode & 0o777 != PRIVATE_DIR_MODE:
        path.chmod(PRIVATE_DIR_MODE)
    return path


def _check_trusted_chain(path: Path, real_home: Path) -> None:
    uid = os.getuid()
    for link in (p for p in (path, *path.parents) if p.is_symlink()):
        if link.lstat().st_uid not in (uid, 0):
            _unsafe(link, "is a symlink owned by another user")
    target = Path(os.path.realpath(path))
    inside_home = target == real_home or real_home in target.parents
    existing = next(p for p in (target, *target.parents) if p.exists())
    for folder in (existing, *existing.parents):
        info = folder.stat()
        if inside_home and (folder == real_home or folder in real_home.parents):
            if folder == real_home:  # the home's own rule; nothing above it is judged
                if info.st_uid != uid:
                    _unsafe(folder, "(the WatchDog Lab home) is owned by another user")
                ensure_private_dir(folder)
            return
        ours = folder == target or inside_home
        if info.st_uid != uid and (ours or info.st_uid != 0):
            _unsafe(folder, "is owned by another user")
        writable = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        if writable and (ours or not info.st_mode & stat.S_ISVTX):
            _unsafe(folder, f"is writable by other users (mode {stat.S_IMODE(info.st_mode):04o})")


def _unsafe(folder: Path, problem: str) -> None:
    # Imported here: the bots package is not needed (nor wanted) by every user of this module.
    from .bots.errors import UnsafeFolder

    raise UnsafeFolder(
        f"{folder} {problem}: what bots install from there could have been put there by "
        "someone else. Use a folder that is yours and that others cannot write (chmod 700)."
    )


def ensure_private_file(path: Path) -> Path:
    """Force an existing file to 0600 (SQLite creates its files with the process umask).

    Opened without following a symlink, and chmodded through that descriptor: a link planted
    in the home (even one pointing nowhere yet) is refused with
    :class:`~.errors.UnsafeHomeEntry` rather than followed, and so is anything but a regular file.
    """
    try:
        fd = _open_entry(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NOCTTY)
    except FileNotFoundError:
        return path
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeHomeEntry(str(path), "is not a regular file")
        if info.st_mode & 0o777 != PRIVATE_FILE_MODE:
            os.fchmod(fd, PRIVATE_FILE_MODE)
    finally:
        os.close(fd)
    return path
