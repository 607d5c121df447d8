"""conn.kalshi_client() reaches HTTPS only under the project's TLS policy, not the SDK's own."""

from __future__ import annotations

import ssl
import warnings

import pytest

from watchdog_lab.kinds.tls import TLSPolicyError
from watchdog_lab.sdk import Connection

from .. import support
from .tlsserver import CA, HOST, Leaf, https_server, make_ca

BALANCE = {"balance": 1234, "portfolio_value": 0, "updated_ts": 0}


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CA:
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def leaf(ca: CA) -> Leaf:
    return ca.issue()


@pytest.fixture(scope="module")
def conn() -> Connection:
    pytest.importorskip("kalshi_python_sync")  # the test extra installs it
    fields = {
        "api_key_id": "a95b1c2d-7e3f-4a11-9c2b-3d4e5f6a7b8c",
        "private_key_pem": support.rsa_pem(),
        "environment": "demo",
    }
    return Connection("K", "kalshi", fields, {"api_key_id": "hint", "environment": "public"})


def test_a_server_no_trusted_ca_signed_gets_no_request(conn: Connection, leaf: Leaf) -> None:
    with https_server(leaf, BALANCE) as server:
        client = conn.kalshi_client(host=f"https://{HOST}:{server.port}")
        with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):
            client.get_balance()
    assert server.requests == []


def test_the_clients_tls_context_refuses_to_be_weakened(conn: Connection) -> None:
    client = conn.kalshi_client()
    context = client.rest_client.pool_manager.connection_pool_kw["ssl_context"]
    with pytest.raises(TLSPolicyError):
        context.verify_mode = ssl.CERT_NONE  # what a notebook might try
    with pytest.raises(TLSPolicyError):
        context.minimum_version = ssl.TLSVersion.TLSv1_1


def test_a_trusted_server_gets_the_signed_request(conn: Connection, ca: CA, leaf: Leaf) -> None:
    with https_server(leaf, BALANCE) as server:
        client = conn.kalshi_client(host=f"https://{HOST}:{server.port}", cafile=str(ca.cafile))
        assert client.get_balance().balance == 1234
    (request,) = server.requests
    assert request.path == "/trade-api/v2/portfolio/balance"
    assert request.headers["KALSHI-ACCESS-KEY"] == "a95b1c2d-7e3f-4a11-9c2b-3d4e5f6a7b8c"


def test_a_server_that_speaks_only_tls_1_1_is_refused(conn: Connection, ca: CA, leaf: Leaf) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLSv1_1 itself is deprecated
        with https_server(leaf, BALANCE, maximum=ssl.TLSVersion.TLSv1_1) as server:
            client = conn.kalshi_client(host=f"https://{HOST}:{server.port}", cafile=str(ca.cafile))
            with pytest.raises(Exception, match=r"(?i)version|protocol"):
                client.get_balance()
    assert server.requests == []
