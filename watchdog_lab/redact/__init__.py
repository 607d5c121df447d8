"""Known-value and pattern redaction for every text that leaves a process.

``get_redactor()`` is the process-wide :class:`Redactor`; the vault feeds it the decrypted
values, and logs (:func:`install_log_redaction`), standard streams (:class:`RedactingStream`),
saved notebooks, AI Fix payloads and error messages all go through it.

This package depends on nothing else of ``watchdog_lab``, so a bot can use it alone.
"""

from __future__ import annotations

from .errors import (
    InvalidPatternError,
    InvalidSecretError,
    RedactError,
    RedactorNotSerializableError,
)
from .logs import RedactingFormatter, install_log_redaction
from .matcher import Finding
from .patterns import DEFAULT_PATTERNS, Hit, Pattern, PemPrivateKeyPattern, RegexPattern
from .redactor import Redactor, get_redactor
from .stream import RedactingStream
from .variants import variants

__all__ = [
    "DEFAULT_PATTERNS",
    "Finding",
    "Hit",
    "InvalidPatternError",
    "InvalidSecretError",
    "Pattern",
    "PemPrivateKeyPattern",
    "RedactError",
    "RedactingFormatter",
    "RedactingStream",
    "Redactor",
    "RedactorNotSerializableError",
    "RegexPattern",
    "get_redactor",
    "install_log_redaction",
    "variants",
]
