"""A real simulator on a loopback port per test, and traders that sign with real connections.

Each trader is an SDK ``Connection`` holding a freshly made key, registered with the simulator
through ``POST /api_keys`` as a user would; requests are signed by ``conn.sign_request`` and
sent with ``http.client``, so the simulator checks exactly what a bot would send.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from watchdog_lab.kinds.kalshi import generate_key
from watchdog_lab.sdk import Connection
from watchdog_lab.sim.app import RunningSimulator, Simulator

SEED = 7


def http_call(
    url: str, method: str, body: object = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    payload = None if body is None else json.dumps(body)
    conn.request(
        method,
        target,
        body=payload,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    response = conn.getresponse()
    raw = response.read()
    conn.close()
    return response.status, json.loads(raw) if raw else None


@dataclass
class Trader:
    """One key registered with the simulator, and the connection that holds its private half."""

    conn: Connection
    base_url: str
    public_pem: str

    def call(
        self, method: str, path: str, body: object = None, *, sign: bool = True, **extra: str
    ) -> tuple[int, Any]:
        url = self.base_url + path
        headers = self.conn.sign_request(method, url) if sign else {}
        headers.update(extra)
        return http_call(url, method, body, headers)

    def ok(self, method: str, path: str, body: object = None) -> Any:
        status, data = self.call(method, path, body)
        assert status in (200, 201), (status, data)
        return data


def register_key(url: str, public_pem: str) -> str:
    status, data = http_call(
        f"{url}/trade-api/v2/api_keys", "POST", {"name": "t", "public_key": public_pem}
    )
    assert status == 201, data
    return str(data["api_key_id"])


def kalshi_connection(key_id: str, private_pem: str, environment: str = "demo") -> Connection:
    return Connection(
        "Sim",
        "kalshi",
        {"api_key_id": key_id, "private_key_pem": private_pem, "environment": environment},
        {"api_key_id": "hint", "environment": "public"},
    )


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    running = RunningSimulator(Simulator(seed=SEED))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def key_pairs() -> list[Any]:
    """Two key pairs for the whole run: RSA generation is the slow part of a trader."""
    return [generate_key(), generate_key()]


@pytest.fixture
def trader(sim: RunningSimulator, key_pairs: list[Any]) -> Callable[[int], Trader]:
    def make(index: int = 0) -> Trader:
        pair = key_pairs[index]
        key_id = register_key(sim.url, pair.public_pem)
        conn = kalshi_connection(key_id, pair.private_pem)
        return Trader(conn, conn.api_endpoint(host=sim.url).base_url, pair.public_pem)

    return make
