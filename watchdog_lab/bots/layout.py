"""Where one bot's files live: ``$WATCHDOG_LAB_HOME/bots/<uuid>/``, every folder 0700.

The layout is also the sandbox's map: the bot kernel may write ``state/`` and ``tmp/`` only,
read its venv and notebook, and see nothing of other bots or the vault.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..paths import ensure_private_dir

_UUID_HEX = re.compile(r"[0-9a-f]{32}")


def is_bot_id(value: str) -> bool:
    return bool(_UUID_HEX.fullmatch(value))


@dataclass(frozen=True)
class BotPaths:
    home: Path
    bot_id: str

    def __post_init__(self) -> None:
        if not is_bot_id(self.bot_id):  # the id becomes a path: never let it be anything else
            raise ValueError(f"not a bot id: {self.bot_id[:40]!r}")

    @property
    def root(self) -> Path:
        return self.home / "bots" / self.bot_id

    @property
    def notebooks(self) -> Path:
        return self.root / "notebook"

    def notebook(self, version: int) -> Path:
        return self.notebooks / f"v{version}.ipynb"

    @property
    def venv(self) -> Path:
        return self.root / "venv"

    @property
    def venv_python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def log_file(self) -> Path:
        return self.logs / "bot.jsonl"

    @property
    def runner_log(self) -> Path:
        return self.logs / "runner.log"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def run_dir(self) -> Path:
        """Kernel connection files and IPC sockets (short path: sockets have a length limit)."""
        return self.root / "run"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def status_file(self) -> Path:
        return self.root / "status.json"

    @property
    def config_file(self) -> Path:
        return self.root / "bot.json"

    def create(self) -> None:
        for folder in (
            self.home / "bots",
            self.root,
            self.notebooks,
            self.state,
            self.logs,
            self.runs,
            self.run_dir,
            self.tmp,
        ):
            ensure_private_dir(folder)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` exactly (mode 0600) via a temporary file, fsync and rename, so a reader
    never sees half a file and a crash leaves the old one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data: object) -> None:
    """:func:`write_bytes_atomic` of ``data`` as indented, key-sorted JSON."""
    write_bytes_atomic(path, json.dumps(data, indent=1, sort_keys=True).encode("utf-8"))


def socket_root() -> Path:
    """The one folder (0700, in the system temp folder) under which every bot runner makes its
    kernels' IPC socket folders. Unix socket paths must stay short, so not the bot's own deep
    folder; and one fixed parent, rather than loose ``/tmp/wdl-*`` folders, is what the
    interactive kernels' sandbox hides: a bot's raw channels are out of their reach too."""
    root = Path(tempfile.gettempdir()) / f"watchdog-lab-bots-{os.getuid()}"
    with contextlib.suppress(FileExistsError):
        root.mkdir(mode=0o700)
    info = root.lstat()
    if root.is_symlink() or not root.is_dir() or info.st_uid != os.getuid():
        raise OSError(f"{root} is not a folder of this user; remove it and start the bot again")
    if info.st_mode & 0o777 != 0o700:
        root.chmod(0o700)
    return root
