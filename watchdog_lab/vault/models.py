"""Request and response models of the vault's API, shared by every face (REST, CLI, magics).

Secret inputs are ``SecretStr`` so that a model that ends up in a log or a traceback prints
``'**********'`` rather than a key. Responses only ever carry masked values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import NoReturn

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from ..kinds import Visibility, mask


class VaultState(str, Enum):
    ABSENT = "absent"
    LOCKED = "locked"
    UNLOCKED = "unlocked"

    def __str__(self) -> str:
        return self.value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CreateConnection(_Strict):
    name: str
    kind: str
    fields: dict[str, SecretStr] = Field(default_factory=dict)

    def plain_fields(self) -> dict[str, str]:
        return {k: v.get_secret_value() for k, v in self.fields.items()}


class UpdateConnection(_Strict):
    """New values for some fields; with ``replace`` the given fields become the whole set."""

    fields: dict[str, SecretStr] = Field(default_factory=dict)
    replace: bool = False

    def plain_fields(self) -> dict[str, str]:
        return {k: v.get_secret_value() for k, v in self.fields.items()}


class RenameConnection(_Strict):
    new_name: str


class DescribeConnection(_Strict):
    id: str
    name: str | None
    kind: str | None
    fields: dict[str, str] = Field(default_factory=dict, description="masked values only")
    created_at: float | None = None
    updated_at: float | None = None
    status: str = Field("ok", description="'ok', or 'corrupted' when the record fails to decrypt")
    error: str | None = None


class ListConnectionsResponse(_Strict):
    connections: list[DescribeConnection]


class DescribeKindField(_Strict):
    """One field of a connection kind, as a form needs it (never a value)."""

    name: str
    visibility: Visibility = Field(description="'public', 'hint' (masked) or 'secret'")
    required: bool
    choices: list[str] = Field(default_factory=list)
    default: str | None = None
    description: str = ""
    from_file: bool = Field(False, description="the value is usually read from a file (a PEM)")


class DescribeKind(_Strict):
    kind: str = Field(description="the kind to send, or its pattern (ccxt:<exchange id>)")
    description: str
    open: bool = Field(description="any field names are accepted (generic)")
    family: bool = Field(description="a family of kinds named <kind>:<variant>")
    fields: list[DescribeKindField]


class ListKindsResponse(_Strict):
    kinds: list[DescribeKind]


class DescribeVault(_Strict):
    state: VaultState
    totp_enabled: bool = False
    path: str


class AuditEvent(_Strict):
    seq: int
    ts: float
    event: str
    connection_id: str | None = None
    note: str | None = None
    detail: dict[str, object] | None = None


class TotpEnrolment(_Strict):
    """Returned once when two-factor enrolment starts; the secret is shown to the user only."""

    secret: SecretStr
    provisioning_uri: SecretStr


@dataclass(frozen=True, repr=False)
class ConnectionSecrets:
    """A decrypted connection, for the code paths that hand it to a bot or the SDK.

    Deliberately not a pydantic model: it never crosses a face, and its ``repr`` is masked.
    """

    id: str
    name: str
    kind: str
    fields: dict[str, str]
    visibility: dict[str, Visibility] = field(default_factory=dict)

    def masked(self) -> dict[str, str]:
        return {k: mask(v, self.visibility.get(k, "secret")) for k, v in self.fields.items()}

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.masked().items())
        return f"ConnectionSecrets(name={self.name!r}, kind={self.kind!r}, {shown})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("Decrypted connections cannot be pickled.")
