"""The bot registry: which bots exist, how they run, what they were granted, what should run.

Kept in ``vault.db`` beside the connections (one file to back up) but in clear: nothing here is
secret. Grants refer to connections by opaque id, so the registry reveals no connection name.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..vault.kinds import validate_name
from ..vault.store import Store
from .errors import BotError
from .layout import is_bot_id
from .models import BotConfig


class BotNotFound(BotError):
    def __init__(self, ref: str) -> None:
        super().__init__(f"No bot named {ref[:80]!r}. `watchdog-lab bots list` shows them.")


class DuplicateBot(BotError):
    def __init__(self, name: str) -> None:
        super().__init__(f"A bot named {name!r} already exists (names are case-insensitive).")


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

    def _record(self, row: tuple) -> BotRecord:
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

    def create(self, config: BotConfig, grants: list[str]) -> BotRecord:
        validate_name(config.name, "bot")
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

    def set_grants(self, bot_id: str, grants: list[str]) -> None:
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
