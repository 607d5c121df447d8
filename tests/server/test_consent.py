"""Consent is the vault password, not the Jupyter token: code in every kernel is untrusted.

Kernel code can read the Jupyter token, so every test here calls the real REST routes of a real
server with the token alone, as kernel code could, and checks that nothing that hands a secret
to code (a grant to a bot or a kernel) or weakens the vault (two-factor, removing a connection)
happens without the vault password in that same request. Grants remembered per notebook are
tied to a kernel only when the user confirms them: a kernel that moves its session onto another
notebook's path gets nothing.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from watchdog_lab.vault import CreateConnection, totp

from .botapi import bot_path, describe, promote, wait_job, write_notebook
from .kernels import GRANT_NOTEBOOK as NOTEBOOK
from .kernels import GRANT_PASSWORD as PASSWORD
from .kernels import GRANT_SECRET_DIGEST as SECRET_DIGEST

WRONG = "not the vault password at all"

pytestmark = pytest.mark.usefixtures("stop_bots")


@pytest.fixture
def jp_server_config(bots_server_config: Config) -> Config:
    return bots_server_config


def refused(response: Any, reason: str) -> None:
    """A 422 with ``reason`` that quotes no password back."""
    assert response.code == 422, response.text
    assert response.json["reason"] == reason
    assert PASSWORD not in response.text and WRONG not in response.text


async def connection_names(api: Any) -> list[str]:
    listing = (await api.get("connections")).json["connections"]
    return sorted(c["name"] for c in listing)


# --- bots ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "reason"), [(None, "password_required"), (WRONG, "wrong_password")]
)
async def test_only_a_bot_without_connections_is_created_without_the_password(
    api, kalshi, jp_root_dir: Path, watchdog_home: Path, password: str | None, reason: str
) -> None:
    write_notebook(jp_root_dir / "keys.ipynb", "print(1)")
    body: dict[str, Any] = {
        "notebook": "keys.ipynb",
        "name": "Thief",
        "connections": ["Kalshi"],
        "start": True,
    }
    if password is not None:
        body["password"] = password
    refused(await api.post("bots", body), reason)
    assert (await api.get("bots")).json["bots"] == []
    assert not (watchdog_home / "bots").exists() or not any((watchdog_home / "bots").iterdir())
    # The same promote without connections hands no key to code: no password needed.
    body.pop("password", None)
    bot = await promote(api, **{**body, "connections": [], "start": False})
    assert bot["connections"] == []


async def test_a_bot_with_connections_is_created_with_the_password_which_is_kept_nowhere(
    api, kalshi, jp_root_dir: Path, watchdog_home: Path
) -> None:
    write_notebook(jp_root_dir / "keys.ipynb", "print(1)")
    body = {"notebook": "keys.ipynb", "name": "Keyed", "connections": ["Kalshi"]}
    response = await api.post("bots", {**body, "password": PASSWORD})
    assert response.code == 202, response.text
    seen = await wait_job(api, response.json["id"])
    assert seen[-1]["state"] == "done", seen[-1].get("error")
    assert seen[-1]["bot"]["connections"] == ["Kalshi"]
    assert all(PASSWORD not in json.dumps(answer) for answer in seen)
    configs = list((watchdog_home / "bots").rglob("bot.json"))
    assert configs and all(PASSWORD not in p.read_text() for p in configs)


async def test_bot_grants_do_not_change_without_the_password(
    api, kalshi, watchdog_app, jp_root_dir: Path
) -> None:
    watchdog_app.vault.add_connection(
        CreateConnection(name="Other", kind="generic", fields={"t": "other-secret-value-1"})
    )
    write_notebook(jp_root_dir / "g.ipynb", "print(1)")
    await promote(api, notebook="g.ipynb", name="Granted")
    grants = bot_path("Granted", "grants")
    refused(await api.call("PUT", grants, {"connections": ["Kalshi"]}), "password_required")
    wrong = {"connections": ["Kalshi", "Other"], "password": WRONG}
    refused(await api.call("PUT", grants, wrong), "wrong_password")
    assert (await describe(api, "Granted"))["connections"] == []
    right = {"connections": ["Kalshi"], "password": PASSWORD}
    assert (await api.call("PUT", grants, right)).code == 200
    assert (await describe(api, "Granted"))["connections"] == ["Kalshi"]
    # Taking every connection away hands nothing to code: no password needed.
    assert (await api.call("PUT", grants, {"connections": []})).code == 200
    assert (await describe(api, "Granted"))["connections"] == []


# --- two-factor ------------------------------------------------------------------------------


async def begin(api: Any) -> str:
    while time.time() % 30 > 27:  # the code must still be valid at confirmation
        time.sleep(0.2)
    begun = await api.post("vault/totp", {"password": PASSWORD})
    assert begun.code == 200, begun.text
    return str(begun.json["secret"])


@pytest.mark.parametrize("password", [None, WRONG])
async def test_two_factor_enrolment_does_not_begin_without_the_password(
    api, kalshi, password: str | None
) -> None:
    body = {} if password is None else {"password": password}
    response = await api.post("vault/totp", body)
    refused(response, "password_required" if password is None else "wrong_password")
    assert "secret" not in response.json


@pytest.mark.parametrize("password", [None, WRONG])
async def test_two_factor_stays_off_when_confirmed_without_the_password(
    api, kalshi, password: str | None
) -> None:
    secret = await begin(api)
    body = {"secret": secret, "code": totp.code_at(secret, time.time())}
    if password is not None:
        body["password"] = password
    response = await api.post("vault/totp/confirm", body)
    refused(response, "password_required" if password is None else "wrong_password")
    assert (await api.get("vault")).json["totp_enabled"] is False


@pytest.mark.parametrize("password", [None, WRONG])
async def test_two_factor_stays_on_when_removed_without_the_password(
    api, kalshi, password: str | None
) -> None:
    secret = await begin(api)
    now = time.time()
    confirm = {"password": PASSWORD, "secret": secret, "code": totp.code_at(secret, now - 30)}
    assert (await api.post("vault/totp/confirm", confirm)).code == 200
    body = {"code": totp.code_at(secret, now)}
    if password is not None:
        body["password"] = password
    response = await api.delete("vault/totp", body)
    refused(response, "password_required" if password is None else "wrong_password")
    assert (await api.get("vault")).json["totp_enabled"] is True


# --- removing connections --------------------------------------------------------------------


@pytest.mark.parametrize("by_id", [False, True], ids=["by-name", "by-id"])
@pytest.mark.parametrize("password", [None, WRONG])
async def test_a_connection_is_not_removed_without_the_password(
    api, kalshi, by_id: bool, password: str | None
) -> None:
    path = f"connections/by-id/{kalshi}" if by_id else "connections/Kalshi"
    body = {} if password is None else {"password": password}
    response = await api.delete(path, body)
    refused(response, "password_required" if password is None else "wrong_password")
    assert await connection_names(api) == ["Kalshi"]
    assert (await api.delete(path, {"password": PASSWORD})).code == 204
    assert await connection_names(api) == []


@pytest.mark.parametrize("password", [None, WRONG])
async def test_a_connections_values_do_not_change_without_the_password(
    api, kalshi, watchdog_app, password: str | None
) -> None:
    # A swapped key changes what every bot and kernel granted the connection sends.
    def stored() -> str:
        return watchdog_app.vault.get_connection("Kalshi").fields["api_secret"]

    before = stored()
    body: dict = {"fields": {"api_secret": "attacker-held-secret-0123456789"}}
    if password is not None:
        body["password"] = password
    response = await api.patch("connections/Kalshi", body)
    refused(response, "password_required" if password is None else "wrong_password")
    assert stored() == before
    body["password"] = PASSWORD
    assert (await api.patch("connections/Kalshi", body)).code == 200
    assert stored() == "attacker-held-secret-0123456789"


async def test_wrong_passwords_on_consent_routes_are_throttled_like_unlock(api, kalshi) -> None:
    answers = [
        await api.delete("connections/Kalshi", {"password": f"{WRONG} {i}"}) for i in range(4)
    ]
    assert [a.json["reason"] for a in answers[:3]] == ["wrong_password"] * 3
    assert answers[3].code == 429 and answers[3].json["reason"] == "throttled"
    assert "Retry-After" in answers[3].headers
    assert await connection_names(api) == ["Kalshi"]


# --- kernels: a grant belongs to one kernel id -------------------------------------------------


async def session_of(jp_fetch: Any, kernel_id: str) -> str:
    sessions = json.loads((await jp_fetch("api", "sessions")).body)
    return next(s["id"] for s in sessions if s["kernel"]["id"] == kernel_id)


async def test_moving_a_session_onto_a_granted_notebook_gets_its_kernel_nothing(
    api, kalshi, kernels, jp_fetch
) -> None:
    granted = await kernels.start(NOTEBOOK)
    body = {"connection": "Kalshi", "password": PASSWORD, "remember": True}
    assert (await api.post(f"kernels/{granted.id}/grants", body)).code == 201
    assert (await granted.lookup("Kalshi"))["digest"] == SECRET_DIGEST
    intruder = await kernels.start("research/intruder.ipynb")
    # With the Jupyter token only, as the intruder's own code could.
    session = await session_of(jp_fetch, intruder.id)
    await jp_fetch("api", "sessions", session, method="PATCH", body=json.dumps({"path": NOTEBOOK}))
    outcome = await intruder.lookup("Kalshi")
    assert not outcome["ok"] and outcome["reason"] == "not_granted"
    listing = (await api.get(f"kernels/{intruder.id}/grants")).json
    assert listing["path"] == NOTEBOOK and listing["grants"] == []
    assert (await granted.lookup("Kalshi"))["ok"]  # the real notebook keeps its own grant


async def test_a_remembered_grant_waits_for_the_password_on_a_new_kernel(
    api, kalshi, kernels
) -> None:
    first = await kernels.start(NOTEBOOK)
    body = {"connection": "Kalshi", "password": PASSWORD, "remember": True}
    assert (await api.post(f"kernels/{first.id}/grants", body)).code == 201
    await kernels.shutdown(first)
    later = await kernels.start(NOTEBOOK)
    assert not (await later.lookup("Kalshi"))["ok"]
    listing = (await api.get(f"kernels/{later.id}/grants")).json
    assert listing["grants"] == []
    assert listing["suggested"] == [{"connection_id": kalshi, "connection": "Kalshi"}]
    confirm = f"kernels/{later.id}/remembered-grants"
    refused(await api.post(confirm, {}), "password_required")
    refused(await api.post(confirm, {"password": WRONG}), "wrong_password")
    assert not (await later.lookup("Kalshi"))["ok"]
    confirmed = await api.post(confirm, {"password": PASSWORD})
    assert confirmed.code == 200, confirmed.text
    assert [(g["connection"], g["source"]) for g in confirmed.json["grants"]] == [
        ("Kalshi", "notebook")
    ]
    assert confirmed.json["suggested"] == []
    assert (await later.lookup("Kalshi"))["digest"] == SECRET_DIGEST


async def test_the_kernel_route_does_not_list_suggested_grants(api, kalshi, kernels) -> None:
    first = await kernels.start(NOTEBOOK)
    body = {"connection": "Kalshi", "password": PASSWORD, "remember": True}
    await api.post(f"kernels/{first.id}/grants", body)
    await kernels.shutdown(first)
    later = await kernels.start(NOTEBOOK)
    answer = await later.broker("grants()")
    assert answer["grants"] == [] and answer["suggested"] == []
