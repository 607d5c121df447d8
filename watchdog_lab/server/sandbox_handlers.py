"""REST route of the sandbox levels: what interactive kernels and bots of this server get.

Code in every kernel is untrusted, and its confinement depends on the machine (Landlock,
mount namespaces, bubblewrap) and on settings (``c.WatchdogLab.kernel_sandbox``,
``c.WatchdogLab.sandbox``). ``doctor`` reports it on the command line; the sidebar asks here, so
a user who never runs ``doctor`` still sees when notebook or bot code is not confined.

Nothing secret is answered, yet the route is authenticated like every other one: the levels
tell an attacker which escape to try.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..bots.confine import choose_level, describe_level
from ..provisioning.setup import server_kernel_sandbox
from .handlers import NAMESPACE, WatchdogHandler
from .models import DescribeSandbox

if TYPE_CHECKING:
    from .app import WatchdogLab

#: Bot levels that confine the bot's code (``unsandboxed`` and ``refused`` do not).
CONFINED_BOT_LEVELS = ("landlock", "bubblewrap")


def describe_sandbox(app: WatchdogLab) -> DescribeSandbox:
    """The levels of ``app``'s running server. The probes behind both are cached per process,
    so asking again is cheap; the first ask may start probe processes, hence the handler runs
    this on a worker thread."""
    kernels = server_kernel_sandbox(app.serverapp, app.kernel_sandbox)
    return DescribeSandbox(
        kernels=kernels.describe(),
        kernels_confined=kernels.confined,
        bots=describe_level(app.sandbox),
        bots_confined=choose_level(app.sandbox).kind in CONFINED_BOT_LEVELS,
    )


class SandboxHandler(WatchdogHandler):
    """``GET /watchdog-lab/sandbox``: the levels notebook kernels and bots get here."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        app = self.watchdog_app
        # The first ask may probe the machine (child processes): off the IOLoop.
        self.write_json(await asyncio.to_thread(describe_sandbox, app))


def routes() -> list[tuple[str, type[WatchdogHandler]]]:
    return [(rf"/{NAMESPACE}/sandbox/?", SandboxHandler)]
