"""REST routes of the vault: state, create, unlock, lock, password, TOTP, connections, audit."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .handlers import NAMESPACE, WatchdogHandler


class VaultStateHandler(WatchdogHandler):
    """``GET /watchdog-lab/vault`` → ``{"state": "absent" | "locked" | "unlocked"}``."""

    @web.authenticated
    @authorized
    def get(self) -> None:
        self.write_json({"state": self.vault.state.value})


def routes() -> list[tuple[str, type[WatchdogHandler]]]:
    return [(rf"/{NAMESPACE}/vault/?", VaultStateHandler)]
