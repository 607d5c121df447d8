"""Request and response models of the REST routes that the vault's own models do not cover.

Connections reuse :mod:`watchdog_lab.vault.models` (``CreateConnection``, ``UpdateConnection``,
``RenameConnection``, ``DescribeConnection``), shared with the CLI and the magics. What is here
is specific to HTTP: bodies of the vault's lifecycle routes, the vault status the sidebar polls,
and the audit page with its cursor.

Every password, code and TOTP secret is a ``SecretStr``: a model that ends up in a log line or a
traceback prints ``'**********'``. Every request model forbids unknown fields.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, SecretStr

from ..vault.models import AuditEvent, VaultState


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
    """Starts two-factor enrolment; no fields."""


class ConfirmTotp(_Request):
    """The secret shown at enrolment (sent back: the server keeps nothing until confirmed)."""

    secret: SecretStr
    code: SecretStr


class DeleteTotp(_Request):
    code: SecretStr


class DeleteConnection(_Request):
    """No fields."""


class DescribeVaultStatus(_Response):
    """What the sidebar shows. Unlike the vault's ``DescribeVault`` it leaves out the file path:
    the browser has no use for the server's folders."""

    state: VaultState
    totp_enabled: bool


class DescribeTotpEnrolment(_Response):
    """The only response that carries a secret: the seed the user scans, shown exactly once."""

    secret: str
    provisioning_uri: str


class ListAuditResponse(_Response):
    """Newest first; ask again with ``before=next_before`` for older events (``None``: no more)."""

    events: list[AuditEvent]
    next_before: int | None
