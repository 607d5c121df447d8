"""REST routes under ``{base_url}watchdog-lab/``.

Handlers stay thin: authenticate, authorize, call the vault, serialise. Every response of the
extension, errors included, carries a Content-Security-Policy that forbids rendering or framing
it: these are JSON answers and must never become a page.
"""

from __future__ import annotations

import asyncio
import json
from http.client import responses
from typing import TYPE_CHECKING, Any, TypeVar

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from pydantic import BaseModel, SecretStr, ValidationError
from tornado import web

from ..bots.models import PARAMETER_NAME_RULE
from ..redact.notebook import redact_value
from .errors import (
    MAX_BODY_BYTES,
    ApiError,
    BodyTooLarge,
    InvalidBody,
    InvalidJson,
    InvalidQuery,
    PasswordRequired,
    to_api_error,
)

if TYPE_CHECKING:
    from ..redact import Redactor
    from ..vault import Vault
    from .app import WatchdogLab

ModelT = TypeVar("ModelT", bound=BaseModel)

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
    """Base of every WatchDog Lab route: strict CSP, one auth resource, JSON errors.

    Subclasses raise the core modules' errors (``VaultLocked``, ``BotNotFound``...) and let
    this class answer them (see :mod:`.errors` for the status table); they read bodies with
    :meth:`parse_body` and answer with :meth:`write_json`, which is why no route needs its own
    error handling, size limit or redaction.
    """

    auth_resource = AUTH_RESOURCE

    @property
    def content_security_policy(self) -> str:
        return CONTENT_SECURITY_POLICY

    @property
    def watchdog_app(self) -> WatchdogLab:
        """The extension app with its own attributes: only :class:`WatchdogLab` registers these
        handlers (jupyter_server types ``extensionapp`` as any extension)."""
        app: WatchdogLab = self.extensionapp  # type: ignore[assignment]  # see the docstring
        return app

    @property
    def vault(self) -> Vault:
        return self.watchdog_app.vault

    @property
    def redactor(self) -> Redactor:
        """The server-wide redactor every body and message goes through before it leaves."""
        return self.watchdog_app.redactor

    def set_default_headers(self) -> None:
        super().set_default_headers()
        # Answers describe the vault and its connections: no browser or proxy cache keeps them.
        self.set_header("Cache-Control", "no-store")

    # Like APIHandler.prepare, without JupyterHandler's private _redirect_to_login keyword.
    async def prepare(self) -> None:  # type: ignore[override]  # no _redirect_to_login
        """Authenticate first (jupyter_server), then refuse oversized bodies before any parse.

        Tornado has read the body already; the limit is about what a route will parse and
        hand to the vault, so one huge JSON document cannot pin the server's CPU.
        """
        await super().prepare()
        size = len(self.request.body or b"")
        if size > MAX_BODY_BYTES:
            raise BodyTooLarge(size)

    def touch_vault(self) -> None:
        """Record a vault use, which restarts the idle auto-lock countdown."""
        touch = getattr(self.extensionapp, "touch_vault", None)
        if callable(touch):
            touch()

    async def confirm_password(self, password: SecretStr | None, action: str) -> None:
        """The user's consent for this one request: the vault password, checked by the vault.

        Every route that could make a secret reachable to code (a grant to a kernel or a bot)
        or weaken the vault (two-factor, removing a connection) calls this first. The Jupyter
        token alone is not consent: kernel code can read it. The check is the vault's own
        (:meth:`~watchdog_lab.vault.Vault.verify_password`): rate limited and audited like an
        unlock, off the IOLoop (Argon2). ``action`` names the act in the refusal's message.
        """
        if password is None:
            raise PasswordRequired(action)
        await asyncio.to_thread(self.vault.verify_password, password.get_secret_value())

    # ------------------------------------------------------------------ requests

    def parse_body(self, model: type[ModelT], *, strict: bool = True) -> ModelT:
        """The request body validated as ``model``; an empty body counts as ``{}``.

        Refuses, each with its own 4xx: bodies that are not UTF-8 JSON (400), duplicate keys
        or non-finite numbers (400, which parsers disagree on), anything but an object at the
        top (422), and whatever ``model`` refuses (422). With ``strict`` nothing is coerced:
        ``"true"`` is not a boolean and ``1`` is not a string. The message names the fields
        and the kind of problem only: pydantic's own messages quote the input, which here may
        be a password or a key.
        """
        raw = self.request.body or b""
        if not raw.strip():
            raw = b"{}"
        data = _load_json(raw)
        if not isinstance(data, dict):
            raise InvalidBody(
                f"The request body must be a JSON object, not {_json_type_name(data)}."
            )
        try:
            return model.model_validate_json(raw, strict=strict)
        except ValidationError as exc:
            raise InvalidBody(validation_message(exc)) from None

    def query_int(
        self, name: str, default: int | None, *, minimum: int, maximum: int | None = None
    ) -> int | None:
        """An optional integer query argument within bounds, or a 400 saying what is wrong."""
        values = self.get_query_arguments(name)
        if not values:
            return default
        if len(values) > 1:
            raise InvalidQuery(f"Give the query argument {name!r} once.")
        text = values[0].strip()
        if not text.isascii() or not text.lstrip("-").isdigit() or len(text) > 19:
            raise InvalidQuery(f"The query argument {name!r} must be a whole number.")
        value = int(text)
        if value < minimum or (maximum is not None and value > maximum):
            upper = f" and at most {maximum}" if maximum is not None else ""
            raise InvalidQuery(f"The query argument {name!r} must be at least {minimum}{upper}.")
        return value

    # ----------------------------------------------------------------- responses

    def write_json(self, payload: dict[str, Any] | BaseModel, status: int = 200) -> None:
        """Answer ``payload`` as JSON, every string redacted and HTML-inert.

        Redaction here is a second line: routes only ever build masked models, but a value that
        slipped into one (an audit note, a log line) still leaves as ``[REDACTED:...]``.
        ``<``, ``>`` and ``&`` are sent as ``\\u`` escapes so that no body, even one quoting
        hostile input back, is markup to anything that sniffs it.
        """
        if isinstance(payload, BaseModel):
            payload = payload.model_dump(mode="json")
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(_dumps(redact_value(payload, self.redactor)))

    def _handle_request_exception(self, e: BaseException) -> None:
        """Turn the core modules' errors into their 4xx before tornado picks a status."""
        mapped = None if isinstance(e, web.HTTPError) else to_api_error(e)
        if mapped is None:
            super()._handle_request_exception(e)
            return
        try:
            raise mapped from e
        except ApiError:
            # tornado reads sys.exc_info() for logging and write_error: it must be the mapped one.
            super()._handle_request_exception(mapped)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """JSON body ``{"message", "reason"}``; never a traceback or an exception's text.

        Only :class:`tornado.web.HTTPError` messages are ours to show. Any other exception may
        carry values it should not (a request body, a decrypted field), so the client gets a
        fixed message and the details go to the server log only. ``reason`` is a stable
        snake_case code for WatchDog Lab's own refusals (see :mod:`.errors`) and the HTTP reason
        phrase for the server's generic ones (authentication, unknown routes).
        """
        exc_info = kwargs.get("exc_info")
        error = exc_info[1] if exc_info else None
        reason = responses.get(status_code, "Unknown HTTP Error")
        message = reason
        if isinstance(error, ApiError):
            message = error.message or reason
            reason = error.reason_code
            for header, value in error.headers.items():
                self.set_header(header, value)
        elif isinstance(error, web.HTTPError):
            message = error.log_message or reason
            reason = error.reason or reason
        elif error is not None:
            message = UNEXPECTED_ERROR_MESSAGE
        self.set_header("Content-Type", "application/json")
        self.finish(_dumps({"message": self._redact_text(message), "reason": reason}))

    def _redact_text(self, text: str) -> str:
        try:
            return self.redactor.redact(text)
        except Exception:  # an error page must never fail; the fixed text holds no value
            return UNEXPECTED_ERROR_MESSAGE


class NotFoundHandler(WatchdogHandler):
    """Any other path under the namespace: a JSON 404 with the extension's headers."""

    @web.authenticated
    @authorized
    def get(self, path: str) -> None:
        raise web.HTTPError(
            404, "WatchDog Lab has no such route. Reload JupyterLab if the server was upgraded."
        )

    post = put = patch = delete = get


def validation_message(error: ValidationError) -> str:
    """A user-facing summary of a pydantic refusal built from field paths and error kinds only.

    ``str(error)`` and each error's ``msg`` may quote the input (``input_value='...'``), which on
    these routes is a password, a key or a TOTP code; the locations and error types cannot.
    """
    problems = []
    for item in error.errors(include_url=False, include_input=False, include_context=False)[:5]:
        where = ".".join(_shown_loc(part) for part in item["loc"]) or "body"
        problems.append(f"{where!r} {_PROBLEMS.get(item['type'], 'has an invalid value')}")
    more = error.error_count() - len(problems)
    suffix = f" (and {more} more)" if more > 0 else ""
    return "Invalid request body: " + "; ".join(problems) + suffix + "."


_PROBLEMS = {
    "missing": "is required",
    "parameter_name": f"is not a usable parameter name ({PARAMETER_NAME_RULE})",
    "extra_forbidden": "is not an accepted field",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "dict_type": "must be a JSON object",
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "list_type": "must be a JSON array",
    "enum": "is not one of the accepted values",
    "literal_error": "is not one of the accepted values",
    "string_too_long": "is too long",
    "string_too_short": "is too short",
    "too_long": "has too many items",
    "too_short": "has too few items",
    "greater_than_equal": "is too small",
    "less_than_equal": "is too large",
    "none_required": "must be null",
}


def _shown_loc(part: str | int) -> str:
    """A location part as shown: a dict key there is client input, so it is kept short."""
    text = str(part)
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= 40 else text[:37] + "..."


def _load_json(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidJson("The request body is not UTF-8 text.") from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant)
    except InvalidJson:
        raise
    except RecursionError:
        raise InvalidJson("The request body nests too deeply.") from None
    except ValueError as exc:
        # JSONDecodeError's text names a position, never the document's content.
        detail = exc.msg if isinstance(exc, json.JSONDecodeError) else "not JSON"
        raise InvalidJson(f"The request body is not valid JSON ({detail}).") from None


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise InvalidJson(f"The request body repeats the key {_shown_loc(key)!r}.")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise InvalidJson(f"The request body holds {name}, which is not a JSON number.")


def _json_type_name(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


_HTML_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def _dumps(payload: Any) -> str:
    """JSON with ``<``, ``>`` and ``&`` escaped (valid JSON; the same value once parsed)."""
    return json.dumps(payload).translate(_HTML_SAFE)
