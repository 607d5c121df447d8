"""An over-long password sent to a route is refused by the vault before any key derivation or
rate limiting, with a message naming the maximum."""

from __future__ import annotations

from watchdog_lab.vault.manager import PASSWORD_MAX

PASSWORD = "correct horse battery staple"
HUGE = "p" * (256 * 1024)


async def test_unlock_refuses_a_huge_password_without_spending_an_attempt(api, make_vault) -> None:
    make_vault(PASSWORD)
    refused = await api.post("vault/unlock", {"password": HUGE})
    assert refused.code == 422
    assert f"at most {PASSWORD_MAX} characters" in refused.json["message"]
    # Three failures throttle the next unlock; the huge password was not one of them.
    for _ in range(2):
        wrong = await api.post("vault/unlock", {"password": "not the password"})
        assert wrong.json["reason"] == "wrong_password"
    assert (await api.post("vault/unlock", {"password": PASSWORD})).code == 200


async def test_create_refuses_a_huge_password_and_creates_nothing(api) -> None:
    refused = await api.post("vault", {"password": HUGE})
    assert refused.code == 422
    assert f"at most {PASSWORD_MAX} characters" in refused.json["message"]
    assert (await api.get("vault")).json["state"] == "absent"
