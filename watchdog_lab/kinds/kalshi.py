"""Kalshi: an API key id, an RSA private key (PEM) and the environment (demo or prod).

The vault refuses a key that does not parse as an RSA private key, so it fails when the user
types it rather than inside a running bot. Connections of this kind sign their own requests
(``conn.sign_request(method, path)``) and know their REST base URL (``conn.base_url``), so a
bot never handles the private key itself.

Kalshi authenticates each request with three headers; the signature is RSA-PSS (SHA-256, MGF1
SHA-256, salt length = digest length) over ``timestamp_ms + METHOD + path``, where the path is
the full URL path without its query string. ``cryptography`` is imported on first use so that
bots that never sign do not pay for it. Nothing here binds the PEM text to a local variable: a
frame that raised would otherwise show it in a traceback that captures locals.
"""

from __future__ import annotations

import base64
import time
from typing import Any, Final
from urllib.parse import urlsplit

from .base import Credentials, FieldSpec, Helper, KindSpec
from .errors import CredentialsError, InvalidFields

API_KEY_ID_FIELD: Final = "api_key_id"
PRIVATE_KEY_FIELD: Final = "private_key_pem"
ENVIRONMENT_FIELD: Final = "environment"

DEMO_BASE_URL: Final = "https://demo-api.kalshi.co/trade-api/v2"
PROD_BASE_URL: Final = "https://api.elections.kalshi.com/trade-api/v2"
BASE_URLS: Final[dict[str, str]] = {
    "demo": DEMO_BASE_URL,
    "prod": PROD_BASE_URL,
    "production": PROD_BASE_URL,
}
# Kalshi signs the full path; a path given relative to the base URL gets this prefix.
API_PATH_PREFIX: Final = "/trade-api/"
REST_PATH_PREFIX: Final = "/trade-api/v2"

HEADER_KEY: Final = "KALSHI-ACCESS-KEY"
HEADER_TIMESTAMP: Final = "KALSHI-ACCESS-TIMESTAMP"
HEADER_SIGNATURE: Final = "KALSHI-ACCESS-SIGNATURE"

_KEY_CACHE_SLOT: Final = "kalshi_private_key"


# --- what the vault stores and checks -------------------------------------------------------


def check_fields(fields: dict[str, str]) -> dict[str, str]:
    """Refuse a key that would only fail later, at the exchange, inside a running bot."""
    return {**fields, PRIVATE_KEY_FIELD: _checked_rsa_pem(fields[PRIVATE_KEY_FIELD])}


def _checked_rsa_pem(pem: str) -> str:
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    text = pem.replace("\r\n", "\n").strip() + "\n"
    try:
        key = load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise InvalidFields(
            f"Field {PRIVATE_KEY_FIELD!r} is not an unencrypted PEM private key (paste the whole "
            "file Kalshi gave you, BEGIN and END lines included)."
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InvalidFields(f"Field {PRIVATE_KEY_FIELD!r} must be an RSA private key for Kalshi.")
    return text


# --- what a connection of this kind offers in a kernel or a bot -----------------------------


def base_url(conn: Credentials) -> str:
    """The REST base URL chosen by the connection's ``environment`` field (demo or prod)."""
    if ENVIRONMENT_FIELD not in conn:
        raise CredentialsError(
            f"Kalshi connection {conn.name!r} has no {ENVIRONMENT_FIELD!r} field; edit it in "
            f"WatchDog Lab and set it to one of: {', '.join(BASE_URLS)}."
        )
    url = BASE_URLS.get(conn[ENVIRONMENT_FIELD].strip().casefold())
    if url is None:
        raise CredentialsError(
            f"Kalshi connection {conn.name!r} has an unknown {ENVIRONMENT_FIELD!r}; edit it in "
            f"WatchDog Lab and set it to one of: {', '.join(BASE_URLS)}."
        )
    return url


def signing_path(path: str) -> str:
    """The path Kalshi expects in the signed message.

    Accepts a full URL, a full path (``/trade-api/v2/portfolio/balance``) or a path relative to
    the REST base URL (``/portfolio/balance``); drops any query string or fragment.
    """
    only_path = urlsplit(path).path if "://" in path else path.split("?", 1)[0].split("#", 1)[0]
    if not only_path.startswith("/"):
        only_path = "/" + only_path
    if not only_path.startswith(API_PATH_PREFIX):
        only_path = REST_PATH_PREFIX + only_path
    return only_path


def sign_request(
    conn: Credentials, method: str, path: str, timestamp_ms: int | None = None
) -> dict[str, str]:
    """Headers that authenticate one Kalshi request made with ``conn``.

    ``timestamp_ms`` defaults to now; pass one only to reproduce a signature.
    """
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    stamp = str(int(time.time() * 1000) if timestamp_ms is None else int(timestamp_ms))
    message = f"{stamp}{method.upper()}{signing_path(path)}".encode()
    key = conn._cached(_KEY_CACHE_SLOT, lambda: _load_private_key(conn))
    signature = key.sign(
        message,
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH),
        hashes.SHA256(),
    )
    return {
        HEADER_KEY: _required(conn, API_KEY_ID_FIELD),
        HEADER_TIMESTAMP: stamp,
        HEADER_SIGNATURE: base64.b64encode(signature).decode("ascii"),
    }


def _required(conn: Credentials, field: str) -> str:
    if field not in conn:
        raise CredentialsError(
            f"Kalshi connection {conn.name!r} has no {field!r} field; edit it in WatchDog Lab "
            f"(its fields are: {', '.join(conn.field_names) or 'none'})."
        )
    return conn[field]


def _load_private_key(conn: Credentials) -> Any:
    """Parse the PEM once; errors say what to fix and never include the key text."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    _required(conn, PRIVATE_KEY_FIELD)
    problem = None
    try:
        key = serialization.load_pem_private_key(_pem_bytes(conn), password=None)
    except (ValueError, TypeError):
        problem = "is not a PEM private key without a password"
        key = None
    except Exception:
        problem = "could not be read as a private key"
        key = None
    # Raised outside the except block so the library's exception (and its frames) is not
    # chained onto ours.
    if problem is not None:
        raise CredentialsError(
            f"The {PRIVATE_KEY_FIELD!r} of Kalshi connection {conn.name!r} {problem}; paste the "
            "key file Kalshi gave you into the connection in WatchDog Lab."
        )
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CredentialsError(
            f"The {PRIVATE_KEY_FIELD!r} of Kalshi connection {conn.name!r} is not an RSA key; "
            "Kalshi issues RSA keys, paste that key file into the connection in WatchDog Lab."
        )
    return key


def _pem_bytes(conn: Credentials) -> bytes:
    # A key pasted through a single-line form often arrives with literal "\n" sequences.
    if "\n" not in conn[PRIVATE_KEY_FIELD] and "\\n" in conn[PRIVATE_KEY_FIELD]:
        return conn[PRIVATE_KEY_FIELD].replace("\\n", "\n").strip().encode()
    return conn[PRIVATE_KEY_FIELD].strip().encode()


KIND = KindSpec(
    "kalshi",
    (
        FieldSpec(API_KEY_ID_FIELD, "hint", description="the key id Kalshi shows with the key"),
        FieldSpec(
            PRIVATE_KEY_FIELD,
            "secret",
            description="the RSA private key file Kalshi gave you (PEM)",
            from_file=True,
        ),
        FieldSpec(
            ENVIRONMENT_FIELD,
            "public",
            choices=("demo", "prod"),
            default="demo",
            description="demo or prod",
        ),
    ),
    description="Kalshi: API key id + RSA private key (PEM); environment demo or prod",
    check=check_fields,
    helpers={"base_url": Helper(base_url, value=True), "sign_request": Helper(sign_request)},
)
