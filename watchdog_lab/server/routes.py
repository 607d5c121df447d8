"""The extension's route table: every service's routes, then the catch-all 404.

A module of its own so that the base handler module imports no service module (each service's
handlers import the base; the base importing them back would be a cycle).
"""

from __future__ import annotations

from .aifix_handlers import routes as aifix_routes
from .backup_handlers import routes as backup_routes
from .bot_handlers import routes as bot_routes
from .broker_handlers import routes as broker_routes
from .handlers import NAMESPACE, NotFoundHandler, WatchdogHandler
from .kernel_handlers import routes as kernel_routes
from .sandbox_handlers import routes as sandbox_routes
from .usage_handlers import routes as usage_routes
from .vault_handlers import routes as vault_routes


def route_table() -> list[tuple[str, type[WatchdogHandler]]]:
    """Routes relative to the server's base URL (the extension app prepends it).

    Each service keeps its handlers in its own module; the catch-all 404 comes last.
    """
    return [
        *vault_routes(),
        *bot_routes(),
        *broker_routes(),
        *kernel_routes(),
        *sandbox_routes(),
        *aifix_routes(),
        *usage_routes(),
        *backup_routes(),
        (rf"/{NAMESPACE}/(.*)", NotFoundHandler),
    ]
