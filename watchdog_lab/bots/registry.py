"""The bot registry: which bots exist, how they run, what they were granted, what should run.

Kept in ``vault.db`` beside the connections (one file to back up) but in clear: nothing here is
secret. Grants refer to connections by opaque id, so the registry reveals no connection name.
"""

from __future__ import annotations

import builtins
import time
import uuid
from dataclasses import dataclass
from typing import Any

from ..vault.errors import InvalidName
from ..vault.kinds import validate_name
from ..vault.store import Store
from .errors import BotNotFound, DuplicateBot
from .layout import is_bot_id
from .models import BotConfig


def check_bot_name(name: str) -> str:
    """Return ``name`` if a bot may have it, else raise :class:`InvalidName`.

    Every face looks a bot up by id or by name, id first. A name that spells a UUID (any way
    :class:`uuid.UUID` reads one, so also with dashes or braces) would make ``stop <that>``
    mean whichever bot the lookup happens to find, and could pass for another bot's id in a
    list; so such names are refused outright, not only the ones equal to an existing id.
    """
    validate_name(name, "bot")
    try:
        uuid.UUID(name)
    except ValueError:
        return name
    raise InvalidName(name, "a bot name may not look like a bot id (a UUID); add a word", "bot")


@dataclass(frozen=True)
class BotRecord:
    id: str
    name: str
    created_at: float
    config: BotConfig
    desired_state: str
    grants: tuple[str, ...]


class BotRegistry:
    def __init__(self, store: Store) -> None:
        self._store = store

    def _grants(self, bot_id: str) -> tuple[str, ...]:
        rows = self._store.query(
            "SELECT connection_id FROM bot_grants WHERE bot_id = ? ORDER BY connection_id",
            (bot_id,),
        )
        return tuple(r[0] for r in rows)

    def _record(self, row: tuple[Any, ...]) -> BotRecord:
        bot_id, name, created_at, config, desired = row
        return BotRecord(
            bot_id, name, created_at, BotConfig.model_validate_json(config), desired,
            self._grants(bot_id),
        )  # fmt: skip

    def get(self, ref: str) -> BotRecord:
        """By id or (case-insensitive) name."""
        if not isinstance(ref, str) or not ref:
            raise BotNotFound(str(ref))
        query = "SELECT id, name, created_at, config, desired_state FROM bots WHERE "
        row = self._store.query_one(query + "id = ?", (ref,)) if is_bot_id(ref) else None
        row = row or self._store.query_one(query + "name = ?", (ref,))
        if row is None:
            raise BotNotFound(ref)
        return self._record(row)

    def list(self) -> list[BotRecord]:
        rows = self._store.query(
            "SELECT id, name, created_at, config, desired_state FROM bots "
            "ORDER BY name COLLATE NOCASE"
        )
        return [self._record(r) for r in rows]

    def create(self, config: BotConfig, grants: builtins.list[str]) -> BotRecord:
        check_bot_name(config.name)
        with self._store.transaction() as db:
            if db.execute("SELECT 1 FROM bots WHERE name = ?", (config.name,)).fetchone():
                raise DuplicateBot(config.name)
            db.execute(
                "INSERT INTO bots (id, name, created_at, config, desired_state) "
                "VALUES (?, ?, ?, ?, ?)",
                (config.id, config.name, time.time(), config.model_dump_json(), "stopped"),
            )
            for connection_id in dict.fromkeys(grants):
                db.execute(
                    "INSERT INTO bot_grants (bot_id, connection_id) VALUES (?, ?)",
                    (config.id, connection_id),
                )
        return self.get(config.id)

    def ids(self) -> set[str]:
        """Every registered bot's id, without parsing configs (a damaged one still counts)."""
        return {row[0] for row in self._store.query("SELECT id FROM bots")}

    def name_taken(self, name: str) -> bool:
        return self._store.query_one("SELECT 1 FROM bots WHERE name = ?", (name,)) is not None

    def set_desired(self, bot_id: str, state: str) -> None:
        with self._store.transaction() as db:
            db.execute("UPDATE bots SET desired_state = ? WHERE id = ?", (state, bot_id))

    def set_config(self, config: BotConfig) -> None:
        with self._store.transaction() as db:
            db.execute(
                "UPDATE bots SET config = ? WHERE id = ?", (config.model_dump_json(), config.id)
            )

    def set_grants(self, bot_id: str, grants: builtins.list[str]) -> None:
        with self._store.transaction() as db:
            db.execute("DELETE FROM bot_grants WHERE bot_id = ?", (bot_id,))
            for connection_id in dict.fromkeys(grants):
                db.execute(
                    "INSERT INTO bot_grants (bot_id, connection_id) VALUES (?, ?)",
                    (bot_id, connection_id),
                )

    def delete(self, bot_id: str) -> None:
        with self._store.transaction() as db:
            db.execute("DELETE FROM bots WHERE id = ?", (bot_id,))
