"""What a connection kind can refuse, as plain ``ValueError`` classes.

This package runs in the server and, copied with the SDK, inside bots, so it cannot raise the
vault's or the SDK's own classes: each face turns these into its own (the vault into
``InvalidConnection``, the SDK into ``ConnectionConfigError``) with the same message. No message
ever holds a secret field's value.
"""

from __future__ import annotations

import ssl

__all__ = [
    "CredentialsError",
    "InvalidFields",
    "KindDefinitionError",
    "KindError",
    "MissingExtra",
    "PinMismatch",
    "TLSPolicyError",
    "UnknownKind",
]


class KindError(ValueError):
    """Base class: a kind name or a set of fields that a kind does not accept."""


class UnknownKind(KindError):
    """No kind of that name is registered (the message lists the known ones)."""


class InvalidFields(KindError):
    """The fields given for a connection do not fit its kind (missing, unknown, malformed)."""


class CredentialsError(ValueError):
    """A kind's client helper (request signing, a base URL) cannot work with the connection's
    fields as stored; the fix is to edit the connection, and the message says so."""


class KindDefinitionError(TypeError):
    """A kind module that breaks the registry's rules (no ``KIND``, a name taken twice): a
    programming error found when the kinds are first loaded, not a user's input."""


class MissingExtra(ImportError):
    """A helper needs an optional library that is not installed; the message names the extra
    (``pip install 'watchdog-lab[ccxt]'``) or the package to add to the bot's notebook."""


class TLSPolicyError(ssl.SSLError):
    """A connection the TLS policy refuses: verification or host-name checks turned off, a
    protocol below TLS 1.2, or pins where they cannot be checked. An ``SSLError``, so HTTP
    libraries report it as the TLS failure it is."""


class PinMismatch(TLSPolicyError):
    """The server's public key matches none of the connection's pins: either someone is in the
    middle, or the exchange rotated its key and the new pin was not added first."""
