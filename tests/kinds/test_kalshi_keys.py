"""Key pairs made here for Kalshi, the placeholder key id, and Kalshi's own SDK as a helper."""

from __future__ import annotations

import sys

import pytest
from cryptography.hazmat.primitives import serialization

from watchdog_lab.kinds import InvalidFields
from watchdog_lab.kinds.kalshi import KIND, PENDING_KEY_ID, generate_key
from watchdog_lab.sdk import Connection, ConnectionConfigError

from .. import support


def kalshi(pem: str, key_id: str = "a95b1c2d-7e3f-4a11-9c2b-3d4e5f6a7b8c") -> Connection:
    fields = {"api_key_id": key_id, "private_key_pem": pem, "environment": "demo"}
    return Connection("K", "kalshi", fields, {"api_key_id": "hint", "environment": "public"})


def test_a_generated_pair_is_rsa_2048_and_its_halves_match() -> None:
    pair = generate_key()
    private = serialization.load_pem_private_key(pair.private_pem.encode(), password=None)
    public = serialization.load_pem_public_key(pair.public_pem.encode())
    assert private.key_size == 2048  # type: ignore[union-attr]
    assert private.public_key().public_numbers() == public.public_numbers()  # type: ignore[union-attr]
    assert "PRIVATE" not in pair.public_pem
    assert KIND.validate({"api_key_id": PENDING_KEY_ID, "private_key_pem": pair.private_pem})


def test_a_generated_pair_never_shows_its_private_half_in_its_repr() -> None:
    pair = generate_key()
    body = pair.private_pem.splitlines()[1]
    assert body not in repr(pair) and "PRIVATE" not in repr(pair)
    assert pair.public_pem.splitlines()[1] in repr(pair)


def test_key_sizes_other_than_2048_or_4096_are_refused() -> None:
    with pytest.raises(InvalidFields, match="2048 or 4096 bits, not 1024"):
        generate_key(1024)


def test_the_public_half_of_a_stored_key_can_be_read_back() -> None:
    pair = generate_key()
    assert kalshi(pair.private_pem).public_key_pem() == pair.public_pem


def test_signing_before_kalshi_gave_a_key_id_says_how_to_record_it() -> None:
    conn = kalshi(support.rsa_pem(), key_id=PENDING_KEY_ID)
    with pytest.raises(ConnectionConfigError, match="has no key id yet") as caught:
        conn.sign_request("GET", "/portfolio/balance")
    assert "watchdog-lab connections update K" in str(caught.value)


def test_kalshi_client_without_the_sdk_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "kalshi_python_sync", None)  # import now fails
    with pytest.raises(ConnectionConfigError, match="'kalshi_python_sync' package") as caught:
        kalshi(support.rsa_pem()).kalshi_client()
    assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_kalshi_client_is_configured_for_the_connections_environment() -> None:
    pytest.importorskip("kalshi_python_sync")
    client = kalshi(support.rsa_pem()).kalshi_client()
    assert client.configuration.host == "https://external-api.demo.kalshi.co/trade-api/v2"
    assert client.kalshi_auth.key_id == "a95b1c2d-7e3f-4a11-9c2b-3d4e5f6a7b8c"
