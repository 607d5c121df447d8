"""Errors raised by the redaction package.

Messages name the connection, field or rule involved and what to do about it, but never the
value of a secret: an error message is text that leaves the process too.
"""

from __future__ import annotations


class RedactError(Exception):
    """Base class for every error of the redaction package."""


class InvalidSecretError(RedactError, ValueError):
    """A secret was handed over in a shape the redactor cannot use."""


class InvalidPatternError(RedactError, ValueError):
    """A pattern definition is unusable (bad rule name, no trigger, ...)."""


class RedactorNotSerializableError(RedactError, TypeError):
    """Somebody tried to pickle or copy a redactor, which would copy the secrets it holds."""

    def __init__(self) -> None:
        super().__init__(
            "a Redactor holds secret values and cannot be pickled or copied; "
            "build a new Redactor from the vault in the other process instead"
        )
