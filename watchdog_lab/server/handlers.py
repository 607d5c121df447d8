"""REST routes under ``{base_url}watchdog-lab/``.

Handlers stay thin: authenticate, authorize, call the vault, serialise. Every response of the
extension, errors included, carries a Content-Security-Policy that forbids rendering or framing
it: these are JSON answers and must never become a page.
"""

from __future__ import annotations

import json
from http.client import responses
from typing import TYPE_CHECKING, Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web

if TYPE_CHECKING:
    from ..vault import Vault
    from .app import WatchdogLab

#: URL segment below the server's base URL that every route of the extension lives under.
NAMESPACE = "watchdog-lab"

#: The resource name checked by the server's authorizer for every route.
AUTH_RESOURCE = "watchdog_lab"

#: Sent on every response, errors included.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

UNEXPECTED_ERROR_MESSAGE = (
    "WatchDog Lab hit an unexpected error. The Jupyter server log has the details."
)


class WatchdogHandler(ExtensionHandlerMixin, APIHandler):
    """Base of every WatchDog Lab route: strict CSP, one auth resource, JSON errors."""

    auth_resource = AUTH_RESOURCE

    @property
    def content_security_policy(self) -> str:
        return CONTENT_SECURITY_POLICY

    @property
    def vault(self) -> Vault:
        app: WatchdogLab = self.extensionapp  # type: ignore[assignment]
        return app.vault

    def write_json(self, payload: dict[str, Any], status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(payload))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """JSON body ``{"message", "reason"}``; never a traceback or an exception's text.

        Only :class:`tornado.web.HTTPError` messages are ours to show. Any other exception may
        carry values it should not (a request body, a decrypted field), so the client gets a
        fixed message and the details go to the server log only.
        """
        exc_info = kwargs.get("exc_info")
        error = exc_info[1] if exc_info else None
        reason = responses.get(status_code, "Unknown HTTP Error")
        message = reason
        if isinstance(error, web.HTTPError):
            message = error.log_message or reason
            reason = error.reason or reason
        elif error is not None:
            message = UNEXPECTED_ERROR_MESSAGE
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": message, "reason": reason}))


class NotFoundHandler(WatchdogHandler):
    """Any other path under the namespace: a JSON 404 with the extension's headers."""

    @web.authenticated
    @authorized
    def get(self, path: str) -> None:
        raise web.HTTPError(
            404, "WatchDog Lab has no such route. Reload JupyterLab if the server was upgraded."
        )

    post = put = patch = delete = get


def route_table() -> list[tuple[str, type[WatchdogHandler]]]:
    """Routes relative to the server's base URL (the extension app prepends it).

    Each service keeps its handlers in its own module; the catch-all 404 comes last.
    """
    from .bot_handlers import routes as bot_routes
    from .broker import routes as broker_routes
    from .vault_handlers import routes as vault_routes

    return [
        *vault_routes(),
        *bot_routes(),
        *broker_routes(),
        (rf"/{NAMESPACE}/(.*)", NotFoundHandler),
    ]
