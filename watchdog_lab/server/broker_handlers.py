"""REST routes of the kernel broker: thin handlers over :class:`~.broker.KernelBroker`.

Kernel routes (``watchdog-lab/broker/...``) authenticate by the kernel token alone and answer
loopback clients only; UI routes (``watchdog-lab/kernels/{id}/grants`` and friends) are ordinary
Jupyter-authenticated routes that grant (with the password) and revoke, never returning a secret.
"""

from __future__ import annotations

import ipaddress

from jupyter_server.auth.decorator import allow_unauthenticated, authorized
from tornado import web

from ..sdk.broker import TOKEN_HEADER
from ..sdk.injection import encode_connections
from .broker import KernelBroker
from .broker_errors import NotLoopback
from .broker_models import (
    ConfirmRememberedGrants,
    CreateKernelFix,
    CreateKernelGrant,
    CreatePasswordGrant,
    LookupConnection,
    PreviewKernelFix,
)
from .handlers import NAMESPACE, WatchdogHandler


def _is_loopback(remote_ip: str | None) -> bool:
    try:
        address = ipaddress.ip_address((remote_ip or "").split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


class _BrokerHandler(WatchdogHandler):
    @property
    def broker(self) -> KernelBroker:
        broker: KernelBroker | None = getattr(self.extensionapp, "broker", None)
        if broker is None:
            raise web.HTTPError(503, "The WatchDog Lab kernel broker is not running.")
        return broker


class KernelRouteHandler(_BrokerHandler):
    """Base of the kernel routes: loopback only, authenticated by the kernel token alone.

    Jupyter's own authentication is not consulted (the methods are marked
    ``allow_unauthenticated``): a kernel has no Jupyter credentials, and Jupyter credentials
    without a kernel token are refused here.
    """

    kernel_id: str

    def check_xsrf_cookie(self) -> None:
        """XSRF guards requests that carry a cookie; the SDK sends none (its credential is a
        header that a cross-site page cannot attach). A request with a cookie is a browser's,
        and gets Jupyter's full XSRF check."""
        if "Cookie" not in self.request.headers:
            return None
        return super().check_xsrf_cookie()

    # Like APIHandler.prepare, without JupyterHandler's private _redirect_to_login keyword.
    async def prepare(self) -> None:  # type: ignore[override]  # no _redirect_to_login
        await super().prepare()
        if not _is_loopback(self.request.remote_ip):
            raise NotLoopback
        self.kernel_id = self.broker.authenticate(self.request.headers.get(TOKEN_HEADER))


class BrokerConnectionHandler(KernelRouteHandler):
    """``POST /watchdog-lab/broker/connection`` ``{name}``: the connection, in the SDK's wire
    format. The name travels in the body so that it stays out of access logs."""

    @allow_unauthenticated
    async def post(self) -> None:
        body = self.parse_body(LookupConnection)
        payload = encode_connections([await self.broker.connection(self.kernel_id, body.name)])
        self.touch_vault()
        # The one answer of the extension that carries secrets, by design: not passed through
        # write_json's redaction, which would mangle it; only ever to this kernel, on loopback.
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(b'{"connection": "' + payload.encode("ascii") + b'"}')


class BrokerGrantsHandler(KernelRouteHandler):
    """``GET /watchdog-lab/broker/grants``: this kernel's grants; ``POST`` ``{connection,
    password}``: grant one, confirmed by the vault password (``%wd connect``)."""

    @allow_unauthenticated
    async def get(self) -> None:
        self.write_json(await self.broker.grants(self.kernel_id, suggest=False))

    @allow_unauthenticated
    async def post(self) -> None:
        body = self.parse_body(CreatePasswordGrant)
        grant, created = await self.broker.grant_with_password(
            self.kernel_id, body.connection, body.password
        )
        self.touch_vault()
        self.write_json(grant, status=201 if created else 200)


class BrokerGrantHandler(KernelRouteHandler):
    """``DELETE /watchdog-lab/broker/grants/{connection}`` (``%wd revoke``)."""

    @allow_unauthenticated
    async def delete(self, connection: str) -> None:
        self.write_json(await self.broker.revoke(self.kernel_id, connection))


class BrokerFixPreviewHandler(KernelRouteHandler):
    """``POST /watchdog-lab/broker/ai-fix/preview`` ``{cell}``: the exact AI Fix payload for
    this kernel's failing cell and its SHA-256 (``%wd fix --preview``); nothing is sent."""

    @allow_unauthenticated
    async def post(self) -> None:
        body = self.parse_body(PreviewKernelFix)
        self.write_json(
            await self.broker.fix_preview(self.kernel_id, body, self.watchdog_app.aifix)
        )


class BrokerFixHandler(KernelRouteHandler):
    """``POST /watchdog-lab/broker/ai-fix`` ``{cell, sha256, connection?, password}``: send the
    previewed payload to the Messages API and answer the reviewed proposal (``%wd fix``)."""

    @allow_unauthenticated
    async def post(self) -> None:
        body = self.parse_body(CreateKernelFix)
        fix = await self.broker.fix_with_password(self.kernel_id, body, self.watchdog_app.aifix)
        self.touch_vault()
        self.write_json(fix)


class KernelGrantsHandler(_BrokerHandler):
    """``GET /watchdog-lab/kernels/{kernel_id}/grants``; ``POST`` ``{connection, password,
    remember?}``."""

    @web.authenticated
    @authorized
    async def get(self, kernel_id: str) -> None:
        self.write_json(await self.broker.grants(kernel_id))

    @web.authenticated
    @authorized
    async def post(self, kernel_id: str) -> None:
        body = self.parse_body(CreateKernelGrant)
        grant, created = await self.broker.grant(
            kernel_id, body.connection, remember=body.remember, password=body.password
        )
        self.touch_vault()
        self.write_json(grant, status=201 if created else 200)


class KernelRememberedGrantsHandler(_BrokerHandler):
    """``POST /watchdog-lab/kernels/{kernel_id}/remembered-grants`` ``{password}``: apply the
    grants remembered for the kernel's notebook (the ``suggested`` of its grants listing)."""

    @web.authenticated
    @authorized
    async def post(self, kernel_id: str) -> None:
        body = self.parse_body(ConfirmRememberedGrants)
        listing = await self.broker.confirm_remembered(kernel_id, body.password)
        self.touch_vault()
        self.write_json(listing)


class KernelGrantHandler(_BrokerHandler):
    """``DELETE /watchdog-lab/kernels/{kernel_id}/grants/{connection}`` (name or id)."""

    @web.authenticated
    @authorized
    async def delete(self, kernel_id: str, connection: str) -> None:
        self.write_json(await self.broker.revoke(kernel_id, connection))


class NotebookGrantsHandler(_BrokerHandler):
    """``GET /watchdog-lab/notebook-grants``; ``DELETE ?path=...[&connection=...]``."""

    @web.authenticated
    @authorized
    def get(self) -> None:
        self.write_json(self.broker.notebook_grants())

    @web.authenticated
    @authorized
    def delete(self) -> None:
        path = self.get_query_argument("path")
        connection = self.get_query_argument("connection", None)
        self.write_json(self.broker.forget_notebook_grants(path, connection))


_KERNEL_ID = r"(?P<kernel_id>\w+-\w+-\w+-\w+-\w+)"
_SEGMENT = r"([^/]+)"


def routes() -> list[tuple[str, type[WatchdogHandler]]]:
    return [
        (rf"/{NAMESPACE}/broker/connection/?", BrokerConnectionHandler),
        (rf"/{NAMESPACE}/broker/grants/?", BrokerGrantsHandler),
        (rf"/{NAMESPACE}/broker/grants/{_SEGMENT}/?", BrokerGrantHandler),
        (rf"/{NAMESPACE}/broker/ai-fix/preview/?", BrokerFixPreviewHandler),
        (rf"/{NAMESPACE}/broker/ai-fix/?", BrokerFixHandler),
        (rf"/{NAMESPACE}/kernels/{_KERNEL_ID}/grants/?", KernelGrantsHandler),
        (rf"/{NAMESPACE}/kernels/{_KERNEL_ID}/remembered-grants/?", KernelRememberedGrantsHandler),
        (rf"/{NAMESPACE}/kernels/{_KERNEL_ID}/grants/(?P<connection>[^/]+)/?", KernelGrantHandler),
        (rf"/{NAMESPACE}/notebook-grants/?", NotebookGrantsHandler),
    ]
