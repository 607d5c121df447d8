"""A restored bot's venv, rebuilt from its sealed ``packages.lock``.

Snapshots hold no venvs (they are large, machine-specific and hardlinked from the uv cache).
A restored bot whose venv is missing gets one built from exactly the ``name==version`` pins its
lock lists; the bot's seal is not touched, so its start compares the new venv with the lock as
always, and runs only if they match (same packages, same files, same interpreter). A venv
already there (an in-place restore keeps them) is left alone.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name

from ..bots.environment import SDK_DISTRIBUTION, build_environment, environment_lock
from ..bots.errors import BotError
from ..bots.kernelspec import write_kernelspec
from ..bots.layout import BotPaths, is_bot_id, write_bytes_atomic
from ..bots.seal import SealFault, lock_path, seal_version, verify_version
from ..vault import Vault

__all__ = [
    "EnvironmentBuilder",
    "RebuildReport",
    "bots_without_venv",
    "lock_requirements",
    "rebuild_environments",
]


def lock_requirements(lock: bytes) -> list[str]:
    """The ``name==version`` pins of a sealed lock (the SDK, which every build adds, left out)."""
    pins = []
    for line in lock.decode("utf-8", errors="replace").splitlines():
        if not line.startswith("package "):
            continue
        spec = line.split()[1]
        name = spec.partition("==")[0]
        if canonicalize_name(name) != canonicalize_name(SDK_DISTRIBUTION):
            pins.append(spec)
    return pins


@dataclass(frozen=True)
class EnvironmentBuilder:
    """How bot venvs are built here (the bots' settings: uv cache, wheels only, wheel folders)."""

    cache_dir: Path | None = None
    wheels_only: bool = True
    find_links: Sequence[str | os.PathLike[str]] = ()

    def build(self, paths: BotPaths, lock: bytes, progress: Callable[[str], None]) -> None:
        pins = lock_requirements(lock)
        build_environment(
            paths.venv,
            pins,
            cache_dir=self.cache_dir,
            wheels_only=self.wheels_only,
            find_links=self.find_links,
            progress=progress,
            # Startup code the lock recorded was allowed at promote; a build whose files differ
            # from the lock does not start anyway (the seal check compares them).
            allow_startup_code=[p.partition("==")[0] for p in pins],
        )


@dataclass
class RebuildReport:
    rebuilt: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def _relaxed(lock: bytes) -> list[str]:
    """A lock without its RECORD hashes: what stays the same when the same pins are installed
    at another path (console scripts name their venv's interpreter, so their RECORD differs)."""
    return [
        line.split(" record-sha256=")[0] if line.startswith("package ") else line
        for line in lock.decode("utf-8", errors="replace").splitlines()
    ]


def _versions(paths: BotPaths) -> list[int]:
    found = []
    for seal in paths.notebooks.glob("v*.seal.json"):
        number = seal.name[1 : -len(".seal.json")]
        if number.isdigit():
            found.append(int(number))
    return sorted(found)


def bots_without_venv(home: Path) -> list[str]:
    """Bots of ``home`` that have a sealed lock but no venv (restored ones)."""
    bots = home / "bots"
    return [
        d.name
        for d in (sorted(bots.iterdir()) if bots.is_dir() else [])
        if is_bot_id(d.name)
        and not os.path.lexists(d / "venv")
        and lock_path(BotPaths(home, d.name)).is_file()
    ]


def rebuild_environments(
    home: Path,
    builder: EnvironmentBuilder,
    vault: Vault | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> RebuildReport:
    """Build the venv of every bot of ``home`` that has a lock but no venv.

    The new venv must match the sealed lock exactly, or (with ``vault``, the restored vault
    unlocked, in a folder other than the one the lock was sealed in) match it but for the
    RECORD hashes of path-dependent scripts: then the lock is rewritten and every version whose
    seal verified against the old lock is sealed again with the new one, the same act as a
    promote, done with the user's password.
    """
    report = RebuildReport()
    for bot_id in bots_without_venv(home):
        paths = BotPaths(home, bot_id)
        lock_file = lock_path(paths)
        lock = lock_file.read_bytes()
        # Versions whose seal, notebook and lock verify: only the venv is missing.
        sealed = [
            v
            for v in (_versions(paths) if vault is not None else [])
            if verify_version(vault, paths, v) is SealFault.PACKAGES  # type: ignore[arg-type]
        ]
        try:
            builder.build(paths, lock, progress)
        except BotError as exc:
            report.failed[bot_id] = str(exc)
            continue
        current = environment_lock(paths.venv)
        if current != lock:
            if vault is None or _relaxed(current) != _relaxed(lock):
                report.failed[bot_id] = (
                    "its rebuilt packages differ from the ones sealed at promote (another "
                    "interpreter or package files); promote its notebook again"
                )
                continue
            write_bytes_atomic(lock_file, current)
            for version in sealed:
                notebook = paths.notebook(version).read_bytes()
                seal_version(vault, paths, version, notebook, current)
        write_kernelspec(home, bot_id, _name(paths), paths.venv_python)
        report.rebuilt.append(bot_id)
    return report


def _name(paths: BotPaths) -> str:
    try:
        name = json.loads(paths.config_file.read_text(encoding="utf-8")).get("name")
    except (OSError, ValueError, AttributeError):
        name = None
    return name if isinstance(name, str) else paths.bot_id
