"""Authentication, XSRF, CSP and secrecy on every route of the extension.

Routes are enumerated from ``route_table()`` (bots and broker routes included), so a route
added later is covered without editing this file.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from jupyter_server.auth.authorizer import Authorizer
from traitlets.config import Config

from watchdog_lab.redact import variants
from watchdog_lab.server.handlers import CONTENT_SECURITY_POLICY

from ..support import rsa_pem
from .conftest import FAST_KDF_CONFIG, route_samples

PASSWORD = "correct horse battery staple"
SECRET = "sk-test-5f0c1a9e8b7d6c4e3a2b1908f7e6d5c4"
NEW_SECRET = "sk-test-99aa88bb77cc66dd55ee44ff33001122"

ROUTE_METHODS = [(sample, method) for sample in route_samples() for method in sample.methods]
WRITE_METHODS = [(sample, method) for sample, method in ROUTE_METHODS if method != "GET"]


def jupyter_authenticated(case: tuple) -> bool:
    """Whether the route relies on Jupyter's login (token or cookie) and authorizer.

    The kernel broker's own routes are marked ``allow_unauthenticated``: kernels present a
    per-kernel token instead, which a browser session never has. They must still refuse a
    request without any token; they are left out of the checks that need a Jupyter session.
    """
    sample, method = case
    handler_method = getattr(sample.handler, method.lower())
    return not getattr(handler_method, "__allow_unauthenticated", False)


SESSION_ROUTES = [case for case in ROUTE_METHODS if jupyter_authenticated(case)]
SESSION_WRITES = [case for case in WRITE_METHODS if jupyter_authenticated(case)]


def _id(case: tuple) -> str:
    sample, method = case
    return f"{method} {sample.api_path}"


every_route = pytest.mark.parametrize("case", ROUTE_METHODS, ids=[_id(c) for c in ROUTE_METHODS])
every_write_route = pytest.mark.parametrize(
    "case", WRITE_METHODS, ids=[_id(c) for c in WRITE_METHODS]
)
every_session_route = pytest.mark.parametrize(
    "case", SESSION_ROUTES, ids=[_id(c) for c in SESSION_ROUTES]
)
every_session_write = pytest.mark.parametrize(
    "case", SESSION_WRITES, ids=[_id(c) for c in SESSION_WRITES]
)


def test_the_route_table_has_write_routes_to_check() -> None:
    """Guards the parametrisation itself: an empty table would make every test vacuous."""
    assert len(ROUTE_METHODS) >= 15
    assert len(WRITE_METHODS) >= 10


# --- authentication ----------------------------------------------------------------------


@every_route
async def test_every_route_refuses_a_request_without_token(api, case) -> None:
    sample, method = case
    refused = await api.call(method, sample.api_path, {}, auth=False)
    assert refused.code == 403
    assert refused.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert refused.headers["Content-Type"].startswith("application/json")


async def login_cookie(api) -> str:  # type: ignore[no-untyped-def]
    """The session cookie a browser gets once it has authenticated with the token."""
    response = await api.get("vault")
    cookies = response.headers.get_list("Set-Cookie")
    assert cookies, "the server set no login cookie"
    return "; ".join(c.split(";", 1)[0] for c in cookies)


@every_write_route
async def test_every_write_route_refuses_a_cookie_request_without_xsrf_token(api, case) -> None:
    sample, method = case
    cookie = await login_cookie(api)
    refused = await api.call(method, sample.api_path, {}, auth=False, headers={"Cookie": cookie})
    assert refused.code == 403
    assert "xsrf" in refused.json["message"].lower()
    assert refused.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


@every_session_write
async def test_every_write_route_accepts_a_cookie_request_with_the_xsrf_token(api, case) -> None:
    """The positive control of the test above: the same request, same-site, gets through."""
    sample, method = case
    cookie = await login_cookie(api)
    xsrf = "0123456789abcdef0123456789abcdef"
    answered = await api.call(
        method,
        sample.api_path,
        {},
        auth=False,
        headers={"Cookie": f"{cookie}; _xsrf={xsrf}", "X-XSRFToken": xsrf},
    )
    assert answered.code != 403, answered.text


async def test_a_cross_site_create_stores_nothing(api, watchdog_home: Path) -> None:
    cookie = await login_cookie(api)
    refused = await api.post(
        "vault", {"password": PASSWORD}, auth=False, headers={"Cookie": cookie}
    )
    assert refused.code == 403
    assert not (watchdog_home / "vault.db").exists()


async def test_a_request_from_a_foreign_origin_stores_nothing(api, watchdog_home: Path) -> None:
    cookie = await login_cookie(api)
    refused = await api.post(
        "vault",
        {"password": PASSWORD},
        auth=False,
        headers={"Cookie": cookie, "Origin": "https://evil.example"},
    )
    assert refused.code in (403, 404)  # jupyter_server answers a foreign origin with a 404
    assert not (watchdog_home / "vault.db").exists()


class DenyWatchdogAuthorizer(Authorizer):
    """Allows everything except WatchDog Lab's resource."""

    def is_authorized(self, handler, user, action, resource) -> bool:  # type: ignore[no-untyped-def]
        return resource != "watchdog_lab"


class TestWithAnAuthorizerThatDeniesWatchdogLab:
    @pytest.fixture
    def jp_server_config(self, watchdog_home: Path) -> Config:
        return Config(
            {
                "ServerApp": {
                    "jpserver_extensions": {"watchdog_lab": True},
                    "authorizer_class": DenyWatchdogAuthorizer,
                },
                "WatchdogLab": {"home": str(watchdog_home), **FAST_KDF_CONFIG},
            }
        )

    @every_session_route
    async def test_every_route_asks_for_the_watchdog_lab_resource(self, api, case) -> None:
        sample, method = case
        refused = await api.call(method, sample.api_path, {})
        assert refused.code == 403
        assert "watchdog_lab" in refused.json["message"]

    async def test_other_server_routes_still_answer(self, jp_fetch) -> None:
        response = await jp_fetch("api", "status")
        assert response.code == 200


# --- headers on every response -----------------------------------------------------------


@every_route
async def test_every_route_answers_json_with_the_strict_csp(api, watchdog_app, case) -> None:
    """Success or refusal alike (the vault is unlocked and holds the sample name)."""
    watchdog_app.vault.create(PASSWORD)
    from watchdog_lab.vault import CreateConnection

    watchdog_app.vault.add_connection(
        CreateConnection(name="sample-1", kind="generic", fields={"k": SECRET})
    )
    sample, method = case
    answer = await api.call(method, sample.api_path, {})
    assert answer.code < 500, answer.text
    assert answer.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    if answer.code != 204:
        assert answer.headers["Content-Type"].split(";")[0] in (
            "application/json",
            "text/event-stream",
        )


async def test_a_successful_answer_carries_the_strict_csp(api) -> None:
    created = await api.post("vault", {"password": PASSWORD})
    assert created.code == 201
    assert created.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert created.headers["Cache-Control"] == "no-store"


# --- no secret in any response -----------------------------------------------------------


async def test_no_response_ever_carries_a_secret_value(api) -> None:
    pem = rsa_pem()
    key_id = "a1b2c3d4-e5f6-4a5b-9c8d-7e6f5a4b3c2d"
    bodies: list[str] = []

    async def call(method: str, path: str, body: object = None) -> None:
        answer = await api.call(method, path, body)
        assert answer.code < 500, answer.text
        bodies.append(answer.text)

    await call("POST", "vault", {"password": PASSWORD})
    kalshi = {"api_key_id": key_id, "private_key_pem": pem, "environment": "demo"}
    await call("POST", "connections", {"name": "Kalshi", "kind": "kalshi", "fields": kalshi})
    await call("POST", "connections", {"name": "Other", "kind": "generic", "fields": {"t": SECRET}})
    # Refusals that see the secrets: a duplicate, a bad field, an unknown field, a wrong type.
    await call("POST", "connections", {"name": "kalshi", "kind": "kalshi", "fields": kalshi})
    await call("POST", "connections", {"name": "X", "kind": "anthropic", "fields": {"k": SECRET}})
    await call("POST", "connections", {"name": "X", "kind": "generic", SECRET: SECRET})
    await call("POST", "connections", {"name": SECRET, "kind": "generic", "fields": {"a": 1}})
    await call("GET", f"connections/{SECRET}")
    await call("GET", "connections")
    await call("GET", "connections/Kalshi")
    await call("GET", "connections/Other")
    await call("PATCH", "connections/Other", {"fields": {"t": NEW_SECRET}, "password": PASSWORD})
    await call(
        "PATCH", "connections/Kalshi", {"fields": {"environment": NEW_SECRET}, "password": PASSWORD}
    )
    await call("POST", "connections/Other/rename", {"new_name": "Renamed"})
    await call("GET", "connections")
    await call("GET", "audit")
    await call("POST", "vault/lock")
    await call("GET", "vault")

    forms = set()
    for value in (SECRET, NEW_SECRET, pem, key_id, PASSWORD):
        forms |= variants(value)
        forms.add(base64.b64encode(value.encode()).decode())
    assert len(bodies) == 18
    for body in bodies:
        leaked = sorted(form[:12] for form in forms if form in body)
        assert not leaked, f"a response carried a secret form starting {leaked}"
    # The bodies are not vacuous: the listing really describes the connections.
    assert "Kalshi" in bodies[9] and "Renamed" in bodies[15]


async def test_an_error_quoting_a_known_secret_is_redacted(api) -> None:
    await api.post("vault", {"password": PASSWORD})
    await api.post("connections", {"name": "Other", "kind": "generic", "fields": {"t": SECRET}})
    missing = await api.get(f"connections/{SECRET}")
    assert missing.code == 404
    assert SECRET not in missing.text
    assert "[REDACTED:Other.t]" in missing.json["message"]


async def test_bodies_are_html_inert_json(api) -> None:
    await api.post("vault", {"password": PASSWORD})
    refused = await api.post(
        "connections", {"name": "<script>alert(1)</script>", "kind": "generic", "fields": {}}
    )
    assert "<" not in refused.text and ">" not in refused.text
    assert "<script>" in json.loads(refused.text)["message"]
