"""REST behaviour of the server extension (watchdog_lab/server/handlers.py) on a real server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

from watchdog_lab.server.handlers import CONTENT_SECURITY_POLICY, UNEXPECTED_ERROR_MESSAGE

PASSWORD = "correct horse battery staple"


async def vault_state(jp_fetch) -> str:  # type: ignore[no-untyped-def]
    response = await jp_fetch("watchdog-lab", "vault")
    assert response.code == 200
    return json.loads(response.body)["state"]


async def test_state_is_absent_before_any_vault_exists(jp_fetch, watchdog_home: Path) -> None:
    assert await vault_state(jp_fetch) == "absent"
    assert not (watchdog_home / "vault.db").exists()


async def test_state_is_locked_once_another_process_created_the_vault(jp_fetch, make_vault) -> None:
    assert await vault_state(jp_fetch) == "absent"
    make_vault(PASSWORD)
    assert await vault_state(jp_fetch) == "locked"


async def test_state_follows_unlock_and_lock_of_the_servers_vault(
    jp_fetch, make_vault, watchdog_app
) -> None:
    make_vault(PASSWORD)
    watchdog_app.vault.unlock(PASSWORD)
    assert await vault_state(jp_fetch) == "unlocked"
    watchdog_app.vault.lock()
    assert await vault_state(jp_fetch) == "locked"


async def test_request_without_token_is_refused_with_403(jp_fetch) -> None:
    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch("watchdog-lab", "vault", headers={"Authorization": ""})
    assert refused.value.code == 403
    assert "state" not in refused.value.response.body.decode()


async def test_state_response_carries_the_strict_csp(jp_fetch) -> None:
    response = await jp_fetch("watchdog-lab", "vault")
    csp = response.headers["Content-Security-Policy"]
    assert csp == CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp


async def test_refusal_also_carries_the_strict_csp(jp_fetch) -> None:
    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch("watchdog-lab", "vault", headers={"Authorization": ""})
    assert refused.value.response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


async def test_unknown_route_is_a_json_404_with_the_strict_csp(jp_fetch) -> None:
    with pytest.raises(HTTPClientError) as missing:
        await jp_fetch("watchdog-lab", "no-such-route")
    response = missing.value.response
    assert missing.value.code == 404
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["Content-Type"].startswith("application/json")
    assert "no such route" in json.loads(response.body)["message"]


async def test_routes_live_under_the_base_url_only(
    jp_fetch, jp_base_url: str, http_server_client, jp_auth_header
) -> None:
    assert jp_base_url != "/"
    assert await vault_state(jp_fetch) == "absent"
    with pytest.raises(HTTPClientError) as outside:
        await http_server_client.fetch("/watchdog-lab/vault", headers=jp_auth_header)
    assert outside.value.code == 404


async def test_unexpected_error_answers_json_without_its_text(
    jp_fetch, watchdog_app, monkeypatch: pytest.MonkeyPatch
) -> None:
    class BrokenVault:
        @property
        def state(self) -> str:
            raise RuntimeError("hunter2-should-not-leak")

    monkeypatch.setattr(watchdog_app, "_vault", BrokenVault())
    with pytest.raises(HTTPClientError) as failed:
        await jp_fetch("watchdog-lab", "vault")
    body = failed.value.response.body.decode()
    assert failed.value.code == 500
    assert json.loads(body)["message"] == UNEXPECTED_ERROR_MESSAGE
    assert "hunter2" not in body
    assert "Traceback" not in body
