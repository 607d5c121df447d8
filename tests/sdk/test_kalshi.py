"""Kalshi signing: headers a real Kalshi server would verify, without exposing the key."""

from __future__ import annotations

import base64
import time
import traceback

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from watchdog_lab.sdk import Connection, ConnectionConfigError
from watchdog_lab.sdk.kalshi import DEMO_BASE_URL, PROD_BASE_URL, signing_path

KEY_ID = "a952bcbe-ec3b-4b5b-b8f9-11dae589608c"


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem_of(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, *, pkcs1: bool = False) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL
        if pkcs1
        else serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def kalshi(pem: str, environment: str | None = "demo") -> Connection:
    fields = {"api_key_id": KEY_ID, "private_key_pem": pem}
    visibility = {"api_key_id": "hint"}
    if environment is not None:
        fields["environment"] = environment
        visibility["environment"] = "public"
    return Connection("Kalshi", "kalshi", fields, visibility)


def verify(key: rsa.RSAPrivateKey, headers: dict[str, str], message: str) -> None:
    """Kalshi's check: RSA-PSS, SHA-256, MGF1-SHA-256, salt length = digest length (32)."""
    key.public_key().verify(
        base64.b64decode(headers["KALSHI-ACCESS-SIGNATURE"], validate=True),
        message.encode(),
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
        hashes.SHA256(),
    )


def test_headers_carry_key_id_timestamp_and_a_verifiable_signature(
    private_key: rsa.RSAPrivateKey,
) -> None:
    headers = kalshi(pem_of(private_key)).sign_request(
        "GET", "/trade-api/v2/portfolio/balance", timestamp_ms=1703123456789
    )
    assert set(headers) == {
        "KALSHI-ACCESS-KEY",
        "KALSHI-ACCESS-TIMESTAMP",
        "KALSHI-ACCESS-SIGNATURE",
    }
    assert headers["KALSHI-ACCESS-KEY"] == KEY_ID
    assert headers["KALSHI-ACCESS-TIMESTAMP"] == "1703123456789"
    verify(private_key, headers, "1703123456789GET/trade-api/v2/portfolio/balance")


def test_the_signature_does_not_verify_for_another_message(private_key: rsa.RSAPrivateKey) -> None:
    headers = kalshi(pem_of(private_key)).sign_request("GET", "/portfolio/balance", 1000)
    with pytest.raises(InvalidSignature):
        verify(private_key, headers, "1000POST/trade-api/v2/portfolio/balance")


def test_the_default_timestamp_is_now_in_milliseconds(private_key: rsa.RSAPrivateKey) -> None:
    before = int(time.time() * 1000)
    headers = kalshi(pem_of(private_key)).sign_request("get", "/portfolio/orders")
    after = int(time.time() * 1000)
    stamp = int(headers["KALSHI-ACCESS-TIMESTAMP"])
    assert before <= stamp <= after
    verify(private_key, headers, f"{stamp}GET/trade-api/v2/portfolio/orders")


@pytest.mark.parametrize(
    ("path", "signed"),
    [
        ("/trade-api/v2/portfolio/orders?limit=5", "/trade-api/v2/portfolio/orders"),
        ("/portfolio/orders?limit=5&status=open", "/trade-api/v2/portfolio/orders"),
        ("portfolio/balance", "/trade-api/v2/portfolio/balance"),
        (DEMO_BASE_URL + "/markets?cursor=x#frag", "/trade-api/v2/markets"),
        ("/trade-api/ws/v2", "/trade-api/ws/v2"),
    ],
)
def test_the_signed_path_is_the_full_path_without_query(path: str, signed: str) -> None:
    assert signing_path(path) == signed


def test_a_relative_path_with_a_query_signs_the_full_path(private_key: rsa.RSAPrivateKey) -> None:
    headers = kalshi(pem_of(private_key)).sign_request("DELETE", "/portfolio/orders/1?x=1", 5)
    verify(private_key, headers, "5DELETE/trade-api/v2/portfolio/orders/1")


def test_pkcs1_keys_and_keys_pasted_with_escaped_newlines_are_accepted(
    private_key: rsa.RSAPrivateKey,
) -> None:
    for pem in (pem_of(private_key, pkcs1=True), pem_of(private_key).replace("\n", "\\n")):
        headers = kalshi(pem).sign_request("GET", "/exchange/status", 7)
        verify(private_key, headers, "7GET/trade-api/v2/exchange/status")


@pytest.mark.parametrize(
    ("environment", "url"),
    [("demo", DEMO_BASE_URL), ("prod", PROD_BASE_URL), (" Production ", PROD_BASE_URL)],
)
def test_base_url_follows_the_environment_field(environment: str, url: str) -> None:
    assert kalshi("unused", environment).base_url == url


@pytest.mark.parametrize("environment", ["staging", None])
def test_an_unknown_or_missing_environment_is_a_config_error(environment: str | None) -> None:
    with pytest.raises(ConnectionConfigError, match="demo, prod, production"):
        kalshi("unused", environment).base_url  # noqa: B018


def test_an_unreadable_key_is_a_config_error_that_never_shows_the_key() -> None:
    bogus = "-----BEGIN PRIVATE KEY-----\nbm90LWEta2V5LXNlY3JldA==\n-----END PRIVATE KEY-----\n"
    conn = kalshi(bogus)
    with pytest.raises(ConnectionConfigError, match="not a PEM private key") as caught:
        conn.sign_request("GET", "/portfolio/balance")
    error = caught.value
    assert error.__context__ is None and error.__cause__ is None
    assert error.__traceback__ is not None
    below_test = traceback.walk_tb(error.__traceback__.tb_next)
    rendered = "".join(traceback.StackSummary.extract(below_test, capture_locals=True).format())
    assert "_load_private_key" in rendered
    assert "bm90LWEta2V5" not in rendered and "bm90LWEta2V5" not in str(error)


def test_a_non_rsa_key_is_a_config_error() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(ConnectionConfigError, match="not an RSA key"):
        kalshi(pem_of(key)).sign_request("GET", "/portfolio/balance")


def test_a_missing_key_id_is_a_config_error(private_key: rsa.RSAPrivateKey) -> None:
    conn = Connection("Kalshi", "kalshi", {"private_key_pem": pem_of(private_key)})
    with pytest.raises(ConnectionConfigError, match="no 'api_key_id' field"):
        conn.sign_request("GET", "/portfolio/balance")
