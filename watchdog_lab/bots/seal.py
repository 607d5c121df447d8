"""Seals: a MAC over what a bot runs, so a bot changed behind WatchDog Lab's back gets no secret.

Defence in depth for machines where the sandbox is weak or absent. A sandboxed bot cannot
write its own notebook or venv, but an unconfined bot, an interactive kernel or any process of
the user can. So when WatchDog Lab writes a bot version it also writes a seal:

    HMAC-SHA256(K, "bot-seal" | format | bot id | version | SHA-256(notebook) | SHA-256(lock))

``K`` is :meth:`Vault.service_key("bot-seal") <watchdog_lab.vault.Vault.service_key>`, derived
from the vault's data key, which exists only in a process the user unlocked with the password.
The notebook is the exact bytes of ``notebook/vN.ipynb`` and the lock the exact bytes of
``packages.lock`` (:func:`~watchdog_lab.bots.environment.environment_lock`). The bot id and
version are in the MAC, taken from the registry at verification, never from the seal file: a
seal or notebook copied from another bot or another version fails.

Where the seal lives: ``notebook/vN.seal.json``, beside the version it seals. The MAC, not
the location, is what protects it (a process that can write the bot folder can also write
``vault.db``); a folder file needs no schema change, goes away with the bot, and one per
version leaves room for the versions an AI fix will write. Deleting a seal only makes the
bot refuse its connections. A seal holds no secret (a MAC under a key nobody else has).

:func:`seal_version` is the one writer: promote uses it for version 1, and any later version
must be written through it too. There is no "re-seal what is on disk": that would bless a file
tampered with since it was written, so a seal is only ever computed over bytes WatchDog Lab
itself has just written.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from ..vault.crypto import aad, keyed_digest
from .environment import environment_lock
from .errors import BotError
from .layout import BotPaths, write_json_atomic

if TYPE_CHECKING:
    from ..vault import Vault

SEAL_PURPOSE = "bot-seal"
SEAL_FORMAT = 1
LOCK_NAME = "packages.lock"


class SealFault(str, Enum):
    """Why a version does not verify (the ``changed`` of the ``bot.seal_broken`` audit event)."""

    UNSEALED = "unsealed"  # no seal: promoted while the vault was locked, or before seals
    SEAL = "seal"  # the seal itself is altered, from another bot/version, or another vault
    NOTEBOOK = "notebook"  # notebook/vN.ipynb differs from what was sealed
    LOCK = "lock"  # packages.lock differs from what was sealed
    PACKAGES = "packages"  # the venv no longer matches the sealed lock


def lock_path(paths: BotPaths) -> Path:
    return paths.root / LOCK_NAME


def seal_path(paths: BotPaths, version: int) -> Path:
    return paths.notebooks / f"v{version}.seal.json"


def _mac(key: bytes, bot_id: str, version: int, notebook_sha: bytes, lock_sha: bytes) -> bytes:
    return keyed_digest(
        key, aad(SEAL_PURPOSE, SEAL_FORMAT, bot_id, version, notebook_sha, lock_sha)
    )


def seal_version(vault: Vault, paths: BotPaths, version: int, notebook: bytes, lock: bytes) -> None:
    """Seal ``version`` of the bot at ``paths`` over the bytes just written for it.

    ``notebook`` and ``lock`` are what the caller wrote (not re-read from disk: a file changed
    between writing and sealing would otherwise be blessed). Needs the vault unlocked
    (:class:`~watchdog_lab.vault.VaultLocked` otherwise).
    """
    key = vault.service_key(SEAL_PURPOSE)
    notebook_sha = hashlib.sha256(notebook).digest()
    lock_sha = hashlib.sha256(lock).digest()
    write_json_atomic(
        seal_path(paths, version),
        {
            "format": SEAL_FORMAT,
            "bot_id": paths.bot_id,
            "version": version,
            "notebook_sha256": notebook_sha.hex(),
            "lock_sha256": lock_sha.hex(),
            "sealed_at": time.time(),
            "mac": _mac(key, paths.bot_id, version, notebook_sha, lock_sha).hex(),
        },
    )
    seal_path(paths, version).chmod(0o600)


def _read_seal(path: Path) -> tuple[bytes, bytes, bytes] | None:
    """(notebook sha, lock sha, mac) as written, or None if the file is not a seal."""
    try:
        raw = json.loads(path.read_bytes())
        if raw.get("format") != SEAL_FORMAT:
            return None
        notebook, lock, mac = (
            bytes.fromhex(raw[k]) for k in ("notebook_sha256", "lock_sha256", "mac")
        )
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    parts = (notebook, lock, mac)
    if any(len(p) != 32 for p in parts):
        return None
    return parts


def sealed_notebook_digest(vault: Vault, paths: BotPaths, version: int) -> bytes | None:
    """The SHA-256 of ``version``'s notebook as sealed, read from an authentic seal (its MAC
    checked again here), or None. The runner is handed this digest with the connections and
    runs only notebook bytes that match it, so a notebook swapped after :func:`verify_version`
    and before (or during) the runs gets no secret either."""
    sealed = _read_seal(seal_path(paths, version))
    if sealed is None:
        return None
    notebook, lock, mac = sealed
    key = vault.service_key(SEAL_PURPOSE)
    if not hmac.compare_digest(mac, _mac(key, paths.bot_id, version, notebook, lock)):
        return None
    return notebook


def _sha256_file(path: Path) -> bytes | None:
    try:
        return hashlib.sha256(path.read_bytes()).digest()
    except OSError:
        return None


def verify_version(vault: Vault, paths: BotPaths, version: int) -> SealFault | None:
    """None when ``version`` of this bot is exactly what WatchDog Lab sealed, else why not.

    Needs the vault unlocked. The MAC is recomputed over the files as they are now, with the
    bot id and version the caller trusts (the registry's); if it fails, the seal's own recorded
    digests say which file changed, provided the seal is authentic. Last, the venv is compared
    with the sealed lock, so packages changed without touching the lock are caught too.
    """
    path = seal_path(paths, version)
    if not path.exists():
        return SealFault.UNSEALED
    sealed = _read_seal(path)
    if sealed is None:
        return SealFault.SEAL
    key = vault.service_key(SEAL_PURPOSE)
    sealed_notebook, sealed_lock, sealed_mac = sealed
    if not hmac.compare_digest(
        sealed_mac, _mac(key, paths.bot_id, version, sealed_notebook, sealed_lock)
    ):
        return SealFault.SEAL
    notebook_sha = _sha256_file(paths.notebook(version))
    if notebook_sha is None or not hmac.compare_digest(notebook_sha, sealed_notebook):
        return SealFault.NOTEBOOK
    try:
        lock = lock_path(paths).read_bytes()
    except OSError:
        return SealFault.LOCK
    if not hmac.compare_digest(hashlib.sha256(lock).digest(), sealed_lock):
        return SealFault.LOCK
    try:
        current = environment_lock(paths.venv)
    except (OSError, BotError):  # a venv that cannot even be listed does not match
        return SealFault.PACKAGES
    if current != lock:
        return SealFault.PACKAGES
    return None


def fault_message(name: str, version: int, fault: SealFault) -> str:
    """What the user reads when a bot is refused, and what to do about it."""
    bot = f"bot {name!r}"
    again = (
        "If you made this change yourself, delete the bot and promote the notebook again with "
        "the vault unlocked; if not, find out what wrote into the bot's folder before anything "
        "else."
    )
    withheld = "its connections are withheld."
    if fault is SealFault.UNSEALED:
        return (
            f"The {bot} has no seal (it was promoted while the vault was locked, or by an older "
            "WatchDog Lab), so nothing proves its notebook is the one promoted; it can run "
            "without connections only. To give it connections, delete it and promote the "
            "notebook again with the vault unlocked."
        )
    what = {
        SealFault.SEAL: f"The seal of {bot} (version {version}) is not valid for this bot and "
        "version: it was altered, copied from another bot or version, or written under "
        "another vault",
        SealFault.NOTEBOOK: f"The notebook of {bot} changed outside WatchDog Lab since it was "
        f"promoted (version {version})",
        SealFault.LOCK: f"The package lock of {bot} ({LOCK_NAME}) changed outside WatchDog Lab "
        f"since it was promoted (version {version})",
        SealFault.PACKAGES: f"The installed packages of {bot} no longer match what was "
        "installed at promote (a package added, removed or upgraded, or start-up code "
        "planted, outside WatchDog Lab)",
    }[fault]
    return f"{what}; {withheld} {again}"


def fault_reason(fault: SealFault) -> str:
    """The one-line ``status.reason`` of a bot refused for ``fault``."""
    return {
        SealFault.UNSEALED: "refused: not sealed, so it cannot be given connections",
        SealFault.SEAL: "refused: its seal is not valid; connections withheld",
        SealFault.NOTEBOOK: "refused: its notebook changed outside WatchDog Lab; "
        "connections withheld",
        SealFault.LOCK: "refused: its package lock changed outside WatchDog Lab; "
        "connections withheld",
        SealFault.PACKAGES: "refused: its installed packages changed outside WatchDog Lab; "
        "connections withheld",
    }[fault]


def current_lock(paths: BotPaths) -> bytes:
    """The lock of the venv as it is now (promote writes exactly this to ``packages.lock``)."""
    return environment_lock(paths.venv)
