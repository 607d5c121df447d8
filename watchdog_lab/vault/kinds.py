"""Connection names and kinds: what a connection may be called and which fields each kind holds.

Names are restricted to printable ASCII letters, digits, space and ``_ . -`` so that two names
that look alike are alike (no homoglyphs, no control characters, no path separators), and they
are unique case-insensitively.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from .errors import InvalidConnection, InvalidName

Visibility = Literal["public", "hint", "secret"]

NAME_MAX = 64
FIELD_NAME_MAX = 64
FIELD_VALUE_MAX = 64 * 1024
FIELDS_MAX = 32
HINT_MIN_LENGTH = 12

_NAME_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9 _.\-]*[A-Za-z0-9_.\-])?")
_FIELD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CCXT_ID_RE = re.compile(r"[a-z][a-z0-9_]{1,39}")

# ccxt's `requiredCredentials` keys: the credential names any ccxt exchange may ask for.
CCXT_CREDENTIALS: dict[str, Visibility] = {
    "apiKey": "hint",
    "secret": "secret",
    "uid": "hint",
    "accountId": "hint",
    "login": "hint",
    "password": "secret",
    "twofa": "secret",
    "privateKey": "secret",
    "walletAddress": "public",
    "token": "secret",
}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    visibility: Visibility = "secret"
    required: bool = True
    choices: tuple[str, ...] = ()
    default: str | None = None


@dataclass(frozen=True)
class KindSpec:
    """A kind's fields; ``open`` kinds (generic) accept any well-formed field name."""

    name: str
    fields: tuple[FieldSpec, ...] = field(default_factory=tuple)
    open: bool = False
    description: str = ""

    def spec_for(self, field_name: str) -> FieldSpec | None:
        for spec in self.fields:
            if spec.name == field_name:
                return spec
        return None

    def visibility(self, field_name: str) -> Visibility:
        spec = self.spec_for(field_name)
        return spec.visibility if spec else "secret"


KALSHI = KindSpec(
    "kalshi",
    (
        FieldSpec("api_key_id", "hint"),
        FieldSpec("private_key_pem", "secret"),
        FieldSpec("environment", "public", choices=("demo", "prod"), default="demo"),
    ),
    description="Kalshi: API key id + RSA private key (PEM); environment demo or prod",
)
ANTHROPIC = KindSpec(
    "anthropic", (FieldSpec("api_key", "secret"),), description="Anthropic API key (for AI Fix)"
)
GENERIC = KindSpec("generic", open=True, description="any named secret fields")

KINDS = {spec.name: spec for spec in (KALSHI, ANTHROPIC, GENERIC)}


def validate_name(name: object, what: str = "connection") -> str:
    """Return the name unchanged if it is acceptable, else raise :class:`InvalidName`.

    Bots are named by the same rule (``what="bot"``): names end up in paths, logs and UIs.
    """
    if not isinstance(name, str):
        raise InvalidName(repr(name), "a name must be text", what)
    if not 1 <= len(name) <= NAME_MAX:
        raise InvalidName(name, f"use 1 to {NAME_MAX} characters", what)
    if not _NAME_RE.fullmatch(name):
        raise InvalidName(
            name,
            "use letters, digits, space, '_', '.' and '-' only (ASCII), starting with a letter "
            "or digit and not ending with a space",
            what,
        )
    return name


def name_key(name: str) -> str:
    """The case-insensitive identity of a name (what uniqueness is checked on)."""
    return name.casefold()


def resolve_kind(kind: object) -> KindSpec:
    if not isinstance(kind, str):
        raise InvalidConnection("A connection kind must be text.")
    if kind in KINDS:
        return KINDS[kind]
    if kind.startswith("ccxt:"):
        exchange = kind[5:]
        if not _CCXT_ID_RE.fullmatch(exchange):
            raise InvalidConnection(
                f"Invalid ccxt exchange id {exchange[:40]!r}: use the lowercase ccxt id, e.g. "
                "'ccxt:binance'."
            )
        return KindSpec(
            kind,
            tuple(FieldSpec(n, v, required=False) for n, v in CCXT_CREDENTIALS.items()),
            description=f"ccxt exchange {exchange}",
        )
    known = ", ".join([*KINDS, "ccxt:<exchange id>"])
    raise InvalidConnection(f"Unknown connection kind {kind[:40]!r}. Known kinds: {known}.")


def validate_fields(spec: KindSpec, fields: Mapping[str, str]) -> dict[str, str]:
    """Check ``fields`` against ``spec`` and return them with defaults filled in."""
    if not isinstance(fields, Mapping):
        raise InvalidConnection("Connection fields must be a mapping of field name to text.")
    if len(fields) > FIELDS_MAX:
        raise InvalidConnection(f"A connection holds at most {FIELDS_MAX} fields.")
    out: dict[str, str] = {}
    for name, value in fields.items():
        if not isinstance(name, str) or not _FIELD_RE.fullmatch(name) or len(name) > FIELD_NAME_MAX:
            raise InvalidConnection(
                f"Invalid field name {str(name)[:40]!r}: use letters, digits and '_' "
                f"(at most {FIELD_NAME_MAX}), not starting with a digit."
            )
        if not spec.open and spec.spec_for(name) is None:
            allowed = ", ".join(s.name for s in spec.fields)
            raise InvalidConnection(
                f"Kind {spec.name!r} has no field {name!r}. Its fields: {allowed}."
            )
        if not isinstance(value, str):
            raise InvalidConnection(f"Field {name!r} must be text.")
        if "\x00" in value:
            raise InvalidConnection(f"Field {name!r} contains a NUL character.")
        if len(value) > FIELD_VALUE_MAX:
            raise InvalidConnection(f"Field {name!r} is longer than {FIELD_VALUE_MAX} characters.")
        if value == "":
            continue
        fs = spec.spec_for(name)
        if fs and fs.choices and value not in fs.choices:
            raise InvalidConnection(
                f"Field {name!r} must be one of {', '.join(fs.choices)}; got {value[:20]!r}."
            )
        out[name] = value
    for fs in spec.fields:
        if fs.name not in out and fs.default is not None:
            out[fs.name] = fs.default
    missing = [fs.name for fs in spec.fields if fs.required and fs.name not in out]
    if missing:
        raise InvalidConnection(f"Kind {spec.name!r} needs field(s): {', '.join(missing)}.")
    if not out:
        raise InvalidConnection("A connection needs at least one non-empty field.")
    if spec.name == "kalshi":
        out["private_key_pem"] = _check_rsa_private_key(out["private_key_pem"])
    return out


def _check_rsa_private_key(pem: str) -> str:
    """Refuse a Kalshi key that would only fail later, at the exchange, inside a running bot."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    text = pem.replace("\r\n", "\n").strip() + "\n"
    try:
        key = load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise InvalidConnection(
            "Field 'private_key_pem' is not an unencrypted PEM private key (paste the whole "
            "file Kalshi gave you, BEGIN and END lines included)."
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InvalidConnection("Field 'private_key_pem' must be an RSA private key for Kalshi.")
    return text


def mask(value: str, visibility: Visibility) -> str:
    """What a listing may show of a value: public in full, a 3-character hint, or nothing."""
    if visibility == "public":
        return value
    if visibility == "hint" and len(value) >= HINT_MIN_LENGTH:
        return value[:3] + "***"
    return "***"
