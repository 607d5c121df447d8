"""The vault and the bots as a kernel sees them: the routes of ``%wd`` and ``wd.panel()``.

A kernel reaches the server with its kernel token only (the broker's kernel routes, loopback
only, see :mod:`.broker_handlers`): a confined kernel cannot read the Jupyter token, so these
routes are its whole view. Each one is the sidebar's route of the same name, run by the same
code (``_as_kernel`` takes the UI handler's method without its Jupyter authentication), except
where kernel code must not do on its own what the sidebar's user does:

- adding a connection and deleting a bot carry the vault password here (code in any kernel is
  untrusted; the sidebar asks for neither because its user is at the keyboard, and a kernel
  that holds the Jupyter token is refused by these routes anyway);
- a promote and its plan read this kernel's own notebook, never a path the kernel names.

What a kernel gets is masked and redacted, as in the sidebar: connection names and kinds, bot
states and their (already redacted) logs. A secret leaves only through a grant, which needs the
password (:class:`~.broker_handlers.BrokerGrantsHandler`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from jupyter_server.auth.decorator import allow_unauthenticated

from ..vault.models import CreateConnection
from .bot_handlers import (
    BotActionHandler,
    BotHandler,
    BotLogsHandler,
    BotRouteHandler,
    BotsHandler,
    JobHandler,
)
from .broker_handlers import KernelRouteHandler
from .broker_models import (
    CreateKernelConnection,
    CreateKernelPlan,
    CreateKernelPromote,
    DeleteKernelBot,
)
from .handlers import NAMESPACE, WatchdogHandler
from .vault_handlers import (
    ConnectionHandler,
    ConnectionsHandler,
    KindsHandler,
    LockHandler,
    UnlockHandler,
    VaultHandler,
    VaultRouteHandler,
)

#: Where these routes live, below the broker's address (the SDK's ``BrokerClient`` uses them).
PREFIX = f"/{NAMESPACE}/broker"


def _as_kernel(ui_method: Callable[..., Any]) -> Callable[..., Any]:
    """The sidebar route's own code, authenticated by the kernel token instead of Jupyter's.

    The UI method is unwrapped from ``web.authenticated`` and ``authorized`` (both keep
    ``__wrapped__``); :class:`KernelRouteHandler` has already checked the kernel token and the
    loopback address in ``prepare`` by the time it runs.
    """
    method: Callable[..., Any] = allow_unauthenticated(inspect.unwrap(ui_method))
    return method


class _KernelVaultRoute(KernelRouteHandler, VaultRouteHandler):
    """Vault routes for a kernel: the sidebar's helpers, none of its methods but those a
    subclass takes explicitly (any other HTTP method is answered 405)."""


class _KernelBotRoute(KernelRouteHandler, BotRouteHandler):
    """Bot routes for a kernel (see :class:`_KernelVaultRoute`)."""

    async def kernel_notebook(self) -> str:
        """This kernel's notebook, as its session names it (the file browser's path)."""
        return await self.broker.notebook_of(self.kernel_id)


class KernelVaultHandler(_KernelVaultRoute):
    """``GET broker/vault``: the vault's state, two-factor and auto-lock countdown."""

    get = _as_kernel(VaultHandler.get)


class KernelUnlockHandler(_KernelVaultRoute):
    """``POST broker/vault/unlock`` ``{password, totp_code?}`` (``%wd unlock``)."""

    post = _as_kernel(UnlockHandler.post)


class KernelLockHandler(_KernelVaultRoute):
    """``POST broker/vault/lock`` (``%wd lock``)."""

    post = _as_kernel(LockHandler.post)


class KernelKindsHandler(_KernelVaultRoute):
    """``GET broker/kinds``: connection kinds and their fields, for the panel's form."""

    get = _as_kernel(KindsHandler.get)


class KernelConnectionsHandler(_KernelVaultRoute):
    """``GET broker/connections`` (masked); ``POST`` ``{name, kind, fields, password}``.

    Adding needs the password here: kernel code could otherwise slip in a connection under a
    name the user means to grant (``Kalshi``) holding an account it controls.
    """

    get = _as_kernel(ConnectionsHandler.get)

    @allow_unauthenticated
    async def post(self) -> None:
        body = self.parse_body(CreateKernelConnection)
        await self.confirm_password(body.password, "Adding a connection from a notebook")
        created = self.vault.add_connection(body.without_password(CreateConnection))
        self.touch_vault()
        self.refresh_redactor()
        self.write_json(created, status=201)


class KernelConnectionHandler(_KernelVaultRoute):
    """``DELETE broker/connections/{name}`` ``{password}``."""

    delete = _as_kernel(ConnectionHandler.delete)


class KernelBotsHandler(_KernelBotRoute):
    """``GET broker/bots``; ``POST``: promote this kernel's notebook (202, a job).

    The body is ``POST bots``'s without ``notebook``: a kernel promotes the notebook it runs,
    never a path it chooses. Connections need the password, as in the sidebar.
    """

    get = _as_kernel(BotsHandler.get)

    @allow_unauthenticated
    async def post(self) -> None:
        body = self.parse_body(CreateKernelPromote)
        notebook = await self.kernel_notebook()
        request = body.for_notebook(notebook)
        if request.connections:
            await self.confirm_password(body.password, "Giving a bot connections")
            self.touch_vault()
        self.write_json(await self.promote(request), status=202)


class KernelPlanHandler(_KernelBotRoute):
    """``POST broker/promote/plan`` ``{allow_packages}``: the promote plan of this kernel's
    notebook (dependencies with the policy's verdicts, parameters); nothing is installed."""

    @allow_unauthenticated
    async def post(self) -> None:
        body = self.parse_body(CreateKernelPlan)
        notebook = await self.kernel_notebook()
        self.write_json(await self.plan(notebook, body.allow_packages))


class KernelJobHandler(_KernelBotRoute):
    """``GET broker/bots/jobs/{id}``: a promote's progress (ids are unguessable)."""

    get = _as_kernel(JobHandler.get)


class KernelBotHandler(_KernelBotRoute):
    """``GET broker/bots/{ref}``; ``DELETE`` ``{password}``.

    Deleting takes the password here: it stops a bot that may hold positions and drops its
    versions and state, which kernel code must not do on its own.
    """

    get = _as_kernel(BotHandler.get)

    @allow_unauthenticated
    async def delete(self, ref: str) -> None:
        body = self.parse_body(DeleteKernelBot)
        await self.confirm_password(body.password, "Deleting a bot from a notebook")
        await self.ops.on_bot(ref, lambda m, bot_id: m.delete(bot_id))
        self.set_status(204)
        self.finish()


class KernelBotActionHandler(_KernelBotRoute):
    """``POST broker/bots/{ref}/start|stop|restart``."""

    post = _as_kernel(BotActionHandler.post)


class KernelBotLogsHandler(_KernelBotRoute):
    """``GET broker/bots/{ref}/logs?after=&limit=`` or ``?tail=``: redacted records."""

    get = _as_kernel(BotLogsHandler.get)


def routes() -> list[tuple[str, type[WatchdogHandler]]]:
    bots = f"{PREFIX}/bots"
    ref = r"([^/]+)"
    return [
        (rf"{PREFIX}/vault/?", KernelVaultHandler),
        (rf"{PREFIX}/vault/unlock/?", KernelUnlockHandler),
        (rf"{PREFIX}/vault/lock/?", KernelLockHandler),
        (rf"{PREFIX}/kinds/?", KernelKindsHandler),
        (rf"{PREFIX}/connections/?", KernelConnectionsHandler),
        (rf"{PREFIX}/connections/([^/]+)/?", KernelConnectionHandler),
        (rf"{PREFIX}/promote/plan/?", KernelPlanHandler),
        (rf"{bots}/?", KernelBotsHandler),
        (rf"{bots}/jobs/([0-9a-f]{{32}})/?", KernelJobHandler),
        (rf"{bots}/{ref}/?", KernelBotHandler),
        (rf"{bots}/{ref}/(start|stop|restart)/?", KernelBotActionHandler),
        (rf"{bots}/{ref}/logs/?", KernelBotLogsHandler),
    ]
