"""The vault's lifecycle routes (watchdog_lab/server/vault_handlers.py) on a real server."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from watchdog_lab.vault import totp

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a different long passphrase"
SECRET = "sk-test-5f0c1a9e8b7d6c4e3a2b1908f7e6d5c4"


async def create_vault(api) -> None:  # type: ignore[no-untyped-def]
    created = await api.post("vault", {"password": PASSWORD})
    assert created.code == 201, created.text


async def state(api) -> str:  # type: ignore[no-untyped-def]
    return (await api.get("vault")).json["state"]


# --- state -------------------------------------------------------------------------------


async def test_state_reports_two_factor_off_for_a_new_vault(api) -> None:
    await create_vault(api)
    body = (await api.get("vault")).json
    assert (body["state"], body["totp_enabled"]) == ("unlocked", False)


async def test_state_does_not_reveal_the_vault_path(api, watchdog_home: Path) -> None:
    await create_vault(api)
    assert str(watchdog_home) not in (await api.get("vault")).text


# --- create ------------------------------------------------------------------------------


async def test_create_makes_an_unlocked_vault_on_disk(api, watchdog_home: Path) -> None:
    created = await api.post("vault", {"password": PASSWORD})
    assert created.code == 201
    assert created.json["state"] == "unlocked"
    assert (watchdog_home / "vault.db").exists()


async def test_create_refuses_a_second_vault_with_409(api) -> None:
    await create_vault(api)
    again = await api.post("vault", {"password": NEW_PASSWORD})
    assert again.code == 409
    assert again.json["reason"] == "vault_exists"


async def test_create_refuses_a_weak_password_and_creates_nothing(api) -> None:
    refused = await api.post("vault", {"password": "short"})
    assert refused.code == 422
    assert refused.json["reason"] == "weak_password"
    assert "at least 8" in refused.json["message"]
    assert await state(api) == "absent"


# --- unlock and lock ---------------------------------------------------------------------


async def test_unlock_with_the_password_unlocks(api, make_vault) -> None:
    make_vault(PASSWORD)
    unlocked = await api.post("vault/unlock", {"password": PASSWORD})
    assert unlocked.code == 200
    assert unlocked.json["state"] == "unlocked"


async def test_wrong_password_is_a_422_not_a_session_error(api, make_vault) -> None:
    make_vault(PASSWORD)
    refused = await api.post("vault/unlock", {"password": "not the password"})
    assert refused.code == 422
    assert refused.json["reason"] == "wrong_password"
    assert await state(api) == "locked"


async def test_unlock_without_a_vault_is_a_409_not_a_404(api) -> None:
    refused = await api.post("vault/unlock", {"password": PASSWORD})
    assert refused.code == 409
    assert refused.json["reason"] == "vault_absent"


async def test_repeated_failures_are_throttled_with_retry_after(api, make_vault) -> None:
    make_vault(PASSWORD)
    for _ in range(3):
        assert (await api.post("vault/unlock", {"password": "wrong password"})).code == 422
    throttled = await api.post("vault/unlock", {"password": PASSWORD})
    assert throttled.code == 429
    assert throttled.json["reason"] == "throttled"
    assert int(throttled.headers["Retry-After"]) >= 1
    assert await state(api) == "locked"


async def test_lock_drops_the_key(api, watchdog_app) -> None:
    await create_vault(api)
    locked = await api.post("vault/lock")
    assert locked.code == 200
    assert locked.json["state"] == "locked"
    assert watchdog_app.vault.state.value == "locked"
    assert (await api.get("connections")).code == 423


async def test_locking_a_locked_vault_is_not_an_error(api, make_vault) -> None:
    make_vault(PASSWORD)
    assert (await api.post("vault/lock")).json["state"] == "locked"


async def test_locked_vault_answers_423_with_a_clear_message(api, make_vault) -> None:
    make_vault(PASSWORD)
    refused = await api.get("connections")
    assert refused.code == 423
    assert refused.json["reason"] == "vault_locked"
    assert "Unlock it" in refused.json["message"]


async def test_unlock_feeds_the_servers_redactor(api, make_vault, watchdog_app) -> None:
    from watchdog_lab.vault import CreateConnection

    vault = make_vault(PASSWORD)
    vault.add_connection(
        CreateConnection(name="Exchange", kind="generic", fields={"api_key": SECRET})
    )
    assert watchdog_app.redactor.redact(SECRET) == SECRET
    await api.post("vault/unlock", {"password": PASSWORD})
    assert watchdog_app.redactor.redact(SECRET) == "[REDACTED:Exchange.api_key]"


async def test_redactor_keeps_values_after_lock(api, make_vault, watchdog_app) -> None:
    from watchdog_lab.vault import CreateConnection

    make_vault(PASSWORD).add_connection(
        CreateConnection(name="Exchange", kind="generic", fields={"api_key": SECRET})
    )
    await api.post("vault/unlock", {"password": PASSWORD})
    await api.post("vault/lock")
    assert SECRET not in watchdog_app.redactor.redact(f"key={SECRET}")


# --- password ----------------------------------------------------------------------------


async def test_password_change_makes_only_the_new_password_work(api) -> None:
    await create_vault(api)
    changed = await api.post(
        "vault/password", {"old_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert changed.code == 200
    await api.post("vault/lock")
    assert (await api.post("vault/unlock", {"password": PASSWORD})).code == 422
    assert (await api.post("vault/unlock", {"password": NEW_PASSWORD})).code == 200


async def test_password_change_with_a_wrong_old_password_changes_nothing(api) -> None:
    await create_vault(api)
    refused = await api.post(
        "vault/password", {"old_password": "not it at all", "new_password": NEW_PASSWORD}
    )
    assert refused.code == 422
    assert refused.json["reason"] == "wrong_password"
    await api.post("vault/lock")
    assert (await api.post("vault/unlock", {"password": PASSWORD})).code == 200


async def test_password_change_refuses_a_weak_new_password(api) -> None:
    await create_vault(api)
    refused = await api.post("vault/password", {"old_password": PASSWORD, "new_password": "x"})
    assert refused.code == 422
    assert refused.json["reason"] == "weak_password"


# --- two-factor --------------------------------------------------------------------------


async def enrol(api) -> tuple[str, float]:  # type: ignore[no-untyped-def]
    """Turn two-factor on with the code of the previous 30 s step; returns (seed, now).

    The codes of ``now`` and ``now + 30`` are then still unused and accepted (one step of drift
    either side). Waits out the end of a step so the calls do not straddle a boundary.
    """
    while time.time() % 30 > 27:
        time.sleep(0.2)
    now = time.time()
    begun = await api.post("vault/totp", {"password": PASSWORD})
    assert begun.code == 200, begun.text
    secret = begun.json["secret"]
    confirmed = await api.post(
        "vault/totp/confirm",
        {"password": PASSWORD, "secret": secret, "code": totp.code_at(secret, now - 30)},
    )
    assert confirmed.code == 200, confirmed.text
    return secret, now


async def test_totp_enrolment_returns_the_seed_and_its_uri_once(api) -> None:
    await create_vault(api)
    begun = await api.post("vault/totp", {"password": PASSWORD})
    assert begun.code == 200
    assert begun.json["provisioning_uri"].startswith("otpauth://totp/")
    assert f"secret={begun.json['secret']}" in begun.json["provisioning_uri"]
    # Not stored until confirmed: two-factor is still off and the seed appears nowhere else.
    status = await api.get("vault")
    assert status.json["totp_enabled"] is False
    assert begun.json["secret"] not in status.text


async def test_confirmed_totp_is_required_at_unlock(api) -> None:
    await create_vault(api)
    await enrol(api)
    assert (await api.get("vault")).json["totp_enabled"] is True
    await api.post("vault/lock")
    refused = await api.post("vault/unlock", {"password": PASSWORD})
    assert refused.code == 422
    assert refused.json["reason"] == "totp_required"


async def test_wrong_totp_code_is_told_apart_from_a_wrong_password(api) -> None:
    await create_vault(api)
    await enrol(api)
    await api.post("vault/lock")
    refused = await api.post("vault/unlock", {"password": PASSWORD, "totp_code": "000000"})
    assert refused.code == 422
    assert refused.json["reason"] == "invalid_totp_code"


async def test_unlock_with_password_and_code_then_disable_totp(api) -> None:
    await create_vault(api)
    secret, now = await enrol(api)
    await api.post("vault/lock")
    unlocked = await api.post(
        "vault/unlock", {"password": PASSWORD, "totp_code": totp.code_at(secret, now)}
    )
    assert (unlocked.json["state"], unlocked.json["totp_enabled"]) == ("unlocked", True)
    disabled = await api.delete(
        "vault/totp", {"password": PASSWORD, "code": totp.code_at(secret, now + 30)}
    )
    assert disabled.code == 200, disabled.text
    assert disabled.json["totp_enabled"] is False


async def test_confirm_with_a_wrong_code_leaves_two_factor_off(api) -> None:
    await create_vault(api)
    begun = await api.post("vault/totp", {"password": PASSWORD})
    refused = await api.post(
        "vault/totp/confirm",
        {"password": PASSWORD, "secret": begun.json["secret"], "code": "123456"},
    )
    assert refused.code == 422
    assert refused.json["reason"] == "invalid_totp_code"
    assert (await api.get("vault")).json["totp_enabled"] is False


async def test_enrolling_twice_is_a_409(api) -> None:
    await create_vault(api)
    await enrol(api)
    again = await api.post("vault/totp", {"password": PASSWORD})
    assert again.code == 409
    assert again.json["reason"] == "totp_already_enabled"


async def test_disabling_totp_that_is_off_is_a_409(api) -> None:
    await create_vault(api)
    refused = await api.delete("vault/totp", {"password": PASSWORD, "code": "123456"})
    assert refused.code == 409
    assert refused.json["reason"] == "totp_not_enabled"


async def test_totp_enrolment_needs_an_unlocked_vault(api, make_vault) -> None:
    make_vault(PASSWORD)
    assert (await api.post("vault/totp", {"password": PASSWORD})).code == 423


@pytest.mark.parametrize("path", ["vault/unlock", "vault/password", "vault/totp/confirm"])
async def test_routes_with_a_required_body_refuse_an_empty_one(api, make_vault, path) -> None:
    make_vault(PASSWORD)
    refused = await api.post(path)
    assert refused.code == 422
    assert refused.json["reason"] == "invalid_body"
    assert "is required" in refused.json["message"]
