"""How the kernel broker plugs into the Jupyter server's kernels.

Every kernel the server starts gets two variables in its environment, the broker's loopback
address and a random token that names this kernel to the broker, and nothing of the vault.

Why wrap the kernel manager's ``start_kernel`` rather than ship a kernel provisioner: a
provisioner is chosen per kernelspec, so any kernelspec naming its own provisioner (or a
configured default) would start kernels without the variables, and installing one takes an
entry point plus server configuration. Every start, whatever the kernelspec, the REST route
(``POST api/kernels``, which passes no ``env``) or the sessions API (which passes the server's
environment plus ``JPY_SESSION_NAME``), goes through ``MultiKernelManager.start_kernel``; the
wrapper picks the kernel id first (as the manager would) so the token is known to the broker
before the process exists.

Restarts relaunch with the arguments of the first start, so a restarted kernel keeps its token;
the broker hears of restarts and shutdowns through the server's ``kernel_actions`` events (both
a user's restart and the automatic one after a crash emit them) and drops that kernel's grants.
A kernel that died without an event is caught by :meth:`KernelHooks.kernel_alive`, which the
broker asks on every request.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from tornado import web

from ..sdk.broker import BROKER_URL_VAR, KERNEL_TOKEN_VAR
from .handlers import NAMESPACE

if TYPE_CHECKING:
    from jupyter_server.serverapp import ServerApp

    from .broker import KernelBroker

#: jupyter_server's event for kernel starts, restarts, interrupts and shutdowns.
KERNEL_ACTIONS_SCHEMA = "https://events.jupyter.org/jupyter_server/kernel_actions/v1"

#: Where the kernel routes live below the server's base URL.
BROKER_ROUTE = f"{NAMESPACE}/broker"

#: Addresses that mean "every interface", through which loopback is reachable too.
_ANY_V4 = ("", "0.0.0.0", "*")  # noqa: S104 - recognised, not bound
_ANY_V6 = ("::",)

log = logging.getLogger(__name__)


def kernel_environment(base: Mapping[str, str] | None, url: str, token: str) -> dict[str, str]:
    """The environment of a new kernel: ``base`` (the server's own when ``None``) plus ours.

    Inherited values of our two variables are replaced, never kept: a server started from
    inside another kernel must not hand that kernel's token on.
    """
    env = dict(os.environ if base is None else base)
    env[BROKER_URL_VAR] = url
    env[KERNEL_TOKEN_VAR] = token
    return env


def broker_url(
    *, ip: str, port: int, base_url: str, tls: bool, sock: str | None = None
) -> str | None:
    """The broker's address as a kernel on this machine reaches it, or ``None`` if it cannot.

    Always a loopback address: the kernel token must not travel over a network. A server that
    listens on a Unix socket or only on a non-loopback address cannot be reached that way.
    """
    if sock or not port:
        return None
    host = ip.strip("[]")
    if host in _ANY_V4 or host == "localhost":
        host = "127.0.0.1"
    elif host in _ANY_V6:
        host = "::1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if not address.is_loopback:
        return None
    shown = f"[{host}]" if address.version == 6 else host
    prefix = "/" + base_url.strip("/") if base_url.strip("/") else ""
    return f"{'https' if tls else 'http'}://{shown}:{port}{prefix}/{BROKER_ROUTE}"


class KernelHooks:
    """Installs the broker into ``serverapp``'s kernel manager and event log; undone by
    :meth:`uninstall`."""

    def __init__(self, serverapp: ServerApp) -> None:
        self._serverapp = serverapp
        self._broker: KernelBroker | None = None
        self._km: Any = serverapp.kernel_manager
        self._original_start: Callable[..., Awaitable[str]] | None = None
        self._warned = False

    # ------------------------------------------------------------------ install

    def install(self, broker: KernelBroker) -> None:
        if self._original_start is not None:
            return
        self._broker = broker
        if _gateway_enabled(self._serverapp):
            # Kernels run on a remote gateway: they could not reach a loopback broker, and a
            # kernel id chosen here would make the gateway look for an existing kernel.
            log.info("WatchDog Lab: kernels run on a gateway; the kernel broker is not offered.")
            return
        events = self._serverapp.event_logger
        assert events is not None, "jupyter_server sets up its event logger before extensions"
        self._original_start = self._km.start_kernel
        self._km.start_kernel = self._start_kernel
        events.add_listener(schema_id=KERNEL_ACTIONS_SCHEMA, listener=self._on_kernel_action)

    def uninstall(self) -> None:
        if self._original_start is None:
            return
        if self._km.__dict__.get("start_kernel") == self._start_kernel:
            del self._km.start_kernel
        self._original_start = None
        events = self._serverapp.event_logger
        assert events is not None, "install() added a listener to it"
        events.remove_listener(schema_id=KERNEL_ACTIONS_SCHEMA, listener=self._on_kernel_action)
        self._broker = None

    # ------------------------------------------------------------------ kernels

    def broker_url(self) -> str | None:
        app = self._serverapp
        return broker_url(
            ip=app.ip,
            port=app.port,
            base_url=app.base_url,
            tls=bool(app.certfile),
            sock=app.sock or None,
        )

    async def _start_kernel(self, *args: Any, **kwargs: Any) -> str:
        assert self._original_start is not None and self._broker is not None
        original = self._original_start
        kernel_id = kwargs.get("kernel_id")
        if kernel_id is not None and kernel_id in self._km:
            return await original(*args, **kwargs)  # an existing kernel: nothing starts
        url = self.broker_url()
        if url is None:
            self._warn_unreachable()
            return await original(*args, **kwargs)
        if kernel_id is None:
            kernel_id = self._km.new_kernel_id(**kwargs)
        token = self._broker.issue_token(kernel_id)
        kwargs["kernel_id"] = kernel_id
        kwargs["env"] = kernel_environment(kwargs.get("env"), url, token)
        try:
            return await original(*args, **kwargs)
        except BaseException:
            self._broker.kernel_gone(kernel_id, reason="kernel failed to start")
            raise

    def _warn_unreachable(self) -> None:
        if not self._warned:
            self._warned = True
            log.warning(
                "WatchDog Lab: this server listens on no loopback address (or on a Unix "
                "socket), so its kernels cannot reach the kernel broker; wd.connection() will "
                "not work in them."
            )

    async def _on_kernel_action(self, logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        kernel_id = data.get("kernel_id")
        if self._broker is None or not kernel_id or data.get("status") != "success":
            return
        action = data.get("action")
        if action == "restart":
            self._broker.kernel_restarted(kernel_id)
        elif action == "shutdown":
            self._broker.kernel_gone(kernel_id, reason="kernel shut down")

    def kernel_alive(self, kernel_id: str) -> bool:
        """Whether the server still runs ``kernel_id`` (a dead kernel leaves the manager)."""
        return kernel_id in self._km

    async def session_path(self, kernel_id: str) -> str | None:
        """The notebook path of the kernel's session, or ``None`` for a kernel without one."""
        try:
            model = await self._serverapp.session_manager.get_session(kernel_id=kernel_id)
        except web.HTTPError:  # no session for this kernel
            return None
        except Exception:  # a culled kernel's session, a session store error: no notebook
            log.debug("WatchDog Lab could not read the session of kernel %s", kernel_id)
            return None
        path = model.get("path") if isinstance(model, dict) else None
        return path if isinstance(path, str) and path else None


def _gateway_enabled(serverapp: Any) -> bool:
    return bool(getattr(getattr(serverapp, "gateway_config", None), "gateway_enabled", False))
