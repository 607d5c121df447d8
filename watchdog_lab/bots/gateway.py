"""Bots' kernels on a Jupyter Enterprise Gateway, driven by the local runner.

With ``c.WatchdogLab.gateway_url`` set, a bot's runner stays on this machine (it holds the
granted connections, redacts and logs every output, restarts failed runs) and its kernel runs
on the gateway: the runner asks the gateway's REST API for a kernel of the gateway's kernelspec
``c.WatchdogLab.gateway_kernel_name``, talks to it over the gateway's WebSocket channels, and
nbclient executes the notebook through :class:`GatewayKernelClient` exactly as it does through a
local kernel's sockets.

What crosses to the gateway, and how:

- **The token** (a vault connection of the ``gateway`` kind) goes in the ``Authorization``
  header of every request, never in a URL (a gateway's request log shows URLs), and over TLS
  under the project's policy (:func:`~watchdog_lab.kinds.tls.client_context`: verified
  certificates, host names, TLS 1.2 or newer). Plain ``http://`` is accepted for
  ``127.0.0.1`` only, with a warning in the bot's log at every run.
- **The bot's connections** travel once, after the kernel answered on its authenticated
  channels, as the data of a comm open message to the SDK's door
  (:mod:`watchdog_lab.sdk.gateway_kernel`), before any cell runs: never in the kernel's
  environment (``KERNEL_*``, which gateways log), its command line, or code that IPython's
  history would keep.
- **The kernel's environment** gets the bot's id and name only.

A kernel the gateway restarts by itself (it died) comes back without the bot's connections or
state, so the client treats the gateway's ``restarting`` and ``dead`` notices as the kernel's
death: the run fails, the runner deletes that kernel and its restart policy starts a fresh one,
which is handed the connections again.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import re
import ssl
import threading
import time
import uuid
import weakref
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote, urlsplit

from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.jsonutil import json_default

from ..sdk import Connection
from ..sdk.gateway_kernel import COMM_TARGET, KERNEL_PREFIX, PAYLOAD_KEY
from ..sdk.injection import decode_connections, encode_connections
from .errors import (
    GatewayAuthFailed,
    GatewayError,
    GatewayHandOverFailed,
    GatewayNotConfigured,
    GatewayRequestFailed,
    GatewayUnreachable,
)

if TYPE_CHECKING:
    from ..vault import Vault

__all__ = [
    "REMOTE_CONFINEMENT",
    "GatewayKernelClient",
    "GatewayKernelManager",
    "GatewaySession",
    "GatewaySettings",
    "GatewayTarget",
    "KernelLedger",
    "check_gateway_url",
    "plain_http_notice",
]

#: What ``bots status`` shows as a gateway bot's sandbox and containment: the gateway's own
#: (its pods, or whatever its process proxy gives), none of this machine's.
REMOTE_CONFINEMENT: Final = "by the gateway"
#: The only host a gateway may be reached on without TLS.
LOOPBACK_HOST: Final = "127.0.0.1"
KERNELS_PATH: Final = "/api/kernels"
#: A REST call's limit; starting a kernel on a busy cluster (an image pull) takes long.
REQUEST_SECONDS: Final = 120.0
#: How long the kernel may take to accept its connections once it answered.
HANDOVER_SECONDS: Final = 30.0
_POLL_SECONDS: Final = 0.25
#: WebSocket pings keep a quiet bot's channels open through proxies that close idle
#: connections (an ingress's read timeout is often 60 s), and notice a dead peer.
PING_SECONDS: Final = 20.0
#: Kernel ids go in URL paths: what the gateway returns must be one plain word.
_KERNEL_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
#: The ledger of a bot's kernels on the gateway, in the bot's run folder.
LEDGER_FILE: Final = "gateway-kernels"
#: What a reply's error message may contribute to ours.
_REASON_CHARS: Final = 200
MAX_REPLY_BYTES: Final = 1024 * 1024
#: The gateway's own notices that the kernel it ran is gone (jupyter_server's channel handler).
_DEATH_STATES: Final = frozenset({"restarting", "dead"})
CHANNELS: Final = ("shell", "iopub", "stdin", "control", "hb")
_CONNECTION_NAME: Final = "gateway"
_KIND: Final = "gateway"


def check_gateway_url(url: str) -> str:
    """``url`` normalised (no trailing ``/``), or :class:`ValueError` saying what to write.

    ``https://`` anywhere; ``http://`` only on ``127.0.0.1`` (a gateway on this machine, for
    development). No user name or password (the token is a vault secret), query or fragment.
    Messages never quote the URL whole: a refused one may hold a credential.
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"gateway_url is not a URL ({exc}).") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(
            f"gateway_url must be https://HOST[:PORT][/BASE] (the gateway's address), not a "
            f"{parts.scheme or 'scheme-less'!r} URL."
        )
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            "gateway_url must not hold a user name or password: the gateway's token is a "
            "vault connection of the 'gateway' kind, named by c.WatchdogLab.gateway_connection."
        )
    if parts.query or parts.fragment:
        raise ValueError("gateway_url must not have a query or a fragment.")
    if parts.scheme == "http" and parts.hostname != LOOPBACK_HOST:
        raise ValueError(
            f"gateway_url on {parts.hostname!r} uses plain HTTP: the gateway's token and the bots' "
            f"connections would cross the network in clear. Use https://, or http:// on "
            f"{LOOPBACK_HOST} only (a gateway on this machine)."
        )
    del port  # parsed only to refuse a malformed one
    return text.rstrip("/")


def plain_http_notice(url: str) -> str | None:
    """The warning a plain-HTTP gateway earns (None over TLS)."""
    if urlsplit(url).scheme != "http":
        return None
    return (
        f"WARNING: the gateway {url} is reached over plain HTTP (loopback only): its token and "
        "this bot's connections cross unencrypted between local processes. Use https:// for a "
        "gateway on another machine."
    )


@dataclass(frozen=True)
class GatewaySettings:
    """The ``c.WatchdogLab.gateway_*`` settings: the gateway's address, the name of the vault
    connection that holds its token, and the kernelspec bots' kernels use there."""

    url: str
    connection: str
    kernel_name: str

    def target(self, vault: Vault) -> GatewayTarget:
        """The target a runner is handed, its token read from ``vault`` (unlocked: the
        vault's :class:`~watchdog_lab.vault.VaultLocked` otherwise)."""
        from ..vault import ConnectionNotFound

        try:
            secrets = vault.get_connection(self.connection)
        except ConnectionNotFound:
            raise GatewayNotConfigured(
                f"c.WatchdogLab.gateway_url is set, but the vault has no connection named "
                f"{self.connection!r} (c.WatchdogLab.gateway_connection) with the gateway's "
                f"token; add it: watchdog-lab connections add {self.connection} --kind gateway"
            ) from None
        conn = Connection(secrets.name, secrets.kind, secrets.fields, secrets.visibility)
        return GatewayTarget.from_connection(self.url, self.kernel_name, conn)


@dataclass(frozen=True, repr=False)
class GatewayTarget:
    """Where a runner starts its kernels, and the credentials to do it (masked in any repr)."""

    url: str
    kernel_name: str
    credentials: Connection

    def __repr__(self) -> str:
        return f"GatewayTarget({self.url!r}, kernel {self.kernel_name!r})"

    @classmethod
    def from_connection(cls, url: str, kernel_name: str, conn: Connection) -> GatewayTarget:
        """From the vault's ``gateway`` connection and the settings."""
        if conn.kind != _KIND or "token" not in conn:
            raise GatewayNotConfigured(
                f"Connection {conn.name!r} is a {conn.kind!r} connection; the gateway's token "
                "must be a connection of the 'gateway' kind (watchdog-lab connections add NAME "
                "--kind gateway)."
            )
        fields = {"token": conn["token"]}
        ca_pem = conn["ca_pem"] if "ca_pem" in conn.field_names else ""
        if ca_pem:
            fields["ca_pem"] = ca_pem
        return cls(
            check_gateway_url(url),
            kernel_name,
            Connection(
                _CONNECTION_NAME,
                _KIND,
                fields,
                {"token": "secret", "ca_pem": "public"} if "ca_pem" in fields else None,
            ),
        )

    # The runner's standard input carries the target as one more line, in the SDK's format.

    def encode(self) -> str:
        fields = {
            "url": self.url,
            "kernel_name": self.kernel_name,
            **{f: self.credentials[f] for f in self.credentials.field_names},
        }
        levels = {f: ("secret" if f == "token" else "public") for f in fields}
        return encode_connections([Connection(_CONNECTION_NAME, _KIND, fields, levels)])

    @classmethod
    def decode(cls, text: str) -> GatewayTarget:
        items = decode_connections(text, origin="the gateway line of the runner's input")
        if len(items) != 1 or not {"url", "kernel_name", "token"} <= set(items[0].field_names):
            raise GatewayError("The gateway line of the runner's input is incomplete.")
        conn = items[0]
        fields = {f: conn[f] for f in conn.field_names if f in ("token", "ca_pem")}
        levels = {f: ("secret" if f == "token" else "public") for f in fields}
        return cls(
            check_gateway_url(conn["url"]),
            conn["kernel_name"],
            Connection(_CONNECTION_NAME, _KIND, fields, levels),
        )

    def secrets(self) -> list[tuple[str, str, str]]:
        """What the runner's redactor must know: the token."""
        return [(self.credentials.name, "token", self.credentials["token"])]

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme == "https"

    def ssl_context(self) -> ssl.SSLContext | None:
        """The project's client context (None for loopback HTTP), trusting ``ca_pem`` too."""
        if not self.tls:
            return None
        from ..kinds.tls import client_context

        context = client_context()
        if "ca_pem" in self.credentials:
            context.load_verify_locations(cadata=self.credentials["ca_pem"])
        return context

    def authorization(self) -> dict[str, str]:
        return {"Authorization": "token " + self.credentials["token"]}


class GatewayRest:
    """The gateway's kernel REST API, over blocking connections (one per call).

    Blocking on purpose: a stop request arrives on another thread than nbclient's event loop
    and must reach the gateway without it.
    """

    def __init__(self, target: GatewayTarget) -> None:
        self.target = target
        parts = urlsplit(target.url)
        self._host = parts.hostname or ""
        self._port = parts.port
        self._base = parts.path.rstrip("/")
        self._context = target.ssl_context()

    def call(self, method: str, path: str, body: Any = None, *, missing_ok: bool = False) -> Any:
        """The JSON reply of ``method path`` (None for an empty one, or a 404 if
        ``missing_ok``); raises a :class:`GatewayError` naming the request."""
        what = f"{method} {path}"
        connection: http.client.HTTPConnection
        if self._context is not None:
            connection = http.client.HTTPSConnection(
                self._host, self._port, timeout=REQUEST_SECONDS, context=self._context
            )
        else:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=REQUEST_SECONDS)
        headers = {**self.target.authorization(), "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        try:
            connection.request(method, self._base + path, body=data, headers=headers)
            response = connection.getresponse()
            raw = response.read(MAX_REPLY_BYTES)
        except ssl.SSLError as exc:
            raise GatewayUnreachable(
                f"TLS with the gateway {self.target.url} failed ({exc.reason or exc}): its "
                "certificate must be valid for its host name and signed by a CA this machine "
                "trusts (or the gateway connection's ca_pem), over TLS 1.2 or newer."
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            raise GatewayUnreachable(
                f"The gateway {self.target.url} did not answer {what} "
                f"({type(exc).__name__}: {exc})."
            ) from None
        finally:
            connection.close()
        if response.status == 404 and missing_ok:
            return None
        if response.status in (401, 403):
            raise GatewayAuthFailed(
                f"The gateway {self.target.url} refused {what} ({response.status}): the token of "
                "the connection named by c.WatchdogLab.gateway_connection is not its auth token."
            )
        if not 200 <= response.status < 300:
            raise GatewayRequestFailed(
                f"The gateway {self.target.url} answered {what} with {response.status} "
                f"{response.reason}{_reason(raw)}."
            )
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise GatewayRequestFailed(
                f"The gateway {self.target.url} answered {what} with something other than JSON."
            ) from None


def _reason(raw: bytes) -> str:
    """The ``message`` of a gateway's JSON error reply, short, for our error's text."""
    try:
        message = json.loads(raw).get("message")
    except (ValueError, AttributeError):
        return ""
    if not isinstance(message, str) or not message:
        return ""
    return f": {message[:_REASON_CHARS]}"


class GatewayKernelManager:
    """The part of a kernel manager nbclient and the runner use, for one kernel on a gateway.

    ``payload`` is the encoded connections (empty: none) that :class:`GatewayKernelClient`
    hands to the kernel once it answers; ``expected`` is how many it must accept.
    """

    #: nbclient adds a local history file to an ipykernel's command line; not here.
    ipykernel = False
    #: No local process: the runner's pid-based paths (signals, the sandbox) skip this kernel.
    provisioner = None
    on_launch: Any = None

    def __init__(
        self,
        target: GatewayTarget,
        *,
        env: dict[str, str],
        payload: str,
        expected: int,
        ledger: KernelLedger | None = None,
    ) -> None:
        self.target = target
        self._ledger = ledger
        self.kernel_name = target.kernel_name
        self.kernel_id: str | None = None
        self._rest = GatewayRest(target)
        self._env = {KERNEL_PREFIX + key: value for key, value in env.items()}
        self._payload = payload
        self._expected = expected
        self._client: GatewayKernelClient | None = None

    @property
    def has_kernel(self) -> bool:
        return self.kernel_id is not None

    def kernel_path(self, suffix: str = "") -> str:
        assert self.kernel_id is not None
        return f"{KERNELS_PATH}/{quote(self.kernel_id)}{suffix}"

    async def start_kernel(self, **_: Any) -> None:
        """Ask the gateway for a kernel (local launch arguments do not apply and are ignored)."""
        model = await asyncio.to_thread(
            self._rest.call, "POST", KERNELS_PATH, {"name": self.kernel_name, "env": self._env}
        )
        kernel_id = model.get("id") if isinstance(model, dict) else None
        if not isinstance(kernel_id, str) or not _KERNEL_ID.fullmatch(kernel_id):
            raise GatewayRequestFailed(
                f"The gateway {self.target.url} started a kernel but gave no usable kernel id."
            )
        self.kernel_id = kernel_id
        if self._ledger is not None:
            self._ledger.add(kernel_id)

    def client(self, **_: Any) -> GatewayKernelClient:
        self._client = GatewayKernelClient(self, self._payload, self._expected)
        return self._client

    async def is_alive(self) -> bool:
        if self.kernel_id is None:
            return False
        if self._client is not None and self._client.dead:
            return False
        model = await asyncio.to_thread(self._rest.call, "GET", self.kernel_path(), missing_ok=True)
        return model is not None

    async def interrupt_kernel(self) -> None:
        await asyncio.to_thread(self.interrupt_now)

    def interrupt_now(self) -> None:
        """Interrupt the kernel (from any thread): a bot's ``finally`` blocks get to run."""
        if self.kernel_id is not None:
            self._rest.call("POST", self.kernel_path("/interrupt"), {}, missing_ok=True)

    async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
        await asyncio.to_thread(self.delete)

    async def cleanup_resources(self, restart: bool = False) -> None:
        await asyncio.to_thread(self.delete)

    def delete(self) -> None:
        """End the kernel on the gateway (from any thread); a kernel already gone is fine."""
        kernel_id, self.kernel_id = self.kernel_id, None
        if kernel_id is None:
            return
        try:
            self._rest.call("DELETE", f"{KERNELS_PATH}/{quote(kernel_id)}", missing_ok=True)
        except GatewayError:
            return  # unreachable: the ledger keeps it for the next runner, culling otherwise
        if self._ledger is not None:
            self._ledger.remove(kernel_id)

    def alive_now(self) -> bool:
        """Without asking the gateway: started, not deleted, and its channels not dead."""
        return self.kernel_id is not None and not (self._client is not None and self._client.dead)

    def describe(self) -> str:
        return f"kernel {self.kernel_id} on the gateway {self.target.url}"


class KernelLedger:
    """The ids of the kernels a bot's runner has on the gateway, in a file of the bot's
    folder: a runner killed outright (``SIGKILL``) cannot delete its kernel, so the next runner
    of the bot deletes what the file still lists before it starts one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def ids(self) -> list[str]:
        try:
            lines = self.path.read_text(encoding="ascii").split()
        except (OSError, UnicodeDecodeError):
            return []
        return [line for line in lines if _KERNEL_ID.fullmatch(line)]

    def add(self, kernel_id: str) -> None:
        with self._lock:
            self._write([*self.ids(), kernel_id])

    def remove(self, kernel_id: str) -> None:
        with self._lock:
            self._write([known for known in self.ids() if known != kernel_id])

    def _write(self, ids: list[str]) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(f"{kernel_id}\n" for kernel_id in ids), encoding="ascii")
        tmp.chmod(0o600)
        tmp.replace(self.path)


class GatewaySession:
    """A runner's gateway: the kernels it started there, so a stop reaches every one of them
    (the running one and a prewarmed one) from the thread that handles the signal, and the
    next runner finds those a killed one left (:class:`KernelLedger`)."""

    def __init__(self, target: GatewayTarget, ledger: Path) -> None:
        self.target = target
        self._ledger = KernelLedger(ledger)
        self._managers: weakref.WeakSet[GatewayKernelManager] = weakref.WeakSet()
        self._lock = threading.Lock()

    def manager(self, *, env: dict[str, str], payload: str, expected: int) -> GatewayKernelManager:
        km = GatewayKernelManager(
            self.target, env=env, payload=payload, expected=expected, ledger=self._ledger
        )
        with self._lock:
            self._managers.add(km)
        return km

    def start(self) -> str:
        """Delete the kernels a previous runner of the bot left on the gateway, and say what
        the bot's log should at the runner's start: where kernels run, and who confines them
        (the gateway: locally nothing does)."""
        lines = [
            f"kernels run on the gateway {self.target.url} (kernelspec "
            f"{self.target.kernel_name!r}); they are confined by the gateway (its pods or "
            "processes), not by this machine's sandbox"
        ]
        warning = plain_http_notice(self.target.url)
        if warning:
            lines.append(warning)
        left = self._ledger.ids()
        if left:
            rest = GatewayRest(self.target)
            for kernel_id in left:
                try:
                    rest.call("DELETE", f"{KERNELS_PATH}/{quote(kernel_id)}", missing_ok=True)
                except GatewayError as exc:
                    lines.append(f"could not delete kernel {kernel_id} left on the gateway: {exc}")
                    continue
                self._ledger.remove(kernel_id)
                lines.append(f"deleted kernel {kernel_id}, left on the gateway by a runner killed")
        return "\n".join(lines)

    def stop_all(self, grace: float) -> None:
        """Interrupt every live kernel, give them ``grace`` seconds to end their run (the
        runner deletes a kernel whose run ended), then delete what is left."""
        with self._lock:
            live = [km for km in self._managers if km.kernel_id is not None]
        for km in live:
            with contextlib.suppress(GatewayError):
                km.interrupt_now()
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(km.alive_now() for km in live):
            time.sleep(_POLL_SECONDS)
        for km in live:
            km.delete()


class _Channel:
    """One kernel channel over the shared WebSocket: a queue in, the socket out."""

    def __init__(self, name: str, client: GatewayKernelClient) -> None:
        self.name = name
        self._client = client
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except asyncio.TimeoutError:
            raise Empty from None

    def put(self, msg: dict[str, Any]) -> None:
        self._queue.put_nowait(msg)

    def send(self, msg: dict[str, Any]) -> None:
        self._client.send(self.name, msg)

    def msg_ready(self) -> bool:
        return not self._queue.empty()

    def is_alive(self) -> bool:
        return not self._client.dead

    def is_beating(self) -> bool:
        return not self._client.dead

    def start(self) -> None:
        """Nothing to start: the WebSocket carries every channel."""

    def stop(self) -> None:
        """Nothing to stop: see :meth:`GatewayKernelClient.stop_channels`."""

    def close(self) -> None:
        """Nothing to close: see :meth:`GatewayKernelClient.stop_channels`."""


class GatewayKernelClient(AsyncKernelClient):
    """A kernel client whose five channels are the gateway's one WebSocket (JSON messages,
    each naming its channel), with the connections' hand-over after the kernel answers."""

    def __init__(self, manager: GatewayKernelManager, payload: str, expected: int) -> None:
        super().__init__()
        self._manager = manager
        self._payload = payload
        self._expected = expected
        self._channels = {name: _Channel(name, self) for name in CHANNELS}
        self._socket: Any = None
        self._reader: asyncio.Future[None] | None = None
        self._connecting: asyncio.Future[None] | None = None
        self.dead = False

    # nbclient and jupyter_client reach the channels through these.
    shell_channel = property(lambda self: self._channels["shell"])
    iopub_channel = property(lambda self: self._channels["iopub"])
    stdin_channel = property(lambda self: self._channels["stdin"])
    control_channel = property(lambda self: self._channels["control"])
    hb_channel = property(lambda self: self._channels["hb"])

    @property
    def channels_running(self) -> bool:
        return self._socket is not None and not self.dead

    def start_channels(self, *_: Any, **__: Any) -> None:
        """Begin opening the WebSocket (on the running loop); :meth:`wait_for_ready` waits
        for it. Synchronous like a local client's, so callers need not tell them apart."""
        self._connecting = asyncio.ensure_future(self._connect())

    async def _connect(self) -> None:
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        target = self._manager.target
        base = target.url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        url = f"{base}{self._manager.kernel_path('/channels')}?session_id={self.session.session}"
        context = target.ssl_context()
        request = HTTPRequest(
            url,
            headers=target.authorization(),
            connect_timeout=REQUEST_SECONDS,
            request_timeout=REQUEST_SECONDS,
            ssl_options=context,
        )
        try:
            self._socket = await websocket_connect(
                request, ping_interval=PING_SECONDS, ping_timeout=PING_SECONDS
            )
        except ssl.SSLError as exc:
            raise GatewayUnreachable(
                f"TLS with the gateway {target.url} failed ({exc.reason or exc})."
            ) from None
        except Exception as exc:
            code = getattr(exc, "code", None)
            if code in (401, 403):
                raise GatewayAuthFailed(
                    f"The gateway {target.url} refused the kernel's channels ({code})."
                ) from None
            raise GatewayUnreachable(
                f"The gateway {target.url} did not open the kernel's channels "
                f"({type(exc).__name__}{f' {code}' if code else ''})."
            ) from None
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        socket = self._socket
        try:
            while True:
                text = await socket.read_message()
                if text is None:
                    return
                try:
                    msg = json.loads(text)
                    channel = self._channels[msg["channel"]]
                except (ValueError, KeyError, TypeError):
                    continue  # not a kernel message: nothing waits for it
                content = msg.get("content") or {}
                if (
                    msg["channel"] == "iopub"
                    and msg.get("msg_type") == "status"
                    and not msg.get("parent_header")
                    and content.get("execution_state") in _DEATH_STATES
                ):
                    # The gateway says the kernel died (and maybe restarts it, without the
                    # bot's connections): this kernel is over for the run.
                    self.dead = True
                channel.put(msg)
        finally:
            self.dead = True

    def send(self, channel: str, msg: dict[str, Any]) -> None:
        if self._socket is None or self.dead:
            raise GatewayRequestFailed(
                "The kernel's channels on the gateway are closed (the kernel died or was deleted)."
            )
        text = json.dumps({**msg, "channel": channel}, default=json_default)
        try:
            self._socket.write_message(text)
        except Exception:
            self.dead = True
            raise

    def stop_channels(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
        if self._socket is not None:
            self._socket.close()
        if self._reader is not None:
            self._reader.cancel()

    async def _async_is_alive(self) -> bool:
        return self._socket is not None and not self.dead

    is_alive = _async_is_alive

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        if self._connecting is None:
            self.start_channels()
        assert self._connecting is not None
        await asyncio.wait_for(self._connecting, timeout)
        await AsyncKernelClient.wait_for_ready(self, timeout=timeout)
        await self._hand_over()

    wait_for_ready = _async_wait_for_ready

    async def _hand_over(self) -> None:
        """Open the SDK's door with the connections; wait for the kernel's count of them."""
        comm_id = uuid.uuid4().hex
        self.shell_channel.send(
            self.session.msg(
                "comm_open",
                {
                    "comm_id": comm_id,
                    "target_name": COMM_TARGET,
                    "data": {PAYLOAD_KEY: self._payload},
                },
            )
        )
        self._payload = ""  # handed over: this client keeps no copy
        deadline = time.monotonic() + HANDOVER_SECONDS
        while time.monotonic() < deadline:
            if self.dead:
                raise GatewayHandOverFailed(
                    "The kernel on the gateway died before it accepted the bot's connections."
                )
            try:
                msg = await self.iopub_channel.get_msg(timeout=_POLL_SECONDS)
            except Empty:
                continue
            content = msg.get("content") or {}
            if content.get("comm_id") != comm_id:
                continue
            data = content.get("data") or {}
            if msg.get("msg_type") == "comm_msg" and data.get("accepted") == self._expected:
                return
            if msg.get("msg_type") in ("comm_msg", "comm_close"):
                reason = data.get("reason") if isinstance(data.get("reason"), str) else None
                raise GatewayHandOverFailed(
                    "The kernel on the gateway did not accept the bot's connections"
                    + (f": {reason[:_REASON_CHARS]}" if reason else "")
                    + ". Its kernelspec must run 'python -m watchdog_lab.sdk.gateway_kernel -f "
                    "{connection_file}' with the same watchdog-lab version."
                )
        raise GatewayHandOverFailed(
            f"The kernel on the gateway did not answer the connections' hand-over within "
            f"{HANDOVER_SECONDS:g}s; its kernelspec must run the SDK's gateway kernel "
            "('python -m watchdog_lab.sdk.gateway_kernel -f {connection_file}')."
        )
