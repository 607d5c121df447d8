"""Connections for interactive kernels, asked of the Jupyter server's kernel broker.

A kernel that a Jupyter server with WatchDog Lab started finds two variables in its environment:
the broker's address and a token that identifies this kernel to the broker. Neither is a secret
of the vault; the token is worth exactly what the user granted to this kernel. Every
``wd.connection()`` is one request to the broker: nothing is cached beyond the ``Connection``
object the caller holds, so a revoke (or a lock of the vault) takes effect at the next call.

The transport is :mod:`http.client` straight to a loopback address. ``urllib`` would send the
kernel token to whatever ``HTTP_PROXY`` names and follow redirects with the token header, and
neither may happen to a credential. Answers come in the SDK's wire format (:mod:`.injection`)
and are decoded as strictly as an injected environment.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any, Final, NamedTuple

from .connection import Connection
from .errors import BrokerError, InjectionError
from .injection import decode_connections

BROKER_URL_VAR: Final = "WATCHDOG_LAB_BROKER_URL"
KERNEL_TOKEN_VAR: Final = "WATCHDOG_LAB_KERNEL_TOKEN"  # noqa: S105 - a variable name
#: The header that carries the kernel token; the broker ignores Jupyter's own credentials.
TOKEN_HEADER: Final = "X-WatchDog-Lab-Kernel-Token"  # noqa: S105 - a header name

#: Routes below the broker's address.
CONNECTION_ROUTE: Final = "connection"
GRANTS_ROUTE: Final = "grants"
AI_FIX_ROUTE: Final = "ai-fix"
AI_FIX_PREVIEW_ROUTE: Final = "ai-fix/preview"
#: The kernel's view of the vault and the bots (``%wd``, ``wd.panel()``).
VAULT_ROUTE: Final = "vault"
KINDS_ROUTE: Final = "kinds"
CONNECTIONS_ROUTE: Final = "connections"
BOTS_ROUTE: Final = "bots"
PLAN_ROUTE: Final = "promote/plan"
#: What a bot may be told to do (``%wd start|stop|restart``).
BOT_ACTIONS: Final = frozenset({"start", "stop", "restart"})

LOOKUP_TIMEOUT: Final = 15.0
#: A password grant runs Argon2 on the server, possibly behind other grants.
GRANT_TIMEOUT: Final = 60.0
#: A fix waits for the model, with the server's own timeout and retries (``ai_timeout``,
#: ``ai_max_retries``) bounding it; this only stops waiting on a server that never answers.
AI_FIX_TIMEOUT: Final = 3600.0
MAX_ANSWER_BYTES: Final = 4 * 1024 * 1024

# Reasons this module gives itself (the broker's own come in its answers).
UNREACHABLE: Final = "broker_unreachable"
BAD_ADDRESS: Final = "broker_address"
BAD_ANSWER: Final = "broker_answer"


class _Target(NamedTuple):
    scheme: str
    host: str
    port: int
    prefix: str


class _Reply(NamedTuple):
    status: int
    body: bytes


class BrokerClient:
    """Talks to the broker for this kernel: look up, list, grant and revoke connections.

    The constructor never raises (the default registry builds one at import time); an unusable
    address is reported by the first call instead.
    """

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self._token = token
        self._target, self._problem = _parse(url)

    def __repr__(self) -> str:
        # Never the token: a repr ends up in tracebacks and variable inspectors.
        return f"BrokerClient({self.url!r})"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> BrokerClient | None:
        """The client for the broker this kernel was started with, or ``None`` without one."""
        env = os.environ if environ is None else environ
        url, token = env.get(BROKER_URL_VAR, ""), env.get(KERNEL_TOKEN_VAR, "")
        if not url or not token:
            return None
        return cls(url, token)

    # ------------------------------------------------------------------ operations

    def connection(self, name: str) -> Connection:
        """The connection ``name`` if it is granted to this kernel, else :class:`BrokerError`."""
        # The answer holds secrets: it is passed along, never kept in a local of this frame.
        return self._decode_connection(
            self._answer(
                self._exchange("POST", CONNECTION_ROUTE, _json({"name": name}), LOOKUP_TIMEOUT),
                requested=name,
            ),
            requested=name,
        )

    def grants(self) -> dict[str, Any]:
        """This kernel's grants: ``{"kernel_id", "vault", "grants": [{"connection", ...}]}``."""
        return self._answer(self._exchange("GET", GRANTS_ROUTE, None, LOOKUP_TIMEOUT), requested="")

    def grant(self, name: str, password: str) -> dict[str, Any]:
        """Ask the broker to grant ``name`` to this kernel, confirmed by the vault password.

        The password is only ever an argument: it is serialised straight into the request and
        this frame lets go of it before anything is raised, so a traceback that shows locals
        cannot show it.
        """
        reply = self._exchange(
            "POST", GRANTS_ROUTE, _json({"connection": name, "password": password}), GRANT_TIMEOUT
        )
        del password
        return self._answer(reply, requested=name)

    def ai_fix_preview(self, cell: Mapping[str, Any]) -> dict[str, Any]:
        """The exact AI Fix payload the server would send for ``cell`` (``source``, ``ename``,
        ``evalue``, ``traceback``, ``language``, ``language_version``): ``{"body", "sha256",
        "size", "model", "redactions", "traceback_cut"}``. Nothing is sent anywhere."""
        reply = self._exchange(
            "POST", AI_FIX_PREVIEW_ROUTE, _text_json({"cell": dict(cell)}), LOOKUP_TIMEOUT
        )
        return self._answer(reply, requested="")

    def ai_fix(
        self, cell: Mapping[str, Any], sha256: str, password: str, connection: str | None = None
    ) -> dict[str, Any]:
        """Send the payload previewed as ``sha256`` to the Messages API, confirmed by the vault
        password; the proposal (``outcome``, ``explanation``, ``fixed_source``, ``diff``...).

        Like :meth:`grant`, the password is serialised straight into the request and let go of
        before anything is raised.
        """
        document: dict[str, Any] = {"cell": dict(cell), "sha256": sha256, "password": password}
        if connection is not None:
            document["connection"] = connection
        body = _text_json(document)
        del password, document
        reply = self._exchange("POST", AI_FIX_ROUTE, body, AI_FIX_TIMEOUT)
        del body
        return self._answer(reply, requested=connection or "")

    def revoke(self, name: str) -> dict[str, Any]:
        """Withdraw ``name`` from this kernel (and from the notebook's remembered grants)."""
        route = _under(GRANTS_ROUTE, name)
        return self._answer(self._exchange("DELETE", route, None, LOOKUP_TIMEOUT), requested=name)

    # ------------------------------------------------- the vault and the bots, as a kernel

    def vault(self) -> dict[str, Any]:
        """``{"state", "totp_enabled", "locks_in_seconds"}``."""
        return self._get(VAULT_ROUTE)

    def unlock(self, password: str, totp_code: str | None = None) -> dict[str, Any]:
        """Unlock the vault with the password (and the current two-factor code when on)."""
        document: dict[str, Any] = {"password": password}
        if totp_code:
            document["totp_code"] = totp_code
        body = _json(document)
        del password, totp_code, document
        reply = self._exchange("POST", f"{VAULT_ROUTE}/unlock", body, GRANT_TIMEOUT)
        del body
        return self._answer(reply, requested="")

    def lock(self) -> dict[str, Any]:
        """Lock the vault now: every kernel's lookups stop until the next unlock."""
        return self._post(f"{VAULT_ROUTE}/lock", {})

    def kinds(self) -> dict[str, Any]:
        """The connection kinds and their fields (which are secret), for a form."""
        return self._get(KINDS_ROUTE)

    def connections(self) -> dict[str, Any]:
        """Every connection of the vault, masked: ``{"connections": [...]}``."""
        return self._get(CONNECTIONS_ROUTE)

    def add_connection(
        self, name: str, kind: str, fields: Mapping[str, str], password: str
    ) -> dict[str, Any]:
        """Add a connection (masked in the answer), confirmed by the vault password. Like
        :meth:`grant`, the values and the password go straight into the request."""
        body = _text_json(
            {"name": name, "kind": kind, "fields": dict(fields), "password": password}
        )
        del fields, password
        reply = self._exchange("POST", CONNECTIONS_ROUTE, body, GRANT_TIMEOUT)
        del body
        return self._answer(reply, requested=name)

    def remove_connection(self, name: str, password: str) -> dict[str, Any]:
        """Remove a connection for good, confirmed by the vault password."""
        body = _json({"password": password})
        del password
        reply = self._exchange("DELETE", _under(CONNECTIONS_ROUTE, name), body, GRANT_TIMEOUT)
        del body
        return self._answer(reply, requested=name)

    def bots(self) -> dict[str, Any]:
        """Every bot with its state: ``{"bots": [...]}``."""
        return self._get(BOTS_ROUTE)

    def bot(self, ref: str) -> dict[str, Any]:
        """One bot, by name or id."""
        return self._get(_under(BOTS_ROUTE, ref))

    def bot_action(self, ref: str, action: str) -> dict[str, Any]:
        """``start``, ``stop`` or ``restart`` a bot; the bot as it is afterwards."""
        if action not in BOT_ACTIONS:
            raise ValueError(
                f"A bot can be told to {', '.join(sorted(BOT_ACTIONS))}, not {action!r}."
            )
        return self._post(f"{_under(BOTS_ROUTE, ref)}/{action}", {}, requested=ref)

    def delete_bot(self, ref: str, password: str) -> dict[str, Any]:
        """Stop and delete a bot with its versions and state, confirmed by the password."""
        body = _json({"password": password})
        del password
        reply = self._exchange("DELETE", _under(BOTS_ROUTE, ref), body, GRANT_TIMEOUT)
        del body
        return self._answer(reply, requested=ref)

    def logs(
        self, ref: str, *, after: int = 0, limit: int = 1000, tail: int | None = None
    ) -> dict[str, Any]:
        """A page of a bot's log records after sequence number ``after`` (or its last
        ``tail``): ``{"records": [{"seq", "ts", "stream", "text", ...}], "next_after"}``."""
        query = (
            f"tail={int(tail)}" if tail is not None else f"after={int(after)}&limit={int(limit)}"
        )
        return self._get(f"{_under(BOTS_ROUTE, ref)}/logs?{query}", requested=ref)

    def plan(self, allow_packages: Sequence[str] = ()) -> dict[str, Any]:
        """What promoting this kernel's notebook (as last saved) would install, each package
        with the policy's verdict, and its parameters. Nothing is installed."""
        return self._post(PLAN_ROUTE, {"allow_packages": list(allow_packages)})

    def promote(
        self,
        name: str,
        *,
        mode: str = "once",
        interval: float | None = None,
        parameters: Mapping[str, Any] | None = None,
        connections: Sequence[str] = (),
        allow_packages: Sequence[str] = (),
        reuse_kernel: bool = False,
        start: bool = True,
        password: str | None = None,
    ) -> dict[str, Any]:
        """Promote this kernel's notebook (as last saved) to a bot: a job to follow with
        :meth:`job`. Connections need the vault password."""
        document: dict[str, Any] = {
            "name": name,
            "mode": mode,
            "parameters": dict(parameters or {}),
            "connections": list(connections),
            "allow_packages": list(allow_packages),
            "reuse_kernel": reuse_kernel,
            "start": start,
        }
        if interval is not None:
            document["interval"] = interval
        if password is not None:
            document["password"] = password
        body = _text_json(document)
        del password, document
        reply = self._exchange("POST", BOTS_ROUTE, body, GRANT_TIMEOUT)
        del body
        return self._answer(reply, requested=name)

    def job(self, job_id: str) -> dict[str, Any]:
        """A promote job: its state, its steps so far, then its bot or its error."""
        return self._get(_under(f"{BOTS_ROUTE}/jobs", job_id))

    def _get(self, route: str, *, requested: str = "") -> dict[str, Any]:
        return self._answer(self._exchange("GET", route, None, LOOKUP_TIMEOUT), requested=requested)

    def _post(self, route: str, document: dict[str, Any], *, requested: str = "") -> dict[str, Any]:
        """A request that carries no password (those serialise their own, see :meth:`grant`)."""
        reply = self._exchange("POST", route, _text_json(document), GRANT_TIMEOUT)
        return self._answer(reply, requested=requested)

    # ------------------------------------------------------------------ transport

    def _exchange(
        self, method: str, route: str, body: bytes | None, timeout: float
    ) -> _Reply | BrokerError:
        """One request; returns the reply or the failure, and never raises.

        ``body`` may hold a password: a frame that raised would keep it among its locals, so
        failures are returned and raised by the caller once the body is gone.
        """
        if self._target is None:
            return BrokerError("", BAD_ADDRESS, self._problem or "no broker address")
        target = self._target
        # Imported here, not at module level: bots import the SDK too and never need them.
        import http.client

        from ..kinds.tls import client_context

        try:
            if target.scheme == "https":
                conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                    target.host, target.port, timeout=timeout, context=client_context()
                )
            else:
                conn = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
            try:
                headers = {TOKEN_HEADER: self._token, "Accept": "application/json"}
                if body is not None:
                    headers["Content-Type"] = "application/json"
                conn.request(method, f"{target.prefix}/{route}", body=body, headers=headers)
                response = conn.getresponse()
                data = response.read(MAX_ANSWER_BYTES + 1)
                return _Reply(response.status, data)
            finally:
                conn.close()
        except Exception as error:  # every failure becomes an answer; see the docstring
            return BrokerError(
                "",
                UNREACHABLE,
                f"The Jupyter server that started this kernel did not answer at {self.url} "
                f"({type(error).__name__}). If that server was restarted or stopped, restart "
                "this kernel from JupyterLab so that it gets the running server's address.",
            )

    def _answer(self, reply: _Reply | BrokerError, *, requested: str) -> dict[str, Any]:
        """The JSON object of a successful reply; a :class:`BrokerError` for anything else.

        A successful reply may hold a connection: it is dropped before anything is raised.
        """
        if isinstance(reply, BrokerError):
            raise BrokerError(requested, reply.reason, reply.message, reply.status)
        status = reply.status
        if status == 204:  # a removal: nothing to say but that it is done
            return {}
        document = _json_object(reply.body)
        del reply
        if 200 <= status < 300 and document is not None:
            return document
        if 200 <= status < 300:
            raise BrokerError(
                requested,
                BAD_ANSWER,
                f"The kernel broker at {self.url} answered with something other than a JSON "
                "object; the Jupyter server may run another WatchDog Lab version than this "
                "kernel. Restart the kernel.",
                status,
            )
        message = document.get("message") if document else None
        reason = document.get("reason") if document else None
        if not isinstance(message, str) or not isinstance(reason, str):
            message = (
                f"The kernel broker at {self.url} refused with HTTP {status} and no readable "
                "explanation; see the Jupyter server's log."
            )
            reason = BAD_ANSWER
        raise BrokerError(requested, reason, message, status)

    def _decode_connection(self, answer: dict[str, Any], *, requested: str) -> Connection:
        """Decode the one connection of an answer; the answer is gone before any raise."""
        problem = None
        try:
            decoded = decode_connections(
                answer.pop("connection", None),
                origin="the kernel broker's answer",
            )
        except InjectionError:
            # Its message speaks of bots and injected variables; this is a kernel.
            problem = (
                "The kernel broker's answer could not be read as a connection; the Jupyter "
                "server may run another WatchDog Lab version than this kernel. Restart the kernel."
            )
            decoded = []
        del answer
        if problem is None and len(decoded) != 1:
            problem = f"The kernel broker's answer holds {len(decoded)} connections, not one."
        if problem is not None:
            del decoded
            raise BrokerError(requested, BAD_ANSWER, problem)
        return decoded[0]


class BrokerSource:
    """The :class:`~.sources.Source` of an interactive kernel: every lookup asks the broker.

    Unlike other sources, :meth:`get` raises instead of returning ``None`` when the broker
    refuses: the broker is the last source of an interactive kernel, and its refusal (not
    granted, vault locked) says what to do far better than "not available" would.
    """

    def __init__(self, client: BrokerClient) -> None:
        self.client = client

    def __repr__(self) -> str:
        return f"BrokerSource({self.client.url!r})"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> BrokerSource | None:
        client = BrokerClient.from_environ(environ)
        return None if client is None else cls(client)

    def get(self, key: str) -> Connection | None:
        return self.client.connection(key)

    def names(self) -> list[str]:
        """Names granted to this kernel; empty when the broker cannot say (never raises:
        the registry calls this while building the message of another error)."""
        try:
            grants = self.client.grants().get("grants", [])
        except BrokerError:
            return []
        return [g["connection"] for g in grants if isinstance(g, dict) and g.get("connection")]

    def preload(self) -> None:
        """Nothing to prepare: connections are fetched when asked for, never kept."""


def _parse(url: str) -> tuple[_Target | None, str | None]:
    """Where the broker is, or why that address cannot be used (loopback HTTP(S) only)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None, f"The kernel broker address in {BROKER_URL_VAR} is not a URL."
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        return None, f"The kernel broker address in {BROKER_URL_VAR} is not an http(s) URL."
    if not _is_loopback(host):
        return None, (
            f"The kernel broker address in {BROKER_URL_VAR} is not a loopback address; the "
            "kernel token is only ever sent to this machine's own Jupyter server."
        )
    default_port = 443 if parts.scheme == "https" else 80
    return _Target(parts.scheme, host, port or default_port, parts.path.rstrip("/")), None


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _under(route: str, name: str) -> str:
    """``route/name`` with ``name`` escaped whole: a name may hold ``/``, ``?`` or ``..``."""
    # Imported here: urllib.parse costs bots (which import the SDK) 3 ms they never need.
    from urllib.parse import quote

    return f"{route}/{quote(name, safe='')}"


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode("utf-8")


def _text_json(document: dict[str, Any]) -> bytes:
    """JSON as UTF-8 for bodies of text in any script (a cell, a traceback): a ``\\u`` escape
    per character would make them six times larger. A lone surrogate, which UTF-8 cannot
    carry, becomes ``?``."""
    return json.dumps(document, ensure_ascii=False).encode("utf-8", "replace")


def _json_object(body: bytes) -> dict[str, Any] | None:
    if len(body) > MAX_ANSWER_BYTES:
        return None
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return document if isinstance(document, dict) else None
