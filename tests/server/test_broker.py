"""The kernel broker (watchdog_lab/server/broker.py) with real kernels started by the server.

Every kernel here is started through the server's REST API and asks the broker from inside, as
``wd.connection()`` in a notebook does. Secret values never cross back to the test: kernels
report a SHA-256 of what they received.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from typing import Any

import pytest

from watchdog_lab.sdk.broker import BROKER_URL_VAR, KERNEL_TOKEN_VAR, TOKEN_HEADER
from watchdog_lab.vault import CreateConnection

PASSWORD = "correct horse battery staple"
KEY_ID = "kid-5f2c9a71-d3b8-4e0a-9c1f-2b7e6a4d8c03"
SECRET = "sk-live-Q8mZ3vT1xR7pL2nK9wB4cY6hJ0dF5gS"
OTHER_SECRET = "sk-live-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp"
SECRET_DIGEST = hashlib.sha256(SECRET.encode()).hexdigest()


@pytest.fixture
def kalshi(make_vault, watchdog_app) -> str:  # type: ignore[no-untyped-def]
    """An unlocked server vault holding 'Kalshi' (and 'Binance'); the id of 'Kalshi'."""
    make_vault(PASSWORD)
    vault = watchdog_app.vault
    vault.unlock(PASSWORD)
    vault.add_connection(
        CreateConnection(name="Binance", kind="generic", fields={"api_secret": OTHER_SECRET})
    )
    return vault.add_connection(
        CreateConnection(
            name="Kalshi", kind="generic", fields={"api_key_id": KEY_ID, "api_secret": SECRET}
        )
    ).id


async def grant(kernel: Any, name: str = "Kalshi", password: str = PASSWORD) -> dict[str, Any]:
    return await kernel.broker(f"grant({name!r}, {password!r})")  # type: ignore[no-any-return]


def unlock_failures(watchdog_app: Any) -> int:
    """Password failures the vault's rate limiter has counted."""
    row = watchdog_app.vault.store.query_one("SELECT failures FROM unlock_attempts WHERE id = 1")
    return int(row[0])


async def kernel_token(kernel: Any) -> str:
    return (await kernel.environ())[KERNEL_TOKEN_VAR]  # type: ignore[no-any-return]


async def lookup_with_token(api: Any, token: str, name: str = "Kalshi") -> Any:
    """The broker's lookup route called from outside any kernel, with only ``token``."""
    return await api.post(
        "broker/connection", {"name": name}, headers={TOKEN_HEADER: token}, auth=False
    )


# --- what a kernel holds ------------------------------------------------------------------


async def test_kernel_environment_has_the_broker_address_and_a_token_but_no_secret(
    kernels, kalshi, jp_base_url
) -> None:
    granted = await kernels.start()
    # Granted and looked up: the server has decrypted the values by now.
    assert (await grant(granted))["connection"] == "Kalshi"
    assert (await granted.lookup("Kalshi"))["ok"]
    kernel = await kernels.start()
    env = await kernel.environ()
    assert env[BROKER_URL_VAR].startswith("http://127.0.0.1:")
    assert env[BROKER_URL_VAR].endswith(f"{jp_base_url}watchdog-lab/broker")
    assert len(env[KERNEL_TOKEN_VAR]) >= 32
    dumped = json.dumps(env)
    assert SECRET not in dumped and KEY_ID not in dumped and OTHER_SECRET not in dumped


async def test_server_environment_holds_no_secret_after_grants_and_lookups(kernels, kalshi) -> None:
    kernel = await kernels.start()
    await grant(kernel)
    assert (await kernel.lookup("Kalshi"))["ok"]
    dumped = json.dumps(dict(os.environ))
    assert SECRET not in dumped and KEY_ID not in dumped
    assert KERNEL_TOKEN_VAR not in os.environ


async def test_each_kernel_gets_its_own_token(kernels, kalshi) -> None:
    first, second = await kernels.start(), await kernels.start()
    assert await kernel_token(first) != await kernel_token(second)


async def test_kernel_started_for_a_notebook_session_gets_the_variables_too(
    kernels, kalshi
) -> None:
    kernel = await kernels.start("research/strategy.ipynb")
    env = await kernel.environ()
    assert env["JPY_SESSION_NAME"].endswith("strategy.ipynb")
    assert env[KERNEL_TOKEN_VAR] and env[BROKER_URL_VAR]


# --- grants and lookups ---------------------------------------------------------------------


async def test_connection_before_any_grant_is_refused_naming_wd_connect(kernels, kalshi) -> None:
    kernel = await kernels.start()
    outcome = await kernel.lookup("Kalshi")
    assert not outcome["ok"]
    assert outcome["reason"] == "not_granted"
    assert "%wd connect Kalshi" in outcome["error"]


async def test_connection_after_a_password_grant_holds_the_vault_values(kernels, kalshi) -> None:
    kernel = await kernels.start()
    granted = await grant(kernel)
    assert granted["connection"] == "Kalshi" and granted["source"] == "password"
    outcome = await kernel.lookup("kalshi")
    assert outcome == {"ok": True, "name": "Kalshi", "digest": SECRET_DIGEST}


async def test_a_grant_covers_only_the_connection_granted(kernels, kalshi) -> None:
    kernel = await kernels.start()
    await grant(kernel, "Kalshi")
    outcome = await kernel.lookup("Binance")
    assert not outcome["ok"] and outcome["reason"] == "not_granted"


async def test_unknown_and_ungranted_names_get_the_same_refusal(kernels, kalshi) -> None:
    kernel = await kernels.start()
    await grant(kernel, "Kalshi")
    missing, ungranted = await kernel.lookup("Coinbase"), await kernel.lookup("Binance")
    assert missing["reason"] == ungranted["reason"] == "not_granted"
    assert missing["error"].replace("Coinbase", "X") == ungranted["error"].replace("Binance", "X")


async def test_wrong_password_grant_is_refused_and_counted_by_the_rate_limiter(
    kernels, kalshi, watchdog_app
) -> None:
    kernel = await kernels.start()
    refused = await grant(kernel, password="not the vault password")
    assert refused["reason"] == "wrong_password"
    assert unlock_failures(watchdog_app) == 1
    assert not (await kernel.lookup("Kalshi"))["ok"]


async def test_repeated_wrong_passwords_throttle_even_the_right_one(kernels, kalshi) -> None:
    kernel = await kernels.start()
    for _ in range(3):
        assert (await grant(kernel, password="wrong password!"))["reason"] == "wrong_password"
    throttled = await grant(kernel)
    assert throttled["status"] == 429 and throttled["reason"] == "throttled"
    assert not (await kernel.lookup("Kalshi"))["ok"]


async def test_password_grant_while_locked_is_refused_without_checking_the_password(
    kernels, kalshi, watchdog_app
) -> None:
    kernel = await kernels.start()
    watchdog_app.vault.lock()
    refused = await grant(kernel, password="wrong password!")
    assert refused["status"] == 423
    assert unlock_failures(watchdog_app) == 0


async def test_revoke_takes_effect_at_the_next_lookup(kernels, kalshi) -> None:
    kernel = await kernels.start()
    await grant(kernel)
    assert (await kernel.lookup("Kalshi"))["ok"]
    revoked = await kernel.broker("revoke('Kalshi')")
    assert revoked["connection"] == "Kalshi"
    outcome = await kernel.lookup("Kalshi")
    assert not outcome["ok"] and outcome["reason"] == "not_granted"


async def test_lookups_fail_while_locked_and_work_again_after_unlock(
    kernels, kalshi, watchdog_app
) -> None:
    kernel = await kernels.start()
    await grant(kernel)
    watchdog_app.vault.lock()
    locked = await kernel.lookup("Kalshi")
    assert not locked["ok"] and locked["reason"] == "vault_locked"
    assert "locked" in locked["error"]
    watchdog_app.vault.unlock(PASSWORD)
    assert (await kernel.lookup("Kalshi"))["ok"]


async def test_a_renamed_connection_keeps_its_grant(kernels, kalshi, watchdog_app) -> None:
    kernel = await kernels.start()
    await grant(kernel)
    watchdog_app.vault.rename_connection("Kalshi", "Kalshi-prod")
    assert (await kernel.lookup("Kalshi-prod"))["digest"] == SECRET_DIGEST
    assert not (await kernel.lookup("Kalshi"))["ok"]


async def test_grants_and_revokes_are_audited_with_kernel_and_name(
    kernels, kalshi, watchdog_app
) -> None:
    kernel = await kernels.start()
    await grant(kernel)
    await kernel.broker("revoke('Kalshi')")
    events = {e.event: e for e in watchdog_app.vault.audit_log(limit=20)}
    granted, revoked = events["kernel.granted"], events["kernel.revoked"]
    assert granted.connection_id == revoked.connection_id == kalshi
    assert granted.detail == {
        "kernel_id": kernel.id,
        "connection": "Kalshi",
        "source": "password",
        "notebook": None,
    }
    assert revoked.detail is not None and revoked.detail["reason"] == "revoked"


# --- isolation between kernels and credentials ---------------------------------------------


async def test_a_second_kernel_never_sees_the_first_kernels_grants(kernels, kalshi) -> None:
    first, second = await kernels.start(), await kernels.start()
    await grant(first)
    assert (await first.lookup("Kalshi"))["ok"]
    outcome = await second.lookup("Kalshi")
    assert not outcome["ok"] and outcome["reason"] == "not_granted"
    assert (await second.broker("grants()"))["grants"] == []


async def test_one_kernels_token_cannot_fetch_another_kernels_grant(kernels, kalshi, api) -> None:
    holder, other = await kernels.start(), await kernels.start()
    await grant(holder)
    refused = await lookup_with_token(api, await kernel_token(other))
    assert refused.code == 403 and refused.json["reason"] == "not_granted"
    assert SECRET not in refused.text
    allowed = await lookup_with_token(api, await kernel_token(holder))
    assert allowed.code == 200


async def test_jupyter_credentials_alone_cannot_fetch_a_connection(kernels, kalshi, api) -> None:
    await grant(await kernels.start())
    response = await api.post("broker/connection", {"name": "Kalshi"})
    assert response.code == 403 and response.json["reason"] == "kernel_token"
    assert SECRET not in response.text


async def test_an_unknown_token_is_refused(kernels, kalshi, api) -> None:
    await grant(await kernels.start())
    response = await lookup_with_token(api, "x" * 43)
    assert response.code == 403 and response.json["reason"] == "kernel_token"
    assert SECRET not in response.text


async def test_the_connection_answer_is_not_cached_by_anyone(kernels, kalshi, api) -> None:
    kernel = await kernels.start()
    await grant(kernel)
    response = await lookup_with_token(api, await kernel_token(kernel))
    assert response.code == 200
    assert response.headers["Cache-Control"] == "no-store"


# --- kernel lifecycle -------------------------------------------------------------------------


async def test_restart_keeps_the_token_and_drops_the_grants(kernels, kalshi) -> None:
    kernel = await kernels.start()
    token = await kernel_token(kernel)
    await grant(kernel)
    kernel = await kernels.restart(kernel)
    assert await kernel_token(kernel) == token
    outcome = await kernel.lookup("Kalshi")
    assert not outcome["ok"] and outcome["reason"] == "not_granted"
    await grant(kernel)
    assert (await kernel.lookup("Kalshi"))["ok"]


async def test_shutdown_invalidates_the_kernels_token(kernels, kalshi, api) -> None:
    kernel = await kernels.start()
    token = await kernel_token(kernel)
    await grant(kernel)
    await kernels.shutdown(kernel)
    response = await lookup_with_token(api, token)
    assert response.code == 403 and response.json["reason"] == "kernel_token"


async def test_the_password_of_a_grant_never_reaches_the_server_log(
    kernels, kalshi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    kernel = await kernels.start()
    await grant(kernel, password="wrong password 7c1e9d")
    await grant(kernel)
    assert "broker/grants" in caplog.text  # the server's request log was captured
    assert "wrong password 7c1e9d" not in caplog.text and PASSWORD not in caplog.text
