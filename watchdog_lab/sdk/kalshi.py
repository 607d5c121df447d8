"""Kalshi's request signing under the SDK's name, for code that imported it from here.

The kind lives in :mod:`watchdog_lab.kinds.kalshi` (its fields, the key check, signing). Bot
code signs with ``conn.sign_request(method, path)`` and reads ``conn.base_url``: through the
connection, a problem with the stored fields is a :class:`~.errors.ConnectionConfigError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..kinds.kalshi import (
    API_KEY_ID_FIELD,
    API_PATH_PREFIX,
    BASE_URLS,
    DEMO_BASE_URL,
    ENVIRONMENT_FIELD,
    HEADER_KEY,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    PRIVATE_KEY_FIELD,
    PROD_BASE_URL,
    REST_PATH_PREFIX,
    signing_path,
)

if TYPE_CHECKING:
    from .connection import Connection

__all__ = [
    "API_KEY_ID_FIELD",
    "API_PATH_PREFIX",
    "BASE_URLS",
    "DEMO_BASE_URL",
    "ENVIRONMENT_FIELD",
    "HEADER_KEY",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "PRIVATE_KEY_FIELD",
    "PROD_BASE_URL",
    "REST_PATH_PREFIX",
    "base_url",
    "sign_request",
    "signing_path",
]


def base_url(conn: Connection) -> str:
    """``conn.base_url``: the REST base URL chosen by the connection's ``environment``."""
    return conn.base_url  # type: ignore[no-any-return]  # a kind helper, found at run time


def sign_request(
    conn: Connection, method: str, path: str, timestamp_ms: int | None = None
) -> dict[str, str]:
    """``conn.sign_request(...)``: headers that authenticate one Kalshi request."""
    return conn.sign_request(method, path, timestamp_ms)  # type: ignore[no-any-return]  # kind helper
