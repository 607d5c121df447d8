"""REST routes of the backups: list, create, verify, restore (``/watchdog-lab/backups``).

Thin over :class:`~watchdog_lab.backup.BackupManager`: parse, call off the IOLoop (a snapshot
reads and writes files; a restore runs Argon2), answer a model. A restore needs the vault
password in its body: it can bring back a removed connection or a revoked grant, and the
Jupyter token alone is readable by kernel code.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..backup import (
    BackupKey,
    CreateBackup,
    DescribePrune,
    ListBackups,
    PruneBackups,
    RestoreBackup,
    VerifyBackup,
    check_backup_id,
    key_from_vault,
)
from ..backup.environments import EnvironmentBuilder, bots_without_venv, rebuild_environments
from ..backup.keys import restore_keys
from ..vault import VaultState
from .errors import PasswordRequired
from .handlers import NAMESPACE, WatchdogHandler

if TYPE_CHECKING:
    from ..backup import BackupManager

_SEGMENT = r"([^/]+)"


class BackupRouteHandler(WatchdogHandler):
    @property
    def backups(self) -> BackupManager:
        return self.watchdog_app.backups


class BackupsHandler(BackupRouteHandler):
    """``GET /watchdog-lab/backups``: newest first; ``POST``: a snapshot now (unlocked)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        backups = await asyncio.to_thread(self.backups.list)
        automatic = self.watchdog_app.automatic_backups
        self.write_json(
            ListBackups(
                backups=backups,
                retention_days=self.backups.retention_days,
                automatic=automatic is not None,
                last_automatic_at=automatic.last_automatic_at if automatic else None,
                last_error=automatic.last_error if automatic else None,
            )
        )

    @web.authenticated
    @authorized
    async def post(self) -> None:
        self.parse_body(CreateBackup)
        self.backups.ensure_paced(self.watchdog_app.backup_min_interval_seconds)
        key = key_from_vault(self.vault, "Creating a backup")
        created = await asyncio.to_thread(self.backups.create, key, "manual")
        await asyncio.to_thread(self.backups.prune)
        self.touch_vault()
        self.write_json(created, status=201)


class BackupPruneHandler(BackupRouteHandler):
    """``POST /watchdog-lab/backups/prune``: what automatic pruning does after each backup, on
    demand. Safe with the token alone: only snapshots past the retention go, never the newest."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        self.parse_body(PruneBackups)
        removed = await asyncio.to_thread(self.backups.prune)
        self.write_json(DescribePrune(removed=removed, retention_days=self.backups.retention_days))


class BackupVerifyHandler(BackupRouteHandler):
    """``POST /watchdog-lab/backups/{id}/verify``: decrypt and check every record."""

    @web.authenticated
    @authorized
    async def post(self, backup_id: str) -> None:
        backup_id = check_backup_id(backup_id)
        self.parse_body(VerifyBackup)
        self.backups.header(backup_id)  # 404 before anything else
        key = key_from_vault(self.vault, "Verifying a backup")
        result = await asyncio.to_thread(self.backups.verify, backup_id, key)
        self.touch_vault()
        self.write_json(result)


class BackupRestoreHandler(BackupRouteHandler):
    """``POST /watchdog-lab/backups/{id}/restore`` ``{password}``: in place, after saving the
    current state; the vault is locked afterwards (it opens with the password it had then)."""

    @web.authenticated
    @authorized
    async def post(self, backup_id: str) -> None:
        backup_id = check_backup_id(backup_id)
        body = self.parse_body(RestoreBackup)
        if body.password is None:
            raise PasswordRequired("Restoring a backup")
        header = self.backups.header(backup_id)
        password = body.password.get_secret_value()
        app = self.watchdog_app
        unlocked: BackupKey | None = None
        if self.vault.state is not VaultState.ABSENT:
            # Consent: the current vault's password, rate limited and audited like an unlock.
            await self.confirm_password(body.password, "Restoring a backup")
            if self.vault.state is VaultState.UNLOCKED:
                unlocked = key_from_vault(self.vault, "Restoring a backup")
        keys = await asyncio.to_thread(restore_keys, header, password, self.vault.path, unlocked)
        restored = await asyncio.to_thread(
            self.backups.restore_in_place,
            backup_id,
            keys.snapshot,
            lambda: keys.current,
            release=app.release_vault,
        )
        await asyncio.to_thread(self._rebuild)
        self.write_json(restored)

    def _rebuild(self) -> None:
        """Venvs for restored bots that have none (a bot deleted since the backup): built
        from the sealed lock, at the same path, so the seal verifies as it is."""
        home = self.backups.home
        if not bots_without_venv(home):
            return
        bots = self.watchdog_app.bots
        builder = EnvironmentBuilder(bots.uv_cache, bots.wheels_only, bots.find_links)
        report = rebuild_environments(home, builder)
        for bot_id, problem in report.failed.items():
            self.log.warning("WatchDog Lab: bot %s after restore: %s", bot_id, problem)


def routes() -> list[tuple[str, type[WatchdogHandler]]]:
    base = rf"/{NAMESPACE}/backups"
    return [
        (rf"{base}/?", BackupsHandler),
        (rf"{base}/prune/?", BackupPruneHandler),
        (rf"{base}/{_SEGMENT}/verify/?", BackupVerifyHandler),
        (rf"{base}/{_SEGMENT}/restore/?", BackupRestoreHandler),
    ]
