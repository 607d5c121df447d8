"""The encrypted vault: connections sealed under a password-derived key, in one SQLite file."""

from __future__ import annotations

from .crypto import KdfParams
from .errors import (
    ConnectionNotFound,
    CorruptedRecord,
    DuplicateConnection,
    InvalidConnection,
    InvalidName,
    InvalidTotpCode,
    TamperedHeader,
    Throttled,
    TotpAlreadyEnabled,
    TotpNotEnabled,
    TotpRequired,
    UnsupportedVault,
    VaultError,
    VaultExists,
    VaultLocked,
    VaultNotFound,
    WeakPassword,
    WrongPassword,
)
from .kinds import KINDS, resolve_kind
from .manager import VAULT_FILE, Vault
from .models import (
    AuditEvent,
    ConnectionSecrets,
    CreateConnection,
    DescribeConnection,
    DescribeVault,
    ListConnectionsResponse,
    RenameConnection,
    TotpEnrolment,
    UpdateConnection,
    VaultState,
)
from .ratelimit import RateLimitPolicy

__all__ = [
    "KINDS",
    "VAULT_FILE",
    "AuditEvent",
    "ConnectionNotFound",
    "ConnectionSecrets",
    "CorruptedRecord",
    "CreateConnection",
    "DescribeConnection",
    "DescribeVault",
    "DuplicateConnection",
    "InvalidConnection",
    "InvalidName",
    "InvalidTotpCode",
    "KdfParams",
    "ListConnectionsResponse",
    "RateLimitPolicy",
    "RenameConnection",
    "TamperedHeader",
    "Throttled",
    "TotpAlreadyEnabled",
    "TotpEnrolment",
    "TotpNotEnabled",
    "TotpRequired",
    "UnsupportedVault",
    "UpdateConnection",
    "Vault",
    "VaultError",
    "VaultExists",
    "VaultLocked",
    "VaultNotFound",
    "VaultState",
    "WeakPassword",
    "WrongPassword",
    "resolve_kind",
]
