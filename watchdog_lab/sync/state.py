"""This home's memory of what it last agreed with the sync database (``<home>/sync/state.json``).

It holds only opaque things: the sync connection's local id, what may sync, and per record its
random id, the local connection id it maps to, the last version both sides agreed on and a keyed
fingerprint of the content at that version (so a local edit since is noticed without keeping
any plaintext). It is replaced atomically, and only after the database committed: a push or a
pull cut short leaves the state of before, and the next run sees the difference and finishes.

One run at a time per home (an exclusive ``flock`` on ``<home>/sync/lock``): the server's
automatic sync and a CLI run must not interleave their reads and writes of this file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..bots.layout import write_bytes_atomic
from ..paths import PRIVATE_FILE_MODE, ensure_private_dir, ensure_private_file
from .errors import SyncError

STATE_FORMAT = 1
SYNC_DIR = "sync"
STATE_FILE = "state.json"
LOCK_FILE = "lock"
COLLECTIONS = ("connections", "notebooks", "logs")


@dataclass
class RecordState:
    local_id: str | None
    version: int
    digest: str
    deleted: bool = False


@dataclass
class SyncState:
    connection_id: str | None = None
    collections: list[str] = field(default_factory=list)
    header_version: int = 0
    records: dict[str, RecordState] = field(default_factory=dict)

    @property
    def configured(self) -> bool:
        return self.connection_id is not None

    def mapped_locals(self) -> set[str]:
        """The local ids that have a record id: one pass, for a check per local record."""
        return {rec.local_id for rec in self.records.values() if rec.local_id is not None}

    def record_for_local(self, local_id: str) -> str | None:
        for record_id, rec in self.records.items():
            if rec.local_id == local_id:
                return record_id
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "connection_id": self.connection_id,
            "collections": sorted(self.collections),
            "header_version": self.header_version,
            "records": {rid: asdict(rec) for rid, rec in sorted(self.records.items())},
        }

    @classmethod
    def from_json(cls, data: Any) -> SyncState:
        try:
            if data.get("format") != STATE_FORMAT:
                raise ValueError("format")
            return cls(
                connection_id=data["connection_id"],
                collections=[c for c in data["collections"] if c in COLLECTIONS],
                header_version=int(data["header_version"]),
                records={rid: RecordState(**rec) for rid, rec in data["records"].items()},
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise SyncError(
                "The sync state file is unreadable; remove the home's sync/ folder and run "
                "`watchdog-lab sync setup` again (the next pull re-reads everything)."
            ) from exc


class StateFile:
    """Load and save :class:`SyncState` under one home."""

    def __init__(self, home: Path) -> None:
        self.folder = home / SYNC_DIR
        self.path = self.folder / STATE_FILE

    def load(self) -> SyncState:
        if not self.path.exists():
            return SyncState()
        ensure_private_file(self.path)
        with open(self.path, encoding="utf-8") as handle:
            try:
                return SyncState.from_json(json.load(handle))
            except ValueError as exc:
                raise SyncError(
                    f"{self.path} is not valid JSON; remove it and run `watchdog-lab sync setup`."
                ) from exc

    def save(self, state: SyncState) -> None:
        ensure_private_dir(self.folder)
        # No indent: json's C encoder only runs without one, and a pull or push of a thousand
        # records writes this file with a line per record otherwise.
        text = json.dumps(state.to_json(), sort_keys=True, separators=(",", ":"))
        write_bytes_atomic(self.path, text.encode("utf-8"))

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold this home's sync lock (waits for another run to finish)."""
        ensure_private_dir(self.folder)
        lock = self.folder / LOCK_FILE
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, PRIVATE_FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)
