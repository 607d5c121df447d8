"""What the REST API answers when something is refused: one status and one reason per failure.

Every route of the extension raises the core modules' own errors (vault, bots); the base handler
translates them here, so all routes answer the same failure with the same status, a message the
user can act on, and a stable machine-readable ``reason`` the front end can branch on.

Status choices, and why:

- Wrong password, wrong or missing two-factor code: **422**, not 401/403. JupyterLab's front end
  reads 403 as "the Jupyter session is gone, log in again"; a mistyped vault password must not
  look like that. The ``reason`` (``wrong_password``, ``totp_required``, ``invalid_totp_code``)
  tells the three apart.
- A route that could hand a secret to code or weaken the vault, called without the vault
  password in its body: **422** (``password_required``). The Jupyter token that authenticates
  every route is readable by kernel code, so the password typed for that request is the
  user's consent; a wrong one is ``wrong_password`` and counts towards the unlock throttle.
- Vault locked: **423 Locked** (``vault_locked``): the resource exists but needs unlocking first.
- AI Fix: what the Messages API refused or failed is **502** (``ai_key_refused``,
  ``ai_server_error``, ``ai_unreachable``, ``ai_malformed_reply``, ``ai_request_refused``)
  or **504** (``ai_timeout``), never 401/403; its rate limit is **429** (``ai_rate_limited``,
  with ``Retry-After`` when the API gave a wait); a preview that no longer matches is **409**
  (``ai_payload_changed``), as is a vault without an Anthropic connection
  (``ai_no_connection``); a payload over ``ai_max_payload_bytes`` is **413**.
- Too many unlock attempts: **429** with ``Retry-After`` in whole seconds.
- The vault's database held by another process past every wait: **503** ``vault_busy`` with
  ``Retry-After``.
- No vault yet: **409** (``vault_absent``), not 404: the route exists and the sidebar treats a
  404 as "server extension missing".
- Stored data that fails authentication (a corrupted record, a tampered header, a vault file
  from a newer version): **409** with the vault's own message. It is not bad input, and not a
  server bug either: it is the state of the data, and the message says how to recover.
- Malformed requests (not JSON, duplicate keys, bad query or id): **400**; a well-formed body
  that breaks the rules (unknown or missing fields, wrong types, invalid names, weak passwords):
  **422**; a body over the size limit: **413**.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from tornado import web

from ..aifix import errors as aifix_errors
from ..backup import errors as backup_errors
from ..bots import errors as bot_errors
from ..vault import errors as vault_errors
from . import broker_errors

#: Largest request body any route accepts; checked before the body is parsed.
MAX_BODY_BYTES = 1024 * 1024


class ApiError(web.HTTPError):
    """An HTTP refusal with a user-facing message and a stable ``reason`` code.

    The message must never hold a secret; the base handler still passes it through the server's
    redactor before it leaves.
    """

    status: int = 400
    reason_code: str = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        reason: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        code = status if status is not None else self.status
        # log_message is shown to the client; it is passed through logging's %-formatting
        # only when args are given, so a literal '%' in a message is safe.
        super().__init__(code, message)
        self.reason_code = reason or self.reason_code
        self.headers: dict[str, str] = dict(headers or {})

    @property
    def message(self) -> str:
        return self.log_message or ""


class BodyTooLarge(ApiError):
    status = 413
    reason_code = "body_too_large"

    def __init__(self, size: int) -> None:
        super().__init__(
            f"The request body is {size} bytes; WatchDog Lab accepts at most {MAX_BODY_BYTES} "
            "bytes per request."
        )


class InvalidJson(ApiError):
    status = 400
    reason_code = "invalid_json"


class InvalidBody(ApiError):
    """A JSON body whose shape does not fit the route's model."""

    status = 422
    reason_code = "invalid_body"


class InvalidQuery(ApiError):
    status = 400
    reason_code = "invalid_query"


class PasswordRequired(ApiError):
    """A request that needs the user's consent came without the vault password.

    Kernel code can read the Jupyter token (it sits in the runtime folder) and call any route
    with it; the vault password, typed for this one request, is what kernel code cannot produce.
    """

    status = 422
    reason_code = "password_required"

    def __init__(self, action: str) -> None:
        super().__init__(
            f"{action} needs the vault password in the request ('password'): code running in a "
            "kernel can use the Jupyter token, so only the password shows it is you."
        )


class InvalidPathValue(ApiError):
    status = 400
    reason_code = "invalid_path"


@dataclass(frozen=True)
class ErrorMapping:
    status: int
    reason: str


# The one table of the REST API's refusals, most specific first: the first class an error is an
# instance of wins (a test checks that no entry hides behind its base class).
_MAPPINGS: tuple[tuple[type[BaseException], ErrorMapping], ...] = (
    # The kernel broker's own refusals.
    (broker_errors.KernelTokenInvalid, ErrorMapping(403, "kernel_token")),
    (broker_errors.NotLoopback, ErrorMapping(403, "loopback_only")),
    (broker_errors.NotGranted, ErrorMapping(403, "not_granted")),
    (broker_errors.VaultLockedForKernel, ErrorMapping(423, "vault_locked")),
    (broker_errors.KernelNotFound, ErrorMapping(404, "kernel_not_found")),
    (broker_errors.GrantNotFound, ErrorMapping(404, "grant_not_found")),
    (broker_errors.NoNotebook, ErrorMapping(409, "no_notebook")),
    (broker_errors.PasswordMissing, ErrorMapping(422, "password_required")),
    # The vault.
    (vault_errors.VaultLocked, ErrorMapping(423, "vault_locked")),
    (vault_errors.Throttled, ErrorMapping(429, "throttled")),
    (vault_errors.WrongPassword, ErrorMapping(422, "wrong_password")),
    (vault_errors.TotpRequired, ErrorMapping(422, "totp_required")),
    (vault_errors.InvalidTotpCode, ErrorMapping(422, "invalid_totp_code")),
    (vault_errors.TotpAlreadyEnabled, ErrorMapping(409, "totp_already_enabled")),
    (vault_errors.TotpNotEnabled, ErrorMapping(409, "totp_not_enabled")),
    (vault_errors.VaultNotFound, ErrorMapping(409, "vault_absent")),
    (vault_errors.VaultExists, ErrorMapping(409, "vault_exists")),
    (vault_errors.WeakPassword, ErrorMapping(422, "weak_password")),
    (vault_errors.InvalidName, ErrorMapping(422, "invalid_name")),
    (vault_errors.InvalidConnection, ErrorMapping(422, "invalid_connection")),
    (vault_errors.ConnectionNotFound, ErrorMapping(404, "connection_not_found")),
    (vault_errors.DuplicateConnection, ErrorMapping(409, "duplicate_connection")),
    (vault_errors.CorruptedRecord, ErrorMapping(409, "corrupted_record")),
    (vault_errors.TamperedHeader, ErrorMapping(409, "vault_tampered")),
    (vault_errors.UnsupportedVault, ErrorMapping(409, "vault_unsupported")),
    (vault_errors.VaultBusy, ErrorMapping(503, "vault_busy")),
    (vault_errors.VaultError, ErrorMapping(400, "vault_error")),
    # Bots. What the packages would install is the user's to decide (422), not a server failure.
    (bot_errors.BotNotFound, ErrorMapping(404, "bot_not_found")),
    (bot_errors.DuplicateBot, ErrorMapping(409, "duplicate_bot")),
    (bot_errors.PackagesRefused, ErrorMapping(422, "packages_refused")),
    (bot_errors.BotSealBroken, ErrorMapping(409, "bot_seal_broken")),
    (bot_errors.NotebookError, ErrorMapping(422, "invalid_notebook")),
    (bot_errors.StartupCodeRefused, ErrorMapping(422, "startup_code_refused")),
    (bot_errors.PackageFileConflict, ErrorMapping(422, "package_file_conflict")),
    (bot_errors.EnvironmentBuildFailed, ErrorMapping(500, "environment_build_failed")),
    (bot_errors.BotStartFailed, ErrorMapping(500, "bot_start_failed")),
    (bot_errors.InvalidRunName, ErrorMapping(400, "invalid_run_name")),
    (bot_errors.RunNotFound, ErrorMapping(404, "run_not_found")),
    # Notebook versions. A fix for a version the bot has left, or a rollback to the version it
    # runs, is the bot's state disagreeing with the request (409), not bad input.
    (bot_errors.StaleVersion, ErrorMapping(409, "stale_version")),
    (bot_errors.CellNotFixable, ErrorMapping(422, "cell_not_fixable")),
    (bot_errors.PublishNotConfirmed, ErrorMapping(422, "password_required")),
    (bot_errors.VersionNotFound, ErrorMapping(404, "version_not_found")),
    (bot_errors.VersionError, ErrorMapping(409, "version_conflict")),
    (bot_errors.BotError, ErrorMapping(400, "bot_error")),
    # AI Fix. What the Messages API did is a failure upstream (502, 504 for a timeout), never
    # 401/403: JupyterLab reads those as "log in again". A rate limit keeps its 429 (with
    # Retry-After); what the user must change first (a connection, the preview) is 409/422.
    (aifix_errors.VaultLocked, ErrorMapping(423, "vault_locked")),
    (aifix_errors.AmbiguousConnection, ErrorMapping(422, "ai_connection_ambiguous")),
    (aifix_errors.NoConnection, ErrorMapping(409, "ai_no_connection")),
    (aifix_errors.NoRecordedFailure, ErrorMapping(404, "no_recorded_failure")),
    (aifix_errors.PayloadChanged, ErrorMapping(409, "ai_payload_changed")),
    (aifix_errors.PayloadTooLarge, ErrorMapping(413, "ai_payload_too_large")),
    (aifix_errors.RateLimited, ErrorMapping(429, "ai_rate_limited")),
    (aifix_errors.KeyRefused, ErrorMapping(502, "ai_key_refused")),
    (aifix_errors.RequestRefused, ErrorMapping(502, "ai_request_refused")),
    (aifix_errors.ServerError, ErrorMapping(502, "ai_server_error")),
    (aifix_errors.NetworkUnreachable, ErrorMapping(502, "ai_unreachable")),
    (aifix_errors.FixTimeout, ErrorMapping(504, "ai_timeout")),
    (aifix_errors.MalformedReply, ErrorMapping(502, "ai_malformed_reply")),
    (aifix_errors.NoFix, ErrorMapping(422, "ai_no_fix")),
    (aifix_errors.AIFixError, ErrorMapping(502, "ai_fix_failed")),
    # Backups. A snapshot needs the data key: while locked that is the vault's state, not bad
    # input (409, as the sidebar expects); a damaged snapshot is the data's state too.
    (backup_errors.InvalidBackupId, ErrorMapping(400, "invalid_backup_id")),
    (backup_errors.BackupNotFound, ErrorMapping(404, "backup_not_found")),
    (backup_errors.BackupNeedsUnlock, ErrorMapping(409, "backup_needs_unlock")),
    (backup_errors.BackupTooSoon, ErrorMapping(429, "backup_too_soon")),
    (backup_errors.NoVaultToBackUp, ErrorMapping(409, "vault_absent")),
    (backup_errors.BackupWrongPassword, ErrorMapping(422, "wrong_password")),
    (backup_errors.BackupFromAnotherVault, ErrorMapping(409, "backup_other_vault")),
    (backup_errors.BackupCorrupted, ErrorMapping(409, "backup_corrupted")),
    (backup_errors.BotsRunning, ErrorMapping(409, "bots_running")),
    (backup_errors.RestoreBusy, ErrorMapping(409, "restore_in_progress")),
    (backup_errors.RestoreTargetNotEmpty, ErrorMapping(409, "restore_target_not_empty")),
    (backup_errors.BackupError, ErrorMapping(400, "backup_error")),
)


def mappings() -> tuple[tuple[type[BaseException], ErrorMapping], ...]:
    """The table, in the order it is searched (for tests and the OpenAPI check)."""
    return _MAPPINGS


def to_api_error(error: BaseException) -> ApiError | None:
    """The HTTP refusal for a known failure, or ``None`` for an unexpected one (a 500).

    Only classes listed here reach the client with their own message: they are the core
    modules' user-facing errors, whose messages are written never to hold a secret value.
    """
    if isinstance(error, ApiError):
        return error
    for cls, mapping in _MAPPINGS:
        if isinstance(error, cls):
            headers = {}
            wait = _retry_after(error)
            if wait is not None:
                headers["Retry-After"] = str(max(1, math.ceil(wait)))
            return ApiError(
                str(error), status=mapping.status, reason=mapping.reason, headers=headers
            )
    return None


def _retry_after(error: BaseException) -> float | None:
    """The wait a refusal names: the unlock throttle's, or the one Anthropic's rate limit gave."""
    if isinstance(error, vault_errors.Throttled | vault_errors.VaultBusy):
        return error.retry_after
    if isinstance(error, aifix_errors.RateLimited | backup_errors.BackupTooSoon):
        return error.retry_after
    return None
