"""The vault and the bots as a kernel sees them (watchdog_lab/server/kernel_handlers.py).

Every call is made from inside a real kernel the test server started, through the SDK's
``BrokerClient`` with the kernel's own token, as ``%wd`` and ``wd.panel()`` make it. Secrets
never cross back to the test in clear: answers are searched for them.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from watchdog_lab.sdk.broker import TOKEN_HEADER
from watchdog_lab.server.broker_handlers import KernelRouteHandler, _is_loopback
from watchdog_lab.server.kernel_handlers import routes as kernel_routes

from .botapi import write_notebook
from .conftest import concrete_path, implemented_methods
from .kernels import GRANT_NOTEBOOK, GRANT_PASSWORD, GRANT_SECRET

NEW_SECRET = "sk-live-N3wV4lu3fR0mAK3rn3lXq9Zp2Lm8Tt"

pytestmark = pytest.mark.usefixtures("stop_bots")


@pytest.fixture
def jp_server_config(bots_server_config: Config) -> Config:
    return bots_server_config


async def call(kernel: Any, code: str) -> dict[str, Any]:
    answer: dict[str, Any] = await kernel.broker(code)
    return answer


async def wait_job(kernel: Any, job_id: str, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        job = await call(kernel, f"job({job_id!r})")
        if job.get("state") != "running":
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"promote job still running: {job}")


# --- the vault -------------------------------------------------------------------------------


async def test_a_kernel_reads_the_vault_state_and_can_lock_it(
    kernels, kalshi, watchdog_app
) -> None:
    kernel = await kernels.start()
    assert (await call(kernel, "vault()"))["state"] == "unlocked"
    assert (await call(kernel, "lock()"))["state"] == "locked"
    assert watchdog_app.vault.state.value == "locked"


async def test_a_kernel_unlocks_with_the_password_only(kernels, kalshi, watchdog_app) -> None:
    watchdog_app.vault.lock()
    kernel = await kernels.start()
    refused = await call(kernel, "unlock('not the password')")
    assert refused["reason"] == "wrong_password"
    assert watchdog_app.vault.state.value == "locked"
    assert (await call(kernel, f"unlock({GRANT_PASSWORD!r})"))["state"] == "unlocked"


async def test_connections_listed_to_a_kernel_are_masked(kernels, kalshi) -> None:
    kernel = await kernels.start()
    listing = await call(kernel, "connections()")
    assert [c["name"] for c in listing["connections"]] == ["Kalshi"]
    assert GRANT_SECRET not in json.dumps(listing)


async def test_a_kernel_adds_a_connection_only_with_the_password(
    kernels, kalshi, watchdog_app, api
) -> None:
    kernel = await kernels.start()
    token = (await kernel.environ())["WATCHDOG_LAB_KERNEL_TOKEN"]
    body = {"name": "Binance", "kind": "generic", "fields": {"api_secret": NEW_SECRET}}
    refused = await api.post("broker/connections", body, headers={TOKEN_HEADER: token}, auth=False)
    assert refused.code == 422 and refused.json["reason"] == "password_required"
    assert "Binance" not in watchdog_app.vault.connection_names().values()

    added = await call(
        kernel,
        f"add_connection('Binance', 'generic', {{'api_secret': {NEW_SECRET!r}}}, "
        f"{GRANT_PASSWORD!r})",
    )
    assert added["name"] == "Binance" and NEW_SECRET not in json.dumps(added)
    assert watchdog_app.vault.get_connection("Binance").fields["api_secret"] == NEW_SECRET


async def test_a_kernel_removes_a_connection_only_with_the_password(
    kernels, kalshi, watchdog_app
) -> None:
    kernel = await kernels.start()
    refused = await call(kernel, "remove_connection('Kalshi', 'wrong password')")
    assert refused["reason"] == "wrong_password"
    assert await call(kernel, f"remove_connection('Kalshi', {GRANT_PASSWORD!r})") == {}
    assert "Kalshi" not in watchdog_app.vault.connection_names().values()


async def test_a_new_connection_is_redacted_from_then_on(kernels, kalshi, watchdog_app) -> None:
    kernel = await kernels.start()
    await call(
        kernel,
        f"add_connection('Binance', 'generic', {{'api_secret': {NEW_SECRET!r}}}, "
        f"{GRANT_PASSWORD!r})",
    )
    assert NEW_SECRET not in watchdog_app.redactor.redact(f"leaked {NEW_SECRET}")


# --- only the kernel token opens these routes -------------------------------------------------


async def test_the_jupyter_token_alone_gets_nothing_from_the_kernel_routes(api, kalshi) -> None:
    for pattern, handler in kernel_routes():
        path = concrete_path(pattern).removeprefix("/watchdog-lab/")
        for method in implemented_methods(handler):
            response = await api.call(method, path, {} if method != "GET" else None)
            assert response.code == 403, (method, path, response.code)


def test_every_kernel_route_authenticates_by_kernel_token_and_loopback_first() -> None:
    """Each route's prepare is the broker's own: the token and the loopback address are checked
    before any method runs (a route built on another base would skip both)."""
    for _pattern, handler in kernel_routes():
        assert issubclass(handler, KernelRouteHandler), handler
        assert handler.prepare is KernelRouteHandler.prepare, handler


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.0.0.5", False),
        ("192.168.1.2", False),
        ("::ffff:10.0.0.5", False),
        ("fe80::1%eth0", False),
        ("", False),
        (None, False),
        ("localhost", False),
    ],
)
def test_only_a_loopback_address_reaches_the_kernel_routes(
    address: str | None, loopback: bool
) -> None:
    assert _is_loopback(address) is loopback


async def test_a_kernel_route_answers_only_the_methods_it_lists(kernels, kalshi, api) -> None:
    kernel = await kernels.start()
    token = (await kernel.environ())["WATCHDOG_LAB_KERNEL_TOKEN"]
    # The sidebar's POST vault (create a vault) is not the kernel's: refused, not run.
    response = await api.post(
        "broker/vault", {"password": "x" * 20}, headers={TOKEN_HEADER: token}, auth=False
    )
    assert response.code in (403, 405), response.text


# --- bots -----------------------------------------------------------------------------------


def _notebook(root: Path, *sources: str) -> Path:
    return write_notebook(root / GRANT_NOTEBOOK, *sources)


async def test_a_kernel_promotes_its_own_notebook(kernels, kalshi, jp_root_dir) -> None:
    _notebook(jp_root_dir, "print('hello from the bot')")
    kernel = await kernels.start(GRANT_NOTEBOOK)
    job = await call(kernel, "promote('from-kernel', start=False)")
    final = await wait_job(kernel, job["id"])
    assert final["state"] == "done", final
    bots = await call(kernel, "bots()")
    assert [b["name"] for b in bots["bots"]] == ["from-kernel"]


async def test_a_kernel_cannot_name_the_notebook_it_promotes(
    kernels, kalshi, api, jp_root_dir
) -> None:
    _notebook(jp_root_dir, "print('mine')")
    write_notebook(jp_root_dir / "other.ipynb", "print('not mine')")
    kernel = await kernels.start(GRANT_NOTEBOOK)
    token = (await kernel.environ())["WATCHDOG_LAB_KERNEL_TOKEN"]
    response = await api.post(
        "broker/bots",
        {"name": "elsewhere", "notebook": "other.ipynb"},
        headers={TOKEN_HEADER: token},
        auth=False,
    )
    assert response.code == 422 and "notebook" in response.json["message"]


async def test_a_kernel_without_a_notebook_has_nothing_to_promote(kernels, kalshi) -> None:
    kernel = await kernels.start()
    refused = await call(kernel, "promote('orphan')")
    assert refused["status"] == 409 and "%wd promote" in refused["error"]


async def test_promote_from_a_kernel_with_connections_needs_the_password(
    kernels, kalshi, jp_root_dir
) -> None:
    _notebook(jp_root_dir, "print('keys')")
    kernel = await kernels.start(GRANT_NOTEBOOK)
    refused = await call(kernel, "promote('keyed', connections=['Kalshi'])")
    assert refused["reason"] == "password_required"
    assert (await call(kernel, "bots()"))["bots"] == []


async def test_the_plan_is_of_the_kernels_own_notebook(kernels, kalshi, jp_root_dir) -> None:
    _notebook(jp_root_dir, "import reqeusts")
    kernel = await kernels.start(GRANT_NOTEBOOK)
    plan = await call(kernel, "plan()")
    assert plan["notebook"] == GRANT_NOTEBOOK
    assert [(d["spec"], d["verdict"]) for d in plan["dependencies"]] == [("reqeusts", "flagged")]
    allowed = await call(kernel, "plan(['reqeusts'])")
    assert allowed["ok"] is True


async def test_a_kernel_stops_reads_the_logs_of_and_deletes_a_bot(
    kernels, kalshi, jp_root_dir
) -> None:
    _notebook(jp_root_dir, "import time\nprint('tick', flush=True)\ntime.sleep(600)")
    kernel = await kernels.start(GRANT_NOTEBOOK)
    final = await wait_job(kernel, (await call(kernel, "promote('ticker')"))["id"])
    assert final["state"] == "done", final
    deadline = time.monotonic() + 60
    messages: list[str] = []
    while time.monotonic() < deadline and not any("tick" in m for m in messages):
        page = await call(kernel, "logs('ticker', after=0)")
        messages = [r["text"] for r in page["records"]]
        await asyncio.sleep(0.2)
    assert any("tick" in m for m in messages), messages
    stopped = await call(kernel, "bot_action('ticker', 'stop')")
    assert stopped["status"]["state"] == "stopped"
    refused = await call(kernel, "delete_bot('ticker', 'wrong password')")
    assert refused["reason"] == "wrong_password"
    assert await call(kernel, f"delete_bot('ticker', {GRANT_PASSWORD!r})") == {}
    assert (await call(kernel, "bots()"))["bots"] == []
