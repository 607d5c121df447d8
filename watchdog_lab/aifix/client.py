"""The one call to the Messages API, through the ``anthropic`` SDK, and the reading of its reply.

The body is sent as the exact bytes the user previewed (the SDK's ``post`` with ``content``),
not re-serialised by the SDK: the hash the user approved is the hash of what goes on the wire.
The API key is handed to the SDK for this one request and travels only in its ``x-api-key``
header. The SDK's own debug log would print the request (body included): its loggers are held
at WARNING, and its OpenTelemetry tracing (which can record content) is off.
"""

from __future__ import annotations

import ast
import email.utils
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import (
    AIFixError,
    FixTimeout,
    KeyRefused,
    MalformedReply,
    NetworkUnreachable,
    RateLimited,
    RequestRefused,
    ServerError,
)
from .options import FixSettings
from .payload import TOOL_NAME

if TYPE_CHECKING:
    import anthropic

__all__ = ["MessagesClient", "Reply", "parse_reply", "quiet_sdk_logs"]

MESSAGES_PATH = "/v1/messages"
# Loggers that print requests or responses at DEBUG/INFO (the SDK's, and its HTTP stack's).
SDK_LOGGERS = ("anthropic", "httpx2", "httpcore2", "httpx", "httpcore")
_RETRIED_STATUSES = frozenset({408, 409, 429}) | frozenset(range(500, 600))


@dataclass(frozen=True)
class Reply:
    """The model's proposal as the tool call carried it, not yet judged."""

    fixed_source: str
    explanation: str
    input_tokens: int | None
    output_tokens: int | None


def quiet_sdk_logs() -> None:
    """Hold the SDK's loggers at WARNING, whatever ``ANTHROPIC_LOG`` or a log config set: at
    DEBUG the SDK logs each request's options, the body among them."""
    for name in SDK_LOGGERS:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)


class _Attempts:
    """SDK middleware (a plain callable, run once per attempt) that counts the attempts, and
    stops the retries when the API asks for a wait longer than ``longest_wait``: the SDK
    would sleep for as long as a ``retry-after`` says (an hour, if a proxy says so) with the
    face waiting; the user is told the wait instead."""

    def __init__(self, longest_wait: float) -> None:
        self.count = 0
        self.longest_wait = longest_wait

    def __call__(self, request: Any, call_next: Any) -> Any:
        self.count += 1
        response = call_next(request)
        http = response.http_response
        if http.status_code in _RETRIED_STATUSES:
            wait = retry_after(http.headers)
            if wait is not None and wait > self.longest_wait:
                http.headers["x-should-retry"] = "false"
        return response


class MessagesClient:
    """One SDK client for the life of an :class:`~.service.AIFix`, holding no key.

    Building an SDK client costs tens of milliseconds (its TLS context), so one is kept; the
    key is given per request to a copy that shares its connection pool and is dropped after
    that request, so no key outlives the request in this object (a locked vault leaves none
    behind). The SDK is imported on first use, not with the package: it takes seconds to
    import, and the CLI starts without it unless it sends a fix.
    """

    #: The kept client's key: never sent (every request's copy has the real key), but
    #: explicit, so the SDK does not pick up ``ANTHROPIC_API_KEY`` or a profile on its own.
    PLACEHOLDER_KEY = "no-key-outside-a-request"

    def __init__(self, settings: FixSettings) -> None:
        self.settings = settings
        self._sdk: anthropic.Anthropic | None = None
        self._lock = threading.Lock()

    def _client(self) -> anthropic.Anthropic:
        with self._lock:
            if self._sdk is None:
                import anthropic

                self._sdk = anthropic.Anthropic(
                    api_key=self.PLACEHOLDER_KEY,
                    base_url=self.settings.base_url or None,
                    max_retries=self.settings.max_retries,
                    timeout=self.settings.timeout,
                    open_telemetry={"traces": False, "propagation": False},
                )
            return self._sdk

    def ask(self, body: bytes, *, api_key: str, connection: str) -> Reply:
        """Send ``body`` to the Messages API and return the ``propose_fix`` call of its reply.

        Raises one :class:`~.errors.AIFixError` per failure a user can act on.
        """
        import anthropic
        from anthropic.types import Message

        base = self._client()
        quiet_sdk_logs()
        attempts = _Attempts(longest_wait=self.settings.timeout)
        client = base.with_options(api_key=api_key, middleware=[attempts])
        try:
            message = client.post(
                MESSAGES_PATH,
                cast_to=Message,
                content=body,
                options={"headers": {"Content-Type": "application/json"}},
            )
        except anthropic.APIError as exc:
            raise _error(
                exc, attempts.count, connection, self.settings, str(base.base_url)
            ) from None
        except ValueError as exc:  # a 2xx body that is not JSON
            raise MalformedReply(f"not JSON: {type(exc).__name__}") from None
        return parse_reply(message)

    def close(self) -> None:
        with self._lock:
            if self._sdk is not None:
                self._sdk.close()
                self._sdk = None


def _error(
    exc: anthropic.APIError, attempts: int, connection: str, settings: FixSettings, url: str
) -> AIFixError:
    """The user's version of an SDK error. The SDK's own message is not reused: it may quote
    the API's error body, which may quote the request."""
    import anthropic

    if isinstance(exc, anthropic.APITimeoutError):
        return FixTimeout(settings.timeout, max(1, attempts))
    if isinstance(exc, anthropic.APIConnectionError):
        return NetworkUnreachable(_host(url))
    if isinstance(exc, anthropic.APIStatusError):
        status = exc.status_code
        if status in (401, 403):
            return KeyRefused(status, connection)
        if status == 429:
            return RateLimited(retry_after(exc.response.headers), max(1, attempts))
        if status >= 500:
            return ServerError(status, max(1, attempts))
        return RequestRefused(status, _error_type(exc.body))
    return MalformedReply(type(exc).__name__)


def parse_reply(message: object) -> Reply:
    """The ``propose_fix`` tool call of ``message``; :class:`~.errors.MalformedReply` if there
    is none, or if its input is not the two strings the schema asks for."""
    content = getattr(message, "content", None)
    if not isinstance(content, list):
        raise MalformedReply("no content")
    if getattr(message, "stop_reason", None) == "max_tokens":
        raise MalformedReply("the reply was cut off at its length limit")
    calls = [
        block
        for block in content
        if getattr(block, "type", None) == "tool_use" and getattr(block, "name", None) == TOOL_NAME
    ]
    if len(calls) != 1:
        raise MalformedReply(f"{len(calls)} {TOOL_NAME} calls instead of one")
    arguments = getattr(calls[0], "input", None)
    if not isinstance(arguments, Mapping):
        raise MalformedReply("the tool call has no input object")
    fixed, explanation = arguments.get("fixed_source"), arguments.get("explanation")
    if not isinstance(fixed, str) or not isinstance(explanation, str):
        raise MalformedReply("fixed_source and explanation must both be text")
    usage = getattr(message, "usage", None)
    return Reply(
        fixed_source=fixed,
        explanation=explanation,
        input_tokens=_count(getattr(usage, "input_tokens", None)),
        output_tokens=_count(getattr(usage, "output_tokens", None)),
    )


def parses(source: str, language: str) -> bool:
    """Whether a proposed cell is at least valid code (Python only; other languages pass).

    IPython lines (``%magic``, ``!shell``) are blanked first, as IPython would transform them.
    """
    if language.lower() != "python":
        return True
    if source.lstrip().startswith("%%"):
        return True
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    try:
        ast.parse("\n".join(lines))
    except (SyntaxError, ValueError):
        return False
    return True


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the API asks to wait (``retry-after-ms``, ``retry-after`` as seconds or a
    date), or None."""
    try:
        return max(0.0, float(headers["retry-after-ms"]) / 1000)
    except (KeyError, TypeError, ValueError):
        pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    return max(0.0, float(email.utils.mktime_tz(parsed) - time.time()))


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _error_type(body: object) -> str:
    """The API's error type (``not_found_error``...), never its message."""
    if isinstance(body, Mapping):
        error = body.get("error", body)
        kind = error.get("type") if isinstance(error, Mapping) else None
        if isinstance(kind, str) and kind.replace("_", "").isalnum() and len(kind) <= 64:
            return kind
    return "unknown"


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
