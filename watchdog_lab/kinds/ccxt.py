"""ccxt exchanges: ``ccxt:<exchange id>``, with the credential names ccxt itself uses.

One module covers every exchange ccxt supports: the family's member is the lowercase ccxt id
(``ccxt:binance``), and the fields are ccxt's ``requiredCredentials`` keys, all optional since
each exchange asks for a different subset.
"""

from __future__ import annotations

import re

from .base import FieldSpec, KindSpec, Visibility
from .errors import UnknownKind

FAMILY = "ccxt"
_EXCHANGE_ID_RE = re.compile(r"[a-z][a-z0-9_]{1,39}")
_SHOWN_MAX = 40

# ccxt's `requiredCredentials` keys: the credential names any ccxt exchange may ask for.
CREDENTIALS: dict[str, Visibility] = {
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


def exchange_kind(exchange: str) -> KindSpec:
    """The kind of one ccxt exchange, named by its ccxt id."""
    if not _EXCHANGE_ID_RE.fullmatch(exchange):
        raise UnknownKind(
            f"Invalid ccxt exchange id {exchange[:_SHOWN_MAX]!r}: use the lowercase ccxt id, "
            f"e.g. '{FAMILY}:binance'."
        )
    return KindSpec(f"{FAMILY}:{exchange}", FIELDS, description=f"ccxt exchange {exchange}")


FIELDS = tuple(FieldSpec(name, level, required=False) for name, level in CREDENTIALS.items())
KIND = KindSpec(
    FAMILY,
    FIELDS,
    description="any exchange ccxt supports, by its ccxt id (ccxt:binance, ccxt:kraken...)",
    usage=f"{FAMILY}:<exchange id>",
    variant=exchange_kind,
)
