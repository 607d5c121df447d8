"""The SDK's broker client (watchdog_lab/sdk/broker.py), against a stand-in broker.

The stand-in is a real HTTP server on loopback that answers what a test tells it to and records
every request, so the tests see exactly what the client sends: the server side of the broker is
tested with real kernels in tests/server/test_broker.py.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import threading
import traceback
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import watchdog_lab
from watchdog_lab.sdk import ConnectionNotAvailable, Registry
from watchdog_lab.sdk.broker import (
    BROKER_URL_VAR,
    KERNEL_TOKEN_VAR,
    TOKEN_HEADER,
    BrokerClient,
    BrokerSource,
)
from watchdog_lab.sdk.errors import BrokerError
from watchdog_lab.sdk.injection import encode_connections

from .conftest import KEY_ID, MASKED, make_connection

TOKEN = "kernel-token-3b1f0c6e9d2a4875b6c1e0f9a8d7c6b5"
PASSWORD = "my vault password 9f8e7d"
REPO_ROOT = Path(watchdog_lab.__file__).resolve().parents[1]


class StandIn:
    """A loopback HTTP server: ``answers`` maps "METHOD /path" to (status, body, headers)."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, bytes, dict[str, str]]] = {}
        self.requests: list[dict[str, Any]] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                stand_in.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": self.rfile.read(length) if length else b"",
                    }
                )
                status, body, headers = stand_in.answers.get(
                    f"{self.command} {self.path}", (404, b'{"message": "no", "reason": "x"}', {})
                )
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/base/watchdog-lab/broker"

    def answer(self, method: str, route: str, status: int, body: Any, **headers: str) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.answers[f"{method} /base/watchdog-lab/broker/{route}"] = (status, raw, headers)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def broker() -> Iterator[StandIn]:
    stand_in = StandIn()
    yield stand_in
    stand_in.close()


@pytest.fixture
def client(broker: StandIn) -> BrokerClient:
    return BrokerClient(broker.url, TOKEN)


def serve_kalshi(broker: StandIn) -> None:
    broker.answer(
        "POST", "connection", 200, {"connection": encode_connections([make_connection()])}
    )


# --- where the client comes from -----------------------------------------------------------


def test_no_client_without_both_variables() -> None:
    assert BrokerClient.from_environ({}) is None
    assert BrokerClient.from_environ({BROKER_URL_VAR: "http://127.0.0.1:1/x"}) is None
    assert BrokerClient.from_environ({KERNEL_TOKEN_VAR: TOKEN}) is None
    both = BrokerClient.from_environ(
        {BROKER_URL_VAR: "http://127.0.0.1:1/x", KERNEL_TOKEN_VAR: TOKEN}
    )
    assert both is not None and both.url == "http://127.0.0.1:1/x"


def _default_sources_in_a_fresh_process(extra_env: dict[str, str]) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in (BROKER_URL_VAR, KERNEL_TOKEN_VAR)}
    code = (
        "from watchdog_lab.sdk import lookup\n"
        "print(','.join(type(s).__name__ for s in lookup._default.sources))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, **extra_env},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().split(",")


def test_the_default_registry_asks_the_broker_when_the_kernel_has_one() -> None:
    with_broker = {BROKER_URL_VAR: "http://127.0.0.1:9/b", KERNEL_TOKEN_VAR: TOKEN}
    assert _default_sources_in_a_fresh_process(with_broker) == ["PipeSource", "BrokerSource"]
    assert _default_sources_in_a_fresh_process({}) == ["PipeSource"]


# --- lookups ----------------------------------------------------------------------------------


def test_a_lookup_decodes_the_answer_into_a_masked_connection(broker, client) -> None:
    serve_kalshi(broker)
    conn = client.connection("kalshi")
    assert conn.api_key_id == KEY_ID
    assert repr(conn) == MASKED


def test_the_token_travels_in_its_header_and_the_name_in_the_body(broker, client) -> None:
    serve_kalshi(broker)
    client.connection("Kalshi")
    (request,) = broker.requests
    assert request["path"] == "/base/watchdog-lab/broker/connection"
    assert request["headers"][TOKEN_HEADER] == TOKEN
    assert json.loads(request["body"]) == {"name": "Kalshi"}
    assert "Cookie" not in request["headers"] and "Authorization" not in request["headers"]


def test_every_lookup_asks_the_broker_again(broker, client) -> None:
    serve_kalshi(broker)
    client.connection("Kalshi")
    broker.answer("POST", "connection", 403, {"message": "revoked", "reason": "not_granted"})
    with pytest.raises(ConnectionNotAvailable):
        client.connection("Kalshi")
    assert len(broker.requests) == 2


def test_a_refusal_carries_the_brokers_message_and_reason(broker, client) -> None:
    message = "The vault is locked. Unlock it in the WatchDog Lab sidebar."
    broker.answer("POST", "connection", 423, {"message": message, "reason": "vault_locked"})
    with pytest.raises(BrokerError) as refused:
        client.connection("Kalshi")
    assert isinstance(refused.value, ConnectionNotAvailable)
    assert (refused.value.reason, refused.value.status) == ("vault_locked", 423)
    assert str(refused.value) == message


def test_not_granted_names_the_connection_as_the_caller_spelled_it(broker, client) -> None:
    broker.answer("POST", "connection", 403, {"message": "x", "reason": "not_granted"})
    with pytest.raises(ConnectionNotAvailable) as refused:
        Registry([BrokerSource(client)]).connection("KalShi")
    assert "`%wd connect KalShi`" in str(refused.value)
    assert json.loads(broker.requests[0]["body"]) == {"name": "kalshi"}


def test_an_answer_without_a_readable_connection_is_refused(broker, client) -> None:
    broker.answer("POST", "connection", 200, {"connection": "not-base64!"})
    with pytest.raises(BrokerError) as refused:
        client.connection("Kalshi")
    assert refused.value.reason == "broker_answer"


def test_proxy_variables_are_ignored(broker, client, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    serve_kalshi(broker)
    assert client.connection("Kalshi").name == "Kalshi"


def test_a_redirect_is_not_followed_with_the_token(broker, client) -> None:
    elsewhere = StandIn()
    try:
        broker.answer("POST", "connection", 307, b"", Location=f"{elsewhere.url}/connection")
        with pytest.raises(BrokerError):
            client.connection("Kalshi")
        assert elsewhere.requests == []
    finally:
        elsewhere.close()


def test_a_non_loopback_address_gets_no_request(broker) -> None:
    remote = BrokerClient("http://192.0.2.10:8888/watchdog-lab/broker", TOKEN)
    with pytest.raises(BrokerError) as refused:
        remote.connection("Kalshi")
    assert "loopback" in str(refused.value)
    assert refused.value.status is None


def test_an_unreachable_broker_says_so_without_the_token(broker, client) -> None:
    url = broker.url
    broker.close()
    with pytest.raises(BrokerError) as refused:
        BrokerClient(url, TOKEN).connection("Kalshi")
    assert refused.value.reason == "broker_unreachable"
    assert "restart this kernel" in str(refused.value)
    assert TOKEN not in str(refused.value) and TOKEN not in repr(refused.value.args)


def test_names_are_empty_when_the_broker_cannot_answer(broker, client) -> None:
    broker.answer("GET", "grants", 423, {"message": "locked", "reason": "vault_locked"})
    assert BrokerSource(client).names() == []


def test_names_are_the_granted_connections(broker, client) -> None:
    broker.answer(
        "GET", "grants", 200, {"grants": [{"connection": "Kalshi"}, {"connection": None}]}
    )
    assert BrokerSource(client).names() == ["Kalshi"]


# --- grants -----------------------------------------------------------------------------------


def test_a_grant_sends_name_and_password_to_the_grants_route(broker, client) -> None:
    broker.answer("POST", "grants", 201, {"connection": "Kalshi", "source": "password"})
    assert client.grant("Kalshi", PASSWORD)["connection"] == "Kalshi"
    assert json.loads(broker.requests[0]["body"]) == {"connection": "Kalshi", "password": PASSWORD}


def test_a_failed_grant_leaves_the_password_in_no_frame_of_the_traceback(broker, client) -> None:
    broker.answer("POST", "grants", 422, {"message": "Wrong vault password.", "reason": "x"})
    with pytest.raises(BrokerError) as refused:
        client.grant("Kalshi", PASSWORD)
    frames = traceback.walk_tb(refused.value.__traceback__)
    shown = [repr(frame.f_locals) for frame, _ in frames]
    assert shown  # there were frames to look at
    assert not any(PASSWORD in text for text in shown)
    assert PASSWORD not in str(refused.value)


def test_a_revoke_escapes_the_name_into_one_path_segment(broker, client) -> None:
    broker.answer("DELETE", "grants/My%20Exchange%2F1", 200, {"connection": "My Exchange/1"})
    assert client.revoke("My Exchange/1")["connection"] == "My Exchange/1"


# --- the objects themselves ------------------------------------------------------------------


def test_the_client_and_source_reprs_hide_the_token(client) -> None:
    assert TOKEN not in repr(client) and TOKEN not in repr(BrokerSource(client))


def test_broker_error_survives_pickling_with_its_details() -> None:
    error = BrokerError("Kalshi", "vault_locked", "The vault is locked.", 423)
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert (copy.requested, copy.reason, copy.status, str(copy)) == (
        "Kalshi",
        "vault_locked",
        423,
        "The vault is locked.",
    )
