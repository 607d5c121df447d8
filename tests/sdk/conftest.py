"""Fixtures for the SDK tests: a connection whose every field value is easy to spot in text."""

from __future__ import annotations

import pytest

from watchdog_lab.sdk import Connection

# Distinctive values: if any rendering leaks one, a substring search finds it.
KEY_ID = "a952bcbe-ec3b-4b5b-b8f9-11dae589608c"  # hint: only "a95***" may show
PEM = "-----BEGIN PRIVATE KEY-----\nZmFrZS1wZW0tYm9keS1zM2NyM3Q=\n-----END PRIVATE KEY-----\n"
PASSPHRASE = "pp-7Hq2"  # hint but shorter than 12: nothing may show
TOKEN = "tok_live_93kf02mc81nd"  # unlisted in visibility: secret by default
ENVIRONMENT = "demo"  # public: shown whole

MASKED = (
    "Connection(name='Kalshi', kind='kalshi', api_key_id='a95***', private_key_pem='***', "
    "passphrase='***', token='***', environment='demo')"
)
SECRETS = (KEY_ID, PEM, "ZmFrZS1wZW0t", PASSPHRASE, TOKEN, "tok_live")


def make_connection() -> Connection:
    return Connection(
        "Kalshi",
        "kalshi",
        {
            "api_key_id": KEY_ID,
            "private_key_pem": PEM,
            "passphrase": PASSPHRASE,
            "token": TOKEN,
            "environment": ENVIRONMENT,
        },
        {
            "api_key_id": "hint",
            "private_key_pem": "secret",
            "passphrase": "hint",
            "environment": "public",
        },
    )


def assert_masked(text: str) -> None:
    """The text shows the masked form and none of the secret values (nor the PEM's repr)."""
    for secret in (*SECRETS, repr(PEM)[1:-1]):
        assert secret not in text
    assert MASKED in text


@pytest.fixture
def conn() -> Connection:
    return make_connection()
