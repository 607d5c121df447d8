"""AI Fix: a failing cell, redacted, to Claude and back as a reviewed diff.

Faces call :class:`AIFix` (``preview`` then ``send``, or ``create`` with a
:class:`CreateFix`); its settings are the ``c.WatchdogLab.ai_*`` traits of
:class:`AIFixConfig`.
"""

from __future__ import annotations

from .config import AIFixConfig
from .errors import (
    AIFixError,
    AmbiguousConnection,
    FixTimeout,
    KeyRefused,
    MalformedReply,
    NetworkUnreachable,
    NoConnection,
    NoFix,
    NoRecordedFailure,
    PayloadChanged,
    PayloadTooLarge,
    RateLimited,
    RequestRefused,
    ServerError,
    VaultLocked,
)
from .imports import environment_versions, imported_modules
from .models import (
    CreateFix,
    DescribeFix,
    DescribeFixPayload,
    FailingCell,
    FixOutcome,
    FixTarget,
)
from .options import DEFAULT_MODEL, FixSettings
from .service import AIFix

__all__ = [
    "DEFAULT_MODEL",
    "AIFix",
    "AIFixConfig",
    "AIFixError",
    "AmbiguousConnection",
    "CreateFix",
    "DescribeFix",
    "DescribeFixPayload",
    "FailingCell",
    "FixOutcome",
    "FixSettings",
    "FixTarget",
    "FixTimeout",
    "KeyRefused",
    "MalformedReply",
    "NetworkUnreachable",
    "NoConnection",
    "NoFix",
    "NoRecordedFailure",
    "PayloadChanged",
    "PayloadTooLarge",
    "RateLimited",
    "RequestRefused",
    "ServerError",
    "VaultLocked",
    "environment_versions",
    "imported_modules",
]
