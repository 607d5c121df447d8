"""Kalshi's hosts and environments: the recommended defaults, the older hosts, and mismatches.

A key works only in the environment that issued it; what can be known without the network
(a host of the other environment) is refused before any request, naming both environments.
"""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from watchdog_lab.sdk import Connection, ConnectionConfigError

from .. import support

KEY_ID = "a95b1c2d-7e3f-4a11-9c2b-3d4e5f6a7b8c"


@pytest.fixture(scope="module")
def rsa_pem() -> str:
    return support.rsa_pem()


def kalshi(environment: str = "demo", pem: str = "unused", key_id: str = KEY_ID) -> Connection:
    fields = {"api_key_id": key_id, "private_key_pem": pem, "environment": environment}
    return Connection("K", "kalshi", fields, {"api_key_id": "hint", "environment": "public"})


@pytest.mark.parametrize(
    ("environment", "rest", "ws"),
    [
        (
            "prod",
            "https://external-api.kalshi.com/trade-api/v2",
            "wss://external-api-ws.kalshi.com/trade-api/ws/v2",
        ),
        (
            "demo",
            "https://external-api.demo.kalshi.co/trade-api/v2",
            "wss://external-api-ws.demo.kalshi.co/trade-api/ws/v2",
        ),
        (
            "production",
            "https://external-api.kalshi.com/trade-api/v2",
            "wss://external-api-ws.kalshi.com/trade-api/ws/v2",
        ),
    ],
)
def test_the_external_api_hosts_are_the_defaults(environment: str, rest: str, ws: str) -> None:
    conn = kalshi(environment)
    assert (conn.base_url, conn.ws_url) == (rest, ws)


@pytest.mark.parametrize(
    ("environment", "host", "rest"),
    [
        ("prod", "api.elections.kalshi.com", "https://api.elections.kalshi.com/trade-api/v2"),
        ("prod", "https://api.elections.kalshi.com/trade-api/v2/", None),
        ("demo", "demo-api.kalshi.co", "https://demo-api.kalshi.co/trade-api/v2"),
        ("demo", "https://external-api.demo.kalshi.co", None),
    ],
)
def test_older_hosts_named_explicitly_still_work(
    environment: str, host: str, rest: str | None
) -> None:
    endpoint = kalshi(environment).api_endpoint(host=host)
    expected = rest or ("https://" + host.split("://")[1].split("/")[0] + "/trade-api/v2")
    assert endpoint.base_url == expected
    assert endpoint.environment == environment
    assert endpoint.ws_url.startswith("wss://") and endpoint.ws_url.endswith("/trade-api/ws/v2")


@pytest.mark.parametrize(
    ("environment", "host", "serves"),
    [
        ("demo", "api.elections.kalshi.com", "prod"),
        ("demo", "external-api.kalshi.com", "prod"),
        ("prod", "demo-api.kalshi.co", "demo"),
        ("prod", "https://external-api.demo.kalshi.co/trade-api/v2", "demo"),
    ],
)
def test_a_host_of_the_other_environment_is_refused_naming_both(
    environment: str, host: str, serves: str
) -> None:
    with pytest.raises(ConnectionConfigError) as caught:
        kalshi(environment).api_endpoint(host=host)
    message = str(caught.value)
    assert f"is for the {environment} environment" in message
    assert f"serves {serves}" in message
    assert "only work in the environment that issued them" in message


@pytest.mark.parametrize(
    ("host", "problem"),
    [
        ("api.kalshi.example", "not a Kalshi host"),
        ("http://external-api.kalshi.com", "only reached over https"),
        ("external-api.kalshi.com:8443", "only reached over https"),
        ("https://user:pw@external-api.kalshi.com", "not a host or a base URL"),
        ("external-api.kalshi.com/other/path", "not a host or a base URL"),
    ],
)
def test_a_host_that_is_not_kalshis_api_is_refused(host: str, problem: str) -> None:
    with pytest.raises(ConnectionConfigError, match=problem):
        kalshi("prod").api_endpoint(host=host)


def test_the_local_simulator_stands_in_for_demo() -> None:
    endpoint = kalshi("demo").api_endpoint(host="http://127.0.0.1:8999")
    assert endpoint.base_url == "http://127.0.0.1:8999/trade-api/v2"
    assert endpoint.ws_url == "ws://127.0.0.1:8999/trade-api/ws/v2"
    assert endpoint.simulator


@pytest.mark.parametrize("host", ["http://127.0.0.1:8999", "localhost:8989", "[::1]:8989"])
def test_a_prod_key_is_never_pointed_at_a_local_listener(host: str) -> None:
    with pytest.raises(ConnectionConfigError, match="is for prod: point only a demo connection"):
        kalshi("prod").api_endpoint(host=host)


def test_a_401_in_kalshis_shape_names_the_connections_environment() -> None:
    body = json.dumps({"error": {"code": "authentication_error", "message": "bad key"}})
    with pytest.raises(ConnectionConfigError) as caught:
        kalshi("prod").check_response(401, body.encode())
    message = str(caught.value)
    assert "for the prod environment (external-api.kalshi.com)" in message
    assert "set the connection's 'environment' to demo" in message


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, {"balance": 1}),
        (401, "<html>proxy login</html>"),
        (403, {"error": {"code": "forbidden", "message": "no"}}),
        (400, {"error": {"code": "bad_request", "message": "no"}}),
    ],
)
def test_other_responses_are_left_to_the_caller(status: int, body: object) -> None:
    assert kalshi("demo").check_response(status, body) is None


def test_the_websocket_handshake_is_signed_over_get_and_the_ws_path(rsa_pem: str) -> None:
    headers = kalshi(pem=rsa_pem).sign_ws(timestamp_ms=1703123456789)
    key = serialization.load_pem_private_key(rsa_pem.encode(), password=None)
    key.public_key().verify(  # type: ignore[union-attr]
        base64.b64decode(headers["KALSHI-ACCESS-SIGNATURE"]),
        b"1703123456789GET/trade-api/ws/v2",
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
        hashes.SHA256(),  # type: ignore[arg-type]
    )
    assert headers["KALSHI-ACCESS-KEY"] == KEY_ID
    assert headers["KALSHI-ACCESS-TIMESTAMP"] == "1703123456789"
