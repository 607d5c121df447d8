"""``GET /watchdog-lab/connection-usage``: who may use each connection (see :mod:`.usage`).

Not under ``connections/``: a connection may be named ``usage``. Reading it is not a vault use
for the auto-lock (the sidebar asks for it whenever it lists the connections, and on a poll).
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .handlers import NAMESPACE, WatchdogHandler
from .usage import connection_usage


class ConnectionUsageHandler(WatchdogHandler):
    """``GET /watchdog-lab/connection-usage``: bots, kernels and notebooks per connection."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        vault = self.vault
        vault.connection_names()  # the vault's own refusal (absent, locked) before any work
        broker = self.watchdog_app.broker
        kernels = await broker.granted_kernels() if broker is not None else []
        remembered = (
            [(path, connection_id) for path, connection_id, _ in broker.remembered.all()]
            if broker is not None
            else []
        )
        bots = self.watchdog_app.bots.registry.list()
        self.write_json(connection_usage(vault, bots, kernels, remembered))


def routes() -> list[tuple[str, type[WatchdogHandler]]]:
    return [(rf"/{NAMESPACE}/connection-usage/?", ConnectionUsageHandler)]
