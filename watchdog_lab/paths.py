"""Where WatchDog Lab keeps its data, and how those folders are made private.

Every face (server, CLI, bots) resolves the home folder through :func:`home_dir` so that
``WATCHDOG_LAB_HOME`` means the same thing everywhere.
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "WATCHDOG_LAB_HOME"
DEFAULT_HOME = "~/.watchdog-lab"
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def home_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The data folder: an explicit path, else ``$WATCHDOG_LAB_HOME``, else ``~/.watchdog-lab``."""
    raw = explicit if explicit is not None else os.environ.get(HOME_ENV) or DEFAULT_HOME
    return Path(raw).expanduser().absolute()


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) and force it to 0700.

    The mode is re-applied on every call: a folder created by an older version, or loosened by
    hand, is tightened again rather than trusted.
    """
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    if path.stat().st_mode & 0o777 != PRIVATE_DIR_MODE:
        path.chmod(PRIVATE_DIR_MODE)
    return path


def ensure_private_file(path: Path) -> Path:
    """Force an existing file to 0600 (SQLite creates its files with the process umask)."""
    if path.exists() and path.stat().st_mode & 0o777 != PRIVATE_FILE_MODE:
        path.chmod(PRIVATE_FILE_MODE)
    return path
