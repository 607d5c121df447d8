"""``conn.ccxt()``: a real ccxt exchange built from a connection, against a local HTTPS server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import sys
from typing import Any
from urllib.parse import parse_qs

import pytest

ccxt = pytest.importorskip("ccxt")

from watchdog_lab.kinds import InvalidFields, resolve_kind  # noqa: E402
from watchdog_lab.kinds.ccxt import EXTRA_HINT  # noqa: E402
from watchdog_lab.kinds.errors import MissingExtra, TLSPolicyError  # noqa: E402
from watchdog_lab.kinds.tls import spki_pin  # noqa: E402
from watchdog_lab.sdk.connection import Connection  # noqa: E402
from watchdog_lab.sdk.errors import ConnectionConfigError  # noqa: E402

from .tlsserver import CA, HOST, Leaf, https_server, make_ca  # noqa: E402

API_KEY = "wdtest-apikey-7f3a9c1e5b2d4f60"
SECRET = base64.b64encode(b"wdtest-secret-bytes-0123456789abcdef").decode()
PASSWORD = "wdtest-passphrase-31415"


def connection(kind: str, **fields: str) -> Connection:
    """A connection as the vault stores it and the SDK hands it to a kernel."""
    spec = resolve_kind(kind)
    values = spec.validate(fields)
    return Connection(kind.upper(), kind, values, {name: spec.visibility(name) for name in values})


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CA:
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def leaf(ca: CA) -> Leaf:
    return ca.issue()


# --- building the exchange ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        ("ccxt:binance", {"apiKey": API_KEY, "secret": SECRET}),
        ("ccxt:kraken", {"apiKey": API_KEY, "secret": SECRET}),
        ("ccxt:okx", {"apiKey": API_KEY, "secret": SECRET, "password": PASSWORD}),
    ],
)
def test_the_exchange_is_the_kinds_ccxt_class_with_the_connections_credentials(
    kind: str, fields: dict[str, str]
) -> None:
    exchange = connection(kind, **fields).ccxt()
    assert type(exchange) is getattr(ccxt, kind.partition(":")[2])
    assert {name: getattr(exchange, name) for name in fields} == fields
    assert exchange.check_required_credentials() is True


def test_constructor_options_reach_the_exchange() -> None:
    conn = connection("ccxt:binance", apiKey=API_KEY, secret=SECRET)
    exchange = conn.ccxt(options={"defaultType": "future"}, timeout=1234)
    assert exchange.options["defaultType"] == "future" and exchange.timeout == 1234


def test_a_credential_the_exchange_requires_but_the_connection_lacks_is_named() -> None:
    conn = connection("ccxt:okx", apiKey=API_KEY, secret=SECRET)  # okx also needs a password
    with pytest.raises(ConnectionConfigError, match=r"needs the field\(s\) password in connection"):
        conn.ccxt()


def test_a_sandbox_connection_gets_the_exchanges_testnet_urls() -> None:
    live = connection("ccxt:binance", apiKey=API_KEY, secret=SECRET, environment="live").ccxt()
    unset = connection("ccxt:binance", apiKey=API_KEY, secret=SECRET).ccxt()
    sandbox = connection("ccxt:binance", apiKey=API_KEY, secret=SECRET, environment="sandbox")
    exchange = sandbox.ccxt()
    assert exchange.isSandboxModeEnabled and exchange.urls["api"] == exchange.urls["test"]
    for other in (live, unset):
        assert not other.isSandboxModeEnabled and other.urls["api"] != other.urls["test"]


def test_a_sandbox_connection_gets_the_exchanges_own_sandbox_switch() -> None:
    fields = {"apiKey": API_KEY, "secret": SECRET, "password": PASSWORD}
    sandbox = connection("ccxt:okx", **fields, environment="sandbox").ccxt()
    live = connection("ccxt:okx", **fields).ccxt()
    assert sandbox.headers.get("x-simulated-trading") == "1"  # okx's demo trading
    assert "x-simulated-trading" not in live.headers


def test_sandbox_on_an_exchange_without_a_testnet_says_to_use_live() -> None:
    conn = connection("ccxt:kraken", apiKey=API_KEY, secret=SECRET, environment="sandbox")
    with pytest.raises(ConnectionConfigError, match=r"ccxt has no sandbox for 'kraken'.*'live'"):
        conn.ccxt()


def test_an_exchange_id_ccxt_does_not_know_is_named_in_the_error() -> None:
    conn = connection("ccxt:nosuchexchange", apiKey=API_KEY)
    with pytest.raises(ConnectionConfigError, match="has no exchange 'nosuchexchange'"):
        conn.ccxt()


def test_without_ccxt_installed_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ccxt", None)  # what `import ccxt` sees when it is absent
    conn = connection("ccxt:binance", apiKey=API_KEY, secret=SECRET)
    with pytest.raises(MissingExtra) as info:
        conn.ccxt()
    assert str(info.value) == EXTRA_HINT and "watchdog-lab[ccxt]" in EXTRA_HINT
    assert info.value.__cause__ is None and info.value.__context__ is None


@pytest.mark.parametrize("option", ["verify", "session", "ssl_context", "validateServerSsl"])
def test_tls_settings_cannot_be_passed_through(option: str) -> None:
    conn = connection("ccxt:binance", apiKey=API_KEY, secret=SECRET)
    with pytest.raises(TLSPolicyError, match=option):
        conn.ccxt(**{option: False})


def test_a_malformed_pin_is_refused_when_the_connection_is_saved() -> None:
    with pytest.raises(InvalidFields, match="is not a public-key pin"):
        resolve_kind("ccxt:kraken").validate({"apiKey": API_KEY, "tls_pins": "sha256/short"})


# --- on the wire ----------------------------------------------------------------------------


def kraken_at(url: str, **fields: str) -> Any:
    return connection("ccxt:kraken", apiKey=API_KEY, secret=SECRET, **fields)


def point(exchange: Any, url: str) -> Any:
    exchange.urls["api"] = {"public": url, "private": url}
    return exchange


def test_signed_requests_reach_the_server_with_the_key_and_a_valid_signature(
    ca: CA, leaf: Leaf
) -> None:
    with https_server(leaf, {"error": [], "result": {"ZUSD": "1.0"}}) as server:
        exchange = point(kraken_at(server.url).ccxt(cafile=str(ca.cafile)), server.url)
        assert exchange.privatePostBalance() == {"error": [], "result": {"ZUSD": "1.0"}}
    (request,) = server.requests
    assert (request.method, request.path) == ("POST", "/0/private/Balance")
    assert request.headers["API-Key"] == API_KEY
    nonce = parse_qs(request.body.decode())["nonce"][0]
    signed = (
        request.path.encode() + hashlib.sha256((nonce + request.body.decode()).encode()).digest()
    )
    expected = hmac.new(base64.b64decode(SECRET), signed, hashlib.sha512).digest()
    assert base64.b64decode(request.headers["API-Sign"]) == expected


def test_okx_sends_its_passphrase_and_signature_headers(ca: CA, leaf: Leaf) -> None:
    conn = connection("ccxt:okx", apiKey=API_KEY, secret=SECRET, password=PASSWORD)
    with https_server(leaf, {"code": "0", "data": []}) as server:
        exchange = conn.ccxt(cafile=str(ca.cafile))
        exchange.urls["api"] = {"rest": server.url}
        exchange.privateGetAccountBalance()
    (request,) = server.requests
    assert request.headers["OK-ACCESS-KEY"] == API_KEY
    assert request.headers["OK-ACCESS-PASSPHRASE"] == PASSWORD
    auth = request.headers["OK-ACCESS-TIMESTAMP"] + "GET" + request.path
    expected = hmac.new(SECRET.encode(), auth.encode(), hashlib.sha256).digest()
    assert base64.b64decode(request.headers["OK-ACCESS-SIGN"]) == expected


def test_a_server_no_trusted_ca_signed_gets_no_request(leaf: Leaf) -> None:
    with https_server(leaf, {"error": []}) as server:
        exchange = point(kraken_at(server.url).ccxt(), server.url)
        with pytest.raises(ccxt.NetworkError):
            exchange.privatePostBalance()
    assert server.requests == []


def test_a_library_that_turns_verification_off_is_refused_not_obeyed(leaf: Leaf) -> None:
    with https_server(leaf, {"error": []}) as server:
        exchange = point(kraken_at(server.url).ccxt(), server.url)
        exchange.verify = False  # what a copied snippet or an old ccxt example does
        with pytest.raises(ccxt.BaseError) as info:
            exchange.privatePostBalance()
    assert server.requests == []
    assert any("cannot be turned off" in str(e) for e in _chain(info.value))


def test_plain_http_is_refused() -> None:
    exchange = point(kraken_at("").ccxt(), "http://127.0.0.1:9")
    with pytest.raises(ccxt.BaseError) as info:
        exchange.privatePostBalance()
    assert any(isinstance(e, TLSPolicyError) for e in _chain(info.value))


def test_a_pinned_connection_refuses_another_key_and_accepts_its_own(ca: CA, leaf: Leaf) -> None:
    right, wrong = spki_pin(leaf.der), spki_pin(ca.issue().der)
    with https_server(leaf, {"error": [], "result": {}}) as server:
        refused = point(
            kraken_at(server.url, tls_pins=wrong).ccxt(cafile=str(ca.cafile)), server.url
        )
        with pytest.raises(ccxt.NetworkError) as info:
            refused.privatePostBalance()
        assert server.requests == []
        rotating = kraken_at(server.url, tls_pins=f"{wrong}, {right}")
        point(rotating.ccxt(cafile=str(ca.cafile)), server.url).privatePostBalance()
    assert len(server.requests) == 1
    assert any("matches none of the 1 pinned key" in str(e) for e in _chain(info.value))


def test_a_pinned_connection_refuses_the_asynchronous_client_rather_than_skip_the_pin(
    leaf: Leaf,
) -> None:
    import asyncio
    import socket

    conn = kraken_at("", tls_pins=spki_pin(leaf.der))

    async def balance() -> BaseException:
        exchange = point(conn.ccxt(asynchronous=True), f"https://{HOST}:{port}")
        try:
            with pytest.raises(ccxt.NetworkError) as info:
                await exchange.privatePostBalance()
        finally:
            await exchange.close()
        return info.value

    # A listening socket completes the TCP connect; TLS would start next, and must not.
    with socket.create_server((HOST, 0)) as listener:
        port = listener.getsockname()[1]
        error = asyncio.run(balance())
    assert any("blocking connections only" in str(e) for e in _chain(error))


def test_the_asynchronous_client_verifies_with_the_policys_context(ca: CA, leaf: Leaf) -> None:
    import asyncio

    async def balances() -> None:
        with https_server(leaf, {"error": [], "result": {}}) as server:
            untrusted = point(kraken_at("").ccxt(asynchronous=True), server.url)
            trusted = point(
                kraken_at("").ccxt(asynchronous=True, cafile=str(ca.cafile)), server.url
            )
            try:
                with pytest.raises(ccxt.NetworkError):
                    await untrusted.privatePostBalance()
                assert server.requests == []
                await trusted.privatePostBalance()
            finally:
                await untrusted.close()
                await trusted.close()
        (request,) = server.requests
        assert request.headers["API-Key"] == API_KEY

    asyncio.run(balances())


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen
