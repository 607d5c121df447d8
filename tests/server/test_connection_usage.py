"""Who uses each connection (``GET watchdog-lab/connection-usage``, watchdog_lab/server/usage.py).

Bots are registered in the real registry of the server's vault; kernels are real kernels
started through the REST API and granted through the sidebar's route, as a user would.
"""

from __future__ import annotations

import time
import uuid

from tests.server.kernels import GRANT_NOTEBOOK as NOTEBOOK
from tests.server.kernels import GRANT_PASSWORD as PASSWORD
from tests.server.kernels import GRANT_SECRET as SECRET
from watchdog_lab.bots.models import BotConfig
from watchdog_lab.server.idle import IdleLock
from watchdog_lab.vault import CreateConnection

#: Seconds of the hand-moved idle lock in the auto-lock test.
TIMEOUT = 60


def usage_of(body: dict, connection: str) -> dict:  # type: ignore[type-arg]
    (found,) = [entry for entry in body["usage"] if entry["connection"] == connection]
    return found  # type: ignore[no-any-return]


def register_bot(watchdog_app, name: str, grants: list[str]) -> None:  # type: ignore[no-untyped-def]
    bot_id = uuid.uuid4().hex
    config = BotConfig(id=bot_id, name=name, kernel_name=f"watchdog-bot-{bot_id}")
    watchdog_app.bots.registry.create(config, grants)


async def test_usage_lists_the_notebook_whose_kernel_holds_a_grant(kernels, kalshi, api) -> None:
    kernel = await kernels.start(NOTEBOOK)
    body = {"connection": "Kalshi", "password": PASSWORD}
    assert (await api.post(f"kernels/{kernel.id}/grants", body)).code == 201

    response = await api.get("connection-usage")

    assert response.code == 200
    assert usage_of(response.json, "Kalshi")["kernels"] == [
        {"kernel_id": kernel.id, "path": NOTEBOOK}
    ]
    assert SECRET not in response.text and PASSWORD not in response.text


async def test_a_revoked_kernel_no_longer_uses_the_connection(kernels, kalshi, api) -> None:
    kernel = await kernels.start(NOTEBOOK)
    body = {"connection": "Kalshi", "password": PASSWORD}
    assert (await api.post(f"kernels/{kernel.id}/grants", body)).code == 201
    assert (await api.delete(f"kernels/{kernel.id}/grants/Kalshi")).code == 200

    usage = usage_of((await api.get("connection-usage")).json, "Kalshi")

    assert usage["kernels"] == [] and usage["remembered"] == []


async def test_usage_lists_the_bots_granted_a_connection_by_name(kalshi, api, watchdog_app) -> None:
    other = watchdog_app.vault.add_connection(
        CreateConnection(name="Binance", kind="generic", fields={"secret": "x" * 24})
    ).id
    register_bot(watchdog_app, "momentum", [kalshi])
    register_bot(watchdog_app, "arbitrage", [kalshi, other])
    register_bot(watchdog_app, "idle-bot", [])

    body = (await api.get("connection-usage")).json

    assert usage_of(body, "Kalshi")["bots"] == ["arbitrage", "momentum"]
    assert usage_of(body, "Binance")["bots"] == ["arbitrage"]


async def test_usage_lists_the_notebooks_that_remember_a_grant(kalshi, api, watchdog_app) -> None:
    watchdog_app.broker.remembered.add("research/a.ipynb", kalshi, time.time())

    usage = usage_of((await api.get("connection-usage")).json, "Kalshi")

    assert usage["remembered"] == ["research/a.ipynb"]


async def test_an_unused_connection_is_listed_with_no_users(kalshi, api) -> None:
    usage = usage_of((await api.get("connection-usage")).json, "Kalshi")

    assert (usage["connection_id"], usage["bots"], usage["kernels"], usage["remembered"]) == (
        kalshi,
        [],
        [],
        [],
    )


async def test_usage_of_a_locked_vault_is_refused_with_423(kalshi, api, watchdog_app) -> None:
    watchdog_app.vault.lock()

    response = await api.get("connection-usage")

    assert response.code == 423 and response.json["reason"] == "vault_locked"


async def test_usage_needs_jupyter_authentication(kalshi, api) -> None:
    response = await api.get("connection-usage", auth=False)

    assert response.code == 403
    assert "Kalshi" not in response.text


async def test_reading_usage_does_not_hold_off_the_auto_lock(kalshi, api, watchdog_app) -> None:
    """The sidebar reads it on a poll: an open sidebar must not keep the vault unlocked."""
    now = [1000.0]
    watchdog_app.idle_lock.stop()
    watchdog_app.idle_lock = IdleLock(lambda: watchdog_app.vault, TIMEOUT, clock=lambda: now[0])
    watchdog_app.idle_lock.touch()
    now[0] += TIMEOUT / 2

    assert (await api.get("connection-usage")).code == 200

    now[0] += TIMEOUT / 2
    assert watchdog_app.idle_lock.check() is True
