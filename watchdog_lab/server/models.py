"""Request and response models of the REST routes that the vault's own models do not cover.

Connections reuse :mod:`watchdog_lab.vault.models` (``CreateConnection``, ``UpdateConnection``,
``RenameConnection``, ``DescribeConnection``), shared with the CLI and the magics. What is here
is specific to HTTP: bodies of the vault's lifecycle routes, the vault status the sidebar polls,
and the audit page with its cursor.

Every password, code and TOTP secret is a ``SecretStr``: a model that ends up in a log line or a
traceback prints ``'**********'``. Every request model forbids unknown fields.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from ..aifix.models import (
    MAX_INPUT_CHARS,
    SHA256_PATTERN,
    CellError,
    FailingCell,
)
from ..bots.models import PromoteBot, RollbackBot, UpdateGrants
from ..vault.models import AuditEvent, UpdateConnection, VaultState

CoreT = TypeVar("CoreT", bound=BaseModel)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Response(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CreateVault(_Request):
    password: SecretStr


class UnlockVault(_Request):
    password: SecretStr
    totp_code: SecretStr | None = None

    def code(self) -> str | None:
        return self.totp_code.get_secret_value() if self.totp_code is not None else None


class LockVault(_Request):
    """No fields: the body may be empty or ``{}``; anything else is refused like elsewhere."""


class UpdateVaultPassword(_Request):
    old_password: SecretStr
    new_password: SecretStr


class CreateTotpEnrolment(_Request):
    """Starts two-factor enrolment. The password: whoever enrols a seed they hold locks the
    owner out, and the Jupyter token alone is readable by kernel code."""

    password: SecretStr | None = None


class ConfirmTotp(_Request):
    """The secret shown at enrolment (sent back: the server keeps nothing until confirmed),
    a code from the authenticator, and the vault password."""

    password: SecretStr | None = None
    secret: SecretStr
    code: SecretStr


class DeleteTotp(_Request):
    password: SecretStr | None = None
    code: SecretStr


class DeleteConnection(_Request):
    """The vault password: removing a connection cannot be undone."""

    password: SecretStr | None = None


class _Consented(BaseModel):
    """A core request plus the vault password, the user's consent for this one request (the
    Jupyter token alone is readable by kernel code). The route checks the password, then hands
    the core only :meth:`without_password`: it is never queued, stored or logged."""

    password: SecretStr | None = None

    def without_password(self, core: type[CoreT]) -> CoreT:
        return core.model_validate(self.model_dump(exclude={"password"}))


class UpdateConnectionRequest(UpdateConnection, _Consented):
    """``PATCH connections/{name}``: a changed key, secret or environment changes what every
    bot and kernel granted this connection sends, and where."""


class PromoteBotRequest(PromoteBot, _Consented):
    """``POST bots``: a promote; the password is needed when it grants connections (the
    bot's code will hold those keys)."""


class CreatePromotePlan(_Request):
    """``POST promote/plan``: the notebook a promote would read (its path as the file browser
    shows it) and the names the user allows despite the typosquat check (``allow_packages``
    of the promote that follows). No password: nothing is granted, written or installed."""

    notebook: str = Field(max_length=4096)
    allow_packages: list[str] = Field(default_factory=list, max_length=100)


class UpdateBotGrants(UpdateGrants, _Consented):
    """``PUT bots/{ref}/grants``: the password is needed unless the list is empty (taking
    every connection away needs no consent)."""


class RollbackBotRequest(RollbackBot, _Consented):
    """``POST bots/{ref}/rollback``: the password is needed when the bot has connections (the
    version switched to would run with its keys)."""


class DescribeVaultStatus(_Response):
    """What the sidebar shows. Unlike the vault's ``DescribeVault`` it leaves out the file path:
    the browser has no use for the server's folders."""

    state: VaultState
    totp_enabled: bool
    locks_in_seconds: float | None = Field(
        None,
        description="seconds until the auto-lock drops the key if the vault is not used; "
        "null when the vault is not unlocked or the auto-lock is off",
    )


class DescribeSandbox(_Response):
    """The confinement this server gives code, for the sidebar: code in every kernel
    is untrusted, and the user must see when it is not confined.

    ``kernels``/``bots`` are the levels as ``doctor`` words them; the booleans say whether that
    level confines at all, so the UI picks its warning style without parsing the words.
    """

    kernels: str
    kernels_confined: bool
    bots: str
    bots_confined: bool


class DescribeTotpEnrolment(_Response):
    """The only response that carries a secret: the seed the user scans, shown exactly once."""

    secret: str
    provisioning_uri: str


class ListAuditResponse(_Response):
    """Newest first; ask again with ``before=next_before`` for older events (``None``: no more)."""

    events: list[AuditEvent]
    next_before: int | None


class DescribeKernelUse(_Response):
    """A running kernel holding a grant; ``path`` is its session's notebook, a label only."""

    kernel_id: str
    path: str | None


class DescribeConnectionUsage(_Response):
    """Who may use one connection: names and paths only, never a value."""

    connection_id: str
    connection: str
    bots: list[str] = Field(description="names of the bots granted this connection")
    kernels: list[DescribeKernelUse] = Field(description="running kernels granted it")
    remembered: list[str] = Field(
        description="notebooks that remember a grant of it (offered to their next kernel)"
    )


class ListConnectionUsage(_Response):
    """Every readable connection, in the vault's order, with whoever may use it."""

    usage: list[DescribeConnectionUsage]


# ---------------------------------------------------------------------------- AI Fix

#: Longest connection name a request may name (the vault's names are far shorter).
MAX_CONNECTION_NAME = 256


class CreateCellFixPreview(CellError):
    """``POST ai-fix/preview``: a notebook cell that raised, as the front end saw it.

    The versions of the packages it imports are read from the server's own environment, not
    taken from the request: the browser does not know them, and a kernel may not be asked.
    """

    path: str = Field("", max_length=4096, description="the notebook's path, for the audit")
    cell_index: int | None = Field(None, ge=0)

    def failing_cell(self, versions: dict[str, str]) -> FailingCell:
        return self.notebook_cell(self.path, versions=versions, cell_index=self.cell_index)


class CreateCellFix(CreateCellFixPreview, _Consented):
    """``POST ai-fix``: the same cell, the SHA-256 of the preview the user approved, and the
    vault password: sending a payload to a third party is the user's act, and kernel code can
    read the Jupyter token."""

    sha256: str = Field(pattern=SHA256_PATTERN)
    connection: str | None = Field(None, max_length=MAX_CONNECTION_NAME)


class CreateBotFix(_Request, _Consented):
    """``POST bots/{ref}/ai-fix``: send the bot's failing cell, as previewed (``sha256``)."""

    sha256: str = Field(pattern=SHA256_PATTERN)
    connection: str | None = Field(None, max_length=MAX_CONNECTION_NAME)


class CreateBotFixVersion(_Request, _Consented):
    """``POST bots/{ref}/ai-fix/apply``: publish the failing cell's new source as the next
    notebook version. The password is needed when the bot has connections: the new code runs
    with their keys."""

    fixed_source: str = Field(max_length=MAX_INPUT_CHARS)
    expected_version: int = Field(ge=1, description="the version the fix was made for")
    payload_sha256: str | None = Field(None, pattern=SHA256_PATTERN)
