"""The TLS policy of exchange connections, against a local HTTPS server and its own CA."""

from __future__ import annotations

import base64
import http.client
import ssl
import warnings

import pytest

from watchdog_lab.kinds.errors import InvalidFields, PinMismatch, TLSPolicyError
from watchdog_lab.kinds.tls import (
    PolicyContext,
    client_context,
    parse_pins,
    pool_manager,
    spki_pin,
)

from .tlsserver import CA, HOST, Leaf, https_server, make_ca


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CA:
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def leaf(ca: CA) -> Leaf:
    return ca.issue()


def get(port: int, context: ssl.SSLContext) -> bytes:
    conn = http.client.HTTPSConnection(HOST, port, timeout=5, context=context)
    try:
        conn.request("GET", "/ping")
        return conn.getresponse().read()
    finally:
        conn.close()


def test_a_server_whose_certificate_no_trusted_ca_signed_is_refused(leaf: Leaf) -> None:
    with https_server(leaf, {"ok": True}) as server, pytest.raises(ssl.SSLCertVerificationError):
        get(server.port, client_context())
    assert server.requests == []


def test_a_server_signed_by_a_trusted_ca_is_accepted(ca: CA, leaf: Leaf) -> None:
    with https_server(leaf, {"ok": True}) as server:
        assert get(server.port, client_context(cafile=str(ca.cafile))) == b'{"ok": true}'
    assert [r.path for r in server.requests] == ["/ping"]


def test_a_server_that_speaks_only_tls_1_1_is_refused(ca: CA, leaf: Leaf) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLSv1_1 itself is deprecated
        old = ssl.TLSVersion.TLSv1_1
        with https_server(leaf, {"ok": True}, maximum=old) as server:
            # The server really completes a TLS 1.1 handshake with a client that allows it...
            permissive = ssl.create_default_context(cafile=str(ca.cafile))
            permissive.set_ciphers("DEFAULT:@SECLEVEL=0")
            permissive.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
            assert get(server.port, permissive) == b'{"ok": true}'
            # ...and the policy's context will not.
            with pytest.raises(ssl.SSLError):
                get(server.port, client_context(cafile=str(ca.cafile)))
    assert len(server.requests) == 1


def test_a_key_matching_no_pin_is_refused_before_the_request_is_sent(ca: CA, leaf: Leaf) -> None:
    other = spki_pin(ca.issue().der)
    pinned = client_context([other], cafile=str(ca.cafile))
    with (
        https_server(leaf, {"ok": True}) as server,
        pytest.raises(PinMismatch, match="matches none of the 1 pinned key"),
    ):
        get(server.port, pinned)
    assert server.handshakes == 1 and server.requests == []


def test_the_pinned_key_is_accepted(ca: CA, leaf: Leaf) -> None:
    with https_server(leaf, {"ok": True}) as server:
        context = client_context([spki_pin(leaf.der)], cafile=str(ca.cafile))
        assert get(server.port, context) == b'{"ok": true}'


def test_two_pins_accept_the_old_key_and_the_new_one_during_a_rotation(ca: CA) -> None:
    old, new = ca.issue(), ca.issue()
    pins = parse_pins(f"{spki_pin(old.der)}, {spki_pin(new.der)}")
    for current in (old, new):
        with https_server(current, {"ok": True}) as server:
            assert get(server.port, client_context(pins, cafile=str(ca.cafile))) == b'{"ok": true}'


def test_a_pin_does_not_replace_certificate_verification(leaf: Leaf) -> None:
    pinned = client_context([spki_pin(leaf.der)])
    with https_server(leaf, {"ok": True}) as server, pytest.raises(ssl.SSLCertVerificationError):
        get(server.port, pinned)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("verify_mode", ssl.CERT_NONE),
        ("verify_mode", ssl.CERT_OPTIONAL),
        ("check_hostname", False),
        ("minimum_version", ssl.TLSVersion.MINIMUM_SUPPORTED),
    ],
)
def test_the_policy_context_refuses_to_be_weakened(setting: str, value: object) -> None:
    context = client_context()
    with pytest.raises(TLSPolicyError):
        setattr(context, setting, value)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2


def test_a_pinned_context_refuses_event_loop_tls_it_cannot_check() -> None:
    context = client_context(["sha256/" + "A" * 43 + "="])
    with pytest.raises(TLSPolicyError, match="blocking connections only"):
        context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="example.com")
    assert isinstance(client_context().wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO()), ssl.SSLObject)


def test_pins_are_normalised_from_either_spelling_and_deduplicated(leaf: Leaf) -> None:
    pin = spki_pin(leaf.der)
    digest = pin.removeprefix("sha256/")
    assert parse_pins(f"{pin}; sha256//{digest}\n{digest}") == (pin,)


def test_a_pin_whose_base64_starts_with_a_slash_is_not_taken_for_curls_spelling() -> None:
    # "sha256/" + "/..." reads like curl's "sha256//" + "...": one in 64 keys hits this.
    pin = "sha256/" + base64.b64encode(bytes([0xFC]) + bytes(31)).decode("ascii")
    assert pin.startswith("sha256//")
    assert parse_pins(pin) == (pin,)
    assert parse_pins("sha256//" + pin.removeprefix("sha256/")) == (pin,)


@pytest.mark.parametrize("text", ["sha256/abc", "md5/" + "A" * 43 + "=", "not a pin"])
def test_text_that_is_not_a_sha256_pin_is_refused(text: str) -> None:
    with pytest.raises(InvalidFields, match="is not a public-key pin"):
        parse_pins(text)


def test_a_new_context_verifies_checks_host_names_and_starts_at_tls_1_2() -> None:
    context = client_context()
    assert isinstance(context, PolicyContext) and context.pins == ()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2


def test_a_urllib3_pool_keeps_the_policy_and_the_pins(ca: CA, leaf: Leaf) -> None:
    import urllib3

    right, wrong = spki_pin(leaf.der), spki_pin(ca.issue().der)
    no_retry = urllib3.Retry(0)
    with https_server(leaf, {"ok": True}) as server:
        url = f"{server.url}/ping"
        with pytest.raises(urllib3.exceptions.MaxRetryError, match="CERTIFICATE_VERIFY_FAILED"):
            pool_manager().request("GET", url, retries=no_retry)
        with pytest.raises(urllib3.exceptions.MaxRetryError, match="pinned key"):
            pool_manager([wrong], cafile=str(ca.cafile)).request("GET", url, retries=no_retry)
        assert server.requests == []
        pinned = pool_manager([wrong, right], cafile=str(ca.cafile))
        assert pinned.request("GET", url, retries=no_retry).data == b'{"ok": true}'
