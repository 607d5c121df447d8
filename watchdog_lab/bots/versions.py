"""A bot's notebook versions: ``notebook/v1.ipynb`` (promote), then one per published fix.

A version, once written, never changes: a fix writes version N+1 beside the others, and a
rollback only switches which one the bot runs (``BotConfig.notebook_version``). So every run
can name the exact bytes it executed, and returning to an earlier version needs nothing but
that version's files.

Writing is the sensitive part. A new version is derived from the current one, and its seal
(:func:`~.seal.seal_version`) tells every later start "WatchDog Lab wrote this". So the base
version is checked before anything is derived from it, and a seal is written only when the
base verified as sealed: a version derived from unverified bytes would bless whatever they
held. A version derived from an unsealed one stays unsealed (the bot then runs without
connections only, as its base did).

Each version may have a sidecar ``vN.json`` (when and why it was written, from which version).
It holds no secret and is not sealed: it describes a version, it is never run.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import fcntl
import hashlib
import hmac
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import nbformat

from ..vault import VaultLocked
from ..vault.audit import Event
from .errors import (
    BotSealBroken,
    CellNotFixable,
    PublishNotConfirmed,
    StaleVersion,
    VersionError,
    VersionNotFound,
)
from .layout import BotPaths, write_json_atomic
from .models import DescribeBot, DescribeBotVersion, ListBotVersions
from .seal import (
    SealFault,
    fault_message,
    lock_path,
    seal_path,
    seal_version,
    sealed_notebook_digest,
)

if TYPE_CHECKING:
    from .registry import BotRecord
    from .supervisor import BotManager

_VERSION_FILE = re.compile(r"v([1-9][0-9]{0,8})\.ipynb")
#: The longest reason a version records (it is shown on one line).
MAX_REASON = 200
LOCK_NAME = "versions.lock"


def version_numbers(paths: BotPaths) -> list[int]:
    """Every version written for the bot, ascending (files named like ``v3.ipynb``)."""
    try:
        names = [entry.name for entry in os.scandir(paths.notebooks) if entry.is_file()]
    except FileNotFoundError:
        return []
    found = (_VERSION_FILE.fullmatch(name) for name in names)
    return sorted(int(match.group(1)) for match in found if match)


def latest_version(paths: BotPaths) -> int:
    """The highest version written (0: none, a bot folder without its notebook)."""
    numbers = version_numbers(paths)
    return numbers[-1] if numbers else 0


def meta_path(paths: BotPaths, version: int) -> Path:
    return paths.notebooks / f"v{version}.json"


def _read_meta(paths: BotPaths, version: int) -> dict[str, Any]:
    try:
        raw = json.loads(meta_path(paths, version).read_bytes())
    except (OSError, ValueError):
        return {}
    return raw if isinstance(raw, dict) else {}


def describe_version(paths: BotPaths, version: int, current: int) -> DescribeBotVersion:
    meta = _read_meta(paths, version)
    created = meta.get("created_at")
    if not isinstance(created, (int, float)):
        try:
            created = paths.notebook(version).stat().st_mtime
        except OSError:
            created = 0.0
    reason = meta.get("reason")
    return DescribeBotVersion(
        version=version,
        created_at=float(created),
        current=version == current,
        sealed=seal_path(paths, version).is_file(),
        reason=reason[:MAX_REASON] if isinstance(reason, str) else None,
    )


def list_versions(paths: BotPaths, current: int) -> ListBotVersions:
    return ListBotVersions(
        versions=[describe_version(paths, v, current) for v in version_numbers(paths)]
    )


@contextlib.contextmanager
def versions_lock(paths: BotPaths) -> Iterator[None]:
    """One writer of a bot's versions at a time, across processes (a CLI and a server may
    publish or roll back the same bot at once): the next number and the switch to it must
    not interleave with another's."""
    with open(paths.root / LOCK_NAME, "a") as handle:
        os.fchmod(handle.fileno(), 0o600)
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def frozen_bytes(nb: nbformat.NotebookNode, progress: Callable[[str], None]) -> bytes:
    """The exact bytes of a version: code only (research outputs may hold what the bot must
    not), and package-manager lines as comments (:mod:`.package_lines`): the environment is
    built at promote and sealed, and in the sandbox they could only fail."""
    from .package_lines import neutralise_package_lines

    frozen = copy.deepcopy(nb)
    for cell in frozen.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    for line in neutralise_package_lines(frozen.cells):
        progress(f"commented out in the frozen notebook (cell {line.cell_index + 1}): {line.text}")
    text: str = nbformat.writes(frozen)
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")


def with_cell_replaced(data: bytes, cell_index: int, source: str) -> nbformat.NotebookNode:
    """The notebook ``data`` (a version's bytes) with code cell ``cell_index``'s source
    replaced; every other cell as it was."""
    nb: nbformat.NotebookNode = nbformat.reads(data.decode("utf-8"), as_version=4)
    count = len(nb.cells)
    if isinstance(cell_index, bool) or not 0 <= cell_index < count:
        raise CellNotFixable(
            f"Cell {cell_index} does not exist: this notebook version has {count} cell(s), "
            f"numbered 0 to {count - 1}."
        )
    cell = nb.cells[cell_index]
    if cell.cell_type != "code":
        raise CellNotFixable(
            f"Cell {cell_index} is a {cell.cell_type} cell; only code cells can be fixed."
        )
    cell.source = source
    nbformat.validate(nb)
    return nb


def write_version(
    paths: BotPaths,
    version: int,
    data: bytes,
    *,
    from_version: int,
    reason: str,
) -> None:
    """Write ``data`` as ``version``, which must not exist yet (a version never changes), and
    its sidecar. The file appears whole or not at all."""
    target = paths.notebook(version)
    fd, tmp = tempfile.mkstemp(dir=paths.notebooks, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, target)  # fails if the version exists, unlike a rename
        except FileExistsError:
            raise VersionError(
                f"Notebook version {version} already exists; it is never overwritten."
            ) from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    write_json_atomic(
        meta_path(paths, version),
        {
            "version": version,
            "created_at": time.time(),
            "from_version": from_version,
            "reason": " ".join(reason.split())[:MAX_REASON],
        },
    )


def discard_version(paths: BotPaths, version: int) -> None:
    """Remove a version just written whose publish failed before the bot switched to it."""
    for path in (paths.notebook(version), seal_path(paths, version), meta_path(paths, version)):
        path.unlink(missing_ok=True)


# ------------------------------------------------------------- publishing and rolling back


def _quiet(_: str) -> None:
    return None


class _Base(NamedTuple):
    """The version a fix is derived from: its bytes, and the verified lock to seal the new
    version with (None: the base is unsealed, and so is what is derived from it)."""

    notebook: bytes
    lock: bytes | None


def _base_version(manager: BotManager, record: BotRecord, paths: BotPaths) -> _Base:
    """The current version's bytes, and the lock to seal a derived version with (None: the
    derived version stays unsealed).

    Checked as a start checks it (:meth:`~.supervisor.BotManager.check_seal`: a bot with
    connections must verify, and a broken seal is refused and audited). What was read is then
    bound to what was sealed: the notebook bytes to the digest in the authentic seal, the lock
    bytes to the file that verified. A file swapped before or after the check therefore never
    reaches a new seal.
    """
    version = record.config.notebook_version
    try:
        data = paths.notebook(version).read_bytes()
    except OSError as exc:
        raise VersionError(
            f"Notebook version {version} of bot {record.name!r} cannot be read "
            f"({exc.strerror}); roll back to another version or promote the notebook again."
        ) from None
    try:
        lock: bytes | None = lock_path(paths).read_bytes()
    except OSError:
        lock = None
    manager.check_seal(record, refuse_start=False)
    if manager.vault.state.value != "unlocked" or not seal_path(paths, version).is_file():
        return _Base(data, None)  # unsealed base (no connections): nothing to vouch for
    digest = sealed_notebook_digest(manager.vault, paths, version)
    fault = None
    if digest is None or not hmac.compare_digest(hashlib.sha256(data).digest(), digest):
        fault = SealFault.NOTEBOOK
    elif lock is None or not _same_file(lock_path(paths), lock):
        fault = SealFault.LOCK
    if fault is not None:
        raise BotSealBroken(fault_message(record.name, version, fault))
    return _Base(data, lock)


def _same_file(path: Path, expected: bytes) -> bool:
    try:
        return hmac.compare_digest(path.read_bytes(), expected)
    except OSError:
        return False


def _switch(manager: BotManager, record: BotRecord, version: int) -> BotRecord:
    """Make ``version`` the one the bot runs from its next start (registry and ``bot.json``)."""
    config = record.config.model_copy(update={"notebook_version": version})
    manager.registry.set_config(config)
    write_json_atomic(BotPaths(manager.home, record.id).config_file, config.model_dump(mode="json"))
    return dataclasses.replace(record, config=config)


def _check_can_restart(manager: BotManager, record: BotRecord) -> None:
    """A bot with connections needs the vault unlocked for everything here: its new version is
    sealed with the vault's key, and its restart hands its connections over. Refused before
    anything changes, so the bot never ends on a version it cannot be given them for."""
    if record.grants and manager.vault.state.value != "unlocked":
        raise VaultLocked


def _restarted(manager: BotManager, record: BotRecord) -> DescribeBot:
    if record.desired_state == "running":
        return manager.restart(record.id)
    return manager.describe(record.id)


def publish_cell_fix(
    manager: BotManager,
    ref: str,
    cell_index: int,
    source: str,
    *,
    expected_version: int | None = None,
    reason: str = "ai fix",
    detail: dict[str, object] | None = None,
    confirmed: bool = True,
) -> DescribeBot:
    """Write version N+1 of a bot: version N with code cell ``cell_index``'s source replaced.

    See :meth:`.supervisor.BotManager.publish_cell_fix`.
    """
    json.dumps(detail or {})  # the audit takes JSON only: refuse other values before any write
    record = manager.registry.get(ref)
    if record.grants and not confirmed:
        raise PublishNotConfirmed(record.name)
    _check_can_restart(manager, record)
    paths = BotPaths(manager.home, record.id)
    with versions_lock(paths):
        record = manager.registry.get(record.id)  # as it is now that no one else writes
        if record.grants and not confirmed:  # granted meanwhile
            raise PublishNotConfirmed(record.name)
        current = record.config.notebook_version
        if expected_version is not None and expected_version != current:
            raise StaleVersion(record.name, expected_version, current)
        base = _base_version(manager, record, paths)
        data = frozen_bytes(with_cell_replaced(base.notebook, cell_index, source), _quiet)
        version = latest_version(paths) + 1
        write_version(paths, version, data, from_version=current, reason=reason)
        try:
            # Only a confirmed version is sealed: a seal is what lets a later grant hand the bot
            # keys, and code that only the Jupyter token published must never earn that.
            if base.lock is not None and confirmed:
                seal_version(manager.vault, paths, version, data, base.lock)
            record = _switch(manager, record, version)
        except BaseException:
            discard_version(paths, version)
            raise
    manager._audit(
        Event.BOT_VERSION_PUBLISHED,
        subject=record.id,
        detail={
            **(detail or {}),
            "bot": record.name,
            "version": version,
            "from_version": current,
            "reason": " ".join(reason.split())[:MAX_REASON],
        },
    )
    return _restarted(manager, record)


def rollback(manager: BotManager, ref: str, to: int | None = None) -> DescribeBot:
    """Switch a bot back to an earlier (or any other written) version.

    See :meth:`.supervisor.BotManager.rollback`.
    """
    record = manager.registry.get(ref)
    _check_can_restart(manager, record)
    paths = BotPaths(manager.home, record.id)
    with versions_lock(paths):
        record = manager.registry.get(record.id)
        current = record.config.notebook_version
        target = current - 1 if to is None else to
        _check_target(record.name, target, current, version_numbers(paths))
        # The target must verify as a start would (a bot with connections: sealed, unchanged).
        manager.check_seal(
            dataclasses.replace(
                record, config=record.config.model_copy(update={"notebook_version": target})
            ),
            refuse_start=False,
        )
        record = _switch(manager, record, target)
    manager._audit(
        Event.BOT_ROLLED_BACK,
        subject=record.id,
        detail={"bot": record.name, "version": target, "from_version": current},
    )
    return _restarted(manager, record)


def _check_target(name: str, target: int, current: int, written: list[int]) -> None:
    latest = written[-1] if written else 0
    if target == current:
        raise VersionError(f"Bot {name!r} already runs notebook version {current}.")
    if target < 1:
        raise VersionNotFound(
            f"Bot {name!r} runs version {current}, its first; there is no earlier version "
            "to roll back to."
            if current <= 1
            else f"Notebook versions start at 1; {target} is not one."
        )
    if target > latest:
        raise VersionNotFound(
            f"Bot {name!r} has no notebook version {target}: its latest is {latest}. "
            f"`watchdog-lab bots versions {name}` lists them."
        )
    if target not in written:
        raise VersionNotFound(
            f"Notebook version {target} of bot {name!r} is missing from its folder; "
            f"`watchdog-lab bots versions {name}` lists those that exist."
        )
