"""Secrets never enter the server's environment, which every kernel it starts inherits.

The server runs in the test process (pytest-jupyter), so the server's ``os.environ`` is this
process's; a kernel started through the server shows what a kernel really inherits.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from watchdog_lab.redact import variants

PASSWORD = "correct horse battery staple"
SECRET = "sk-test-5f0c1a9e8b7d6c4e3a2b1908f7e6d5c4"
NEW_SECRET = "sk-test-99aa88bb77cc66dd55ee44ff33001122"
KEY_ID = "a1b2c3d4-e5f6-4a5b-9c8d-7e6f5a4b3c2d"


def secret_forms() -> set[str]:
    forms: set[str] = set()
    for value in (SECRET, NEW_SECRET, KEY_ID, PASSWORD):
        forms |= variants(value)
    return forms


def leaks(environment: dict[str, str]) -> list[str]:
    """Names of the variables whose name or value holds any form of a secret."""
    forms = secret_forms()
    return sorted(
        name
        for name, value in environment.items()
        if any(form in value or form in name for form in forms)
    )


async def use_the_vault(api) -> None:  # type: ignore[no-untyped-def]
    """Create, unlock, add, update, rename, read: every path that decrypts a value."""
    assert (await api.post("vault", {"password": PASSWORD})).code == 201
    assert (await api.post("vault/lock")).code == 200
    assert (await api.post("vault/unlock", {"password": PASSWORD})).code == 200
    created = await api.post(
        "connections",
        {
            "name": "Exchange",
            "kind": "ccxt:binance",
            "fields": {"apiKey": KEY_ID, "secret": SECRET},
        },
    )
    assert created.code == 201
    update = {"fields": {"secret": NEW_SECRET}, "password": PASSWORD}
    assert (await api.patch("connections/Exchange", update)).code == 200
    assert (await api.post("connections/Exchange/rename", {"new_name": "Binance"})).code == 200
    assert (await api.get("connections/Binance")).code == 200
    assert (await api.get("connections")).code == 200


async def test_the_servers_environment_holds_no_secret(api, watchdog_app) -> None:
    await use_the_vault(api)
    assert watchdog_app.vault.get_connection("Binance").fields["secret"] == NEW_SECRET
    assert leaks(dict(os.environ)) == []


async def test_granting_a_kernel_a_connection_puts_no_secret_in_the_environment(
    api, jp_fetch
) -> None:
    await use_the_vault(api)
    started = await jp_fetch("api", "kernels", method="POST", body=json.dumps({}))
    kernel_id = json.loads(started.body)["id"]
    try:
        granted = await api.post(
            f"kernels/{kernel_id}/grants", {"connection": "Binance", "password": PASSWORD}
        )
        assert granted.code in (200, 201), granted.text
        assert leaks(dict(os.environ)) == []
    finally:
        await jp_fetch("api", "kernels", kernel_id, method="DELETE")


async def test_a_kernel_started_by_the_server_inherits_no_secret(
    api, jp_fetch, jp_serverapp
) -> None:
    await use_the_vault(api)
    started = await jp_fetch("api", "kernels", method="POST", body=json.dumps({}))
    kernel_id = json.loads(started.body)["id"]
    try:
        kernel = jp_serverapp.kernel_manager.get_kernel(kernel_id)
        pid = kernel.provisioner.process.pid
        raw = Path(f"/proc/{pid}/environ").read_bytes()
        environment = dict(
            entry.split("=", 1)
            for entry in raw.decode(errors="replace").split("\0")
            if "=" in entry
        )
        assert "PATH" in environment  # really the kernel's environment
        assert leaks(environment) == []
    finally:
        await jp_fetch("api", "kernels", kernel_id, method="DELETE")
        await asyncio.sleep(0)
