"""Bots' notebook versions and logs as sync records (each collection opt-in).

A bot lives on the home that promoted it: its venv, its seals and its registry entry do not
travel. What travels is a copy of its notebook versions and of its log, for reading elsewhere.
Another home keeps them in an archive, ``<home>/sync/archive/<bot id>/``, that nothing runs
(a notebook pulled from a database must never become a bot by syncing; promote it on purpose
if you want it to run). A log travels as its last :data:`LOG_MAX_BYTES`, from a line start.

Local ids: ``file:<bot id>/<path>`` for this home's own bots' files, ``archive:<bot id>/<path>``
for copies pulled from other homes.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..bots.layout import BotPaths, write_bytes_atomic
from ..bots.registry import BotRegistry
from ..paths import ensure_private_dir
from ..vault import Vault
from .records import FILE_PATHS, FileRecord
from .state import SYNC_DIR

ARCHIVE_DIR = "archive"
ARCHIVE_NAME_FILE = "bot.json"
LOG_MAX_BYTES = 4 * 1024 * 1024
OWN_PREFIX = "file:"
ARCHIVE_PREFIX = "archive:"


def collection_of_local(local_id: str) -> str:
    """Which collection a local id belongs to (connections have bare ids)."""
    for prefix in (OWN_PREFIX, ARCHIVE_PREFIX):
        if local_id.startswith(prefix):
            path = local_id[len(prefix) :].split("/", 1)[1]
            return next(c for c, p in FILE_PATHS.items() if p.fullmatch(path))
    return "connections"


def _tail(data: bytes) -> bytes:
    if len(data) <= LOG_MAX_BYTES:
        return data
    cut = data[-LOG_MAX_BYTES:]
    newline = cut.find(b"\n")
    return cut[newline + 1 :] if newline >= 0 else cut


def own_files(vault: Vault, collections: set[str]) -> dict[str, FileRecord]:
    """This home's bots' notebook versions and logs (the collections asked for)."""
    out: dict[str, FileRecord] = {}
    if not collections & set(FILE_PATHS) or not vault.path.exists():
        return out
    for bot in BotRegistry(vault.store).list():
        paths = BotPaths(vault.home, bot.id)
        candidates: list[tuple[str, Path]] = []
        if "notebooks" in collections and paths.notebooks.is_dir():
            candidates += [(f"notebook/{p.name}", p) for p in paths.notebooks.glob("v*.ipynb")]
        if "logs" in collections:
            candidates.append(("logs/bot.jsonl", paths.log_file))
        for rel, file in candidates:
            collection = next(c for c, p in FILE_PATHS.items() if p.fullmatch(rel))
            if collection not in collections or not file.is_file() or file.is_symlink():
                continue
            data = file.read_bytes()
            if collection == "logs":
                data = _tail(data)
            out[f"{OWN_PREFIX}{bot.id}/{rel}"] = FileRecord(collection, bot.id, bot.name, rel, data)
    return out


def _archive_root(home: Path) -> Path:
    return home / SYNC_DIR / ARCHIVE_DIR


def archived_files(home: Path, collections: set[str]) -> dict[str, FileRecord]:
    """Copies pulled from other homes, as records (so that an unchanged copy is not sent back)."""
    out: dict[str, FileRecord] = {}
    root = _archive_root(home)
    if not root.is_dir():
        return out
    for folder in sorted(root.iterdir()):
        name_file = folder / ARCHIVE_NAME_FILE
        if not folder.is_dir() or folder.is_symlink() or not name_file.is_file():
            continue
        bot_name = json.loads(name_file.read_text(encoding="utf-8")).get("name", "")
        for file in sorted(folder.rglob("*")):
            rel = file.relative_to(folder).as_posix()
            collection = next((c for c, p in FILE_PATHS.items() if p.fullmatch(rel)), None)
            if collection is None or collection not in collections or file.is_symlink():
                continue
            out[f"{ARCHIVE_PREFIX}{folder.name}/{rel}"] = FileRecord(
                collection, folder.name, bot_name, rel, file.read_bytes()
            )
    return out


def write_archived(home: Path, record: FileRecord) -> str:
    """Keep a pulled file in the archive; returns its local id.

    ``record`` passed :meth:`FileRecord.from_plain`: its bot id is 32 hex digits and its path
    one of :data:`FILE_PATHS`, so the file lands inside the archive and nowhere else.
    """
    folder = ensure_private_dir(_archive_root(home) / record.bot_id, follow_symlinks=False)
    ensure_private_dir(folder.parent)
    target = folder / record.path
    ensure_private_dir(target.parent)
    write_bytes_atomic(folder / ARCHIVE_NAME_FILE, json.dumps({"name": record.bot_name}).encode())
    write_bytes_atomic(target, record.content)
    return f"{ARCHIVE_PREFIX}{record.bot_id}/{record.path}"


def remove_archived(home: Path, local_id: str) -> None:
    """Remove a pulled copy (its record was deleted elsewhere). Own files are never removed."""
    if not local_id.startswith(ARCHIVE_PREFIX):
        return
    bot_id, rel = local_id[len(ARCHIVE_PREFIX) :].split("/", 1)
    if any(p.fullmatch(rel) for p in FILE_PATHS.values()):
        (_archive_root(home) / bot_id / rel).unlink(missing_ok=True)
