"""The backup routes (watchdog_lab/server/backup_handlers.py) on a real Jupyter server."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from traitlets.config import Config

from watchdog_lab.backup import BackupManager, key_from_vault
from watchdog_lab.vault import RateLimitPolicy, Vault

from .conftest import server_config

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a different long passphrase"
TOKEN = "tok-live-7d1c9b2e4f6a8c0e2d4f6b8a0c2e4d6f"
NAME = "Exchange Main"


@pytest.fixture
def jp_server_config(watchdog_home: Path) -> Config:
    # Automatic backups on, with a short debounce, so a test sees one without waiting long.
    return server_config(watchdog_home, backup_debounce_seconds=0.2)


async def _vault_with_connection(api) -> None:  # type: ignore[no-untyped-def]
    assert (await api.post("vault", {"password": PASSWORD})).code == 201
    body = {"name": NAME, "kind": "generic", "fields": {"token": TOKEN}}
    assert (await api.post("connections", body)).code == 201


async def _create(api) -> str:  # type: ignore[no-untyped-def]
    created = await api.post("backups", {})
    assert created.code == 201, created.text
    assert set(created.json) == {"id", "created_at", "size_bytes", "reason"}
    assert created.json["reason"] == "manual"
    return str(created.json["id"])


def _no_secret(text: str) -> None:
    for value in (PASSWORD, NEW_PASSWORD, TOKEN):
        assert value not in text
        assert base64.b64encode(value.encode()).decode()[:16] not in text


async def test_list_create_and_verify(api) -> None:  # type: ignore[no-untyped-def]
    empty = (await api.get("backups")).json
    assert empty == {
        "backups": [],
        "retention_days": 30,
        "automatic": True,
        "last_automatic_at": None,
        "last_error": None,
    }
    await _vault_with_connection(api)
    backup_id = await _create(api)
    listing = await api.get("backups")
    assert listing.code == 200
    assert backup_id in [b["id"] for b in listing.json["backups"]]
    assert listing.json["backups"][0]["created_at"].endswith("Z")

    verified = await api.post(f"backups/{backup_id}/verify", {})
    assert verified.code == 200
    assert verified.json == {"id": backup_id, "ok": True, "problems": [], "checked_files": 1}


async def test_a_tampered_backup_verifies_as_not_ok(api, watchdog_home: Path) -> None:  # type: ignore[no-untyped-def]
    await _vault_with_connection(api)
    backup_id = await _create(api)
    path = BackupManager(watchdog_home).path_of(backup_id)
    data = bytearray(path.read_bytes())
    data[-300] ^= 0x01
    path.write_bytes(bytes(data))

    verified = (await api.post(f"backups/{backup_id}/verify", {})).json
    assert verified["ok"] is False
    assert "vault.db" in verified["problems"][0]


async def test_a_second_manual_backup_within_the_pacing_interval_is_refused_with_429(
    api,
) -> None:  # type: ignore[no-untyped-def]
    # Kernel code can read the token: it must not be able to fill the disk with snapshots.
    await _vault_with_connection(api)
    await _create(api)

    again = await api.post("backups", {})

    assert again.code == 429, again.text
    assert 1 <= int(again.headers["Retry-After"]) <= 60
    assert "backup_min_interval_seconds" in again.json["message"]
    assert [b["reason"] for b in (await api.get("backups")).json["backups"]] == ["manual"]


async def test_create_while_locked_is_refused_with_409(api) -> None:  # type: ignore[no-untyped-def]
    await _vault_with_connection(api)
    await api.post("vault/lock", {})
    refused = await api.post("backups", {})
    assert refused.code == 409
    assert refused.json["reason"] == "backup_needs_unlock"
    assert "unlock" in refused.json["message"].lower()


@pytest.mark.parametrize(
    "hostile", ["..%2F..%2Fetc%2Fpasswd", "a" * 4000, "ABCDEF0123456789", "%00", "0123456789abcde"]
)
async def test_hostile_ids_are_refused(api, hostile: str) -> None:  # type: ignore[no-untyped-def]
    await _vault_with_connection(api)
    for path in (f"backups/{hostile}/verify", f"backups/{hostile}/restore"):
        refused = await api.post(path, {"password": PASSWORD})
        assert 400 <= refused.code < 500, (path, refused.code)
        assert refused.json["reason"] == "invalid_backup_id"


async def test_an_unknown_id_is_404(api) -> None:  # type: ignore[no-untyped-def]
    await _vault_with_connection(api)
    missing = await api.post("backups/0123456789abcdef/verify", {})
    assert (missing.code, missing.json["reason"]) == (404, "backup_not_found")


async def test_restore_needs_the_password(api) -> None:  # type: ignore[no-untyped-def]
    await _vault_with_connection(api)
    backup_id = await _create(api)
    await api.delete(f"connections/{quote(NAME)}", {"password": PASSWORD})

    without = await api.post(f"backups/{backup_id}/restore", {})
    assert (without.code, without.json["reason"]) == (422, "password_required")
    wrong = await api.post(f"backups/{backup_id}/restore", {"password": "not the password"})
    assert (wrong.code, wrong.json["reason"]) == (422, "wrong_password")
    assert (await api.get("connections")).json["connections"] == []


async def test_restore_brings_back_a_removed_connection_and_locks_the_vault(
    api, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    await _vault_with_connection(api)
    backup_id = await _create(api)
    assert (await api.delete(f"connections/{quote(NAME)}", {"password": PASSWORD})).code == 204
    # A password change afterwards: the same vault, so the current password is the consent.
    changed = await api.post(
        "vault/password", {"old_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert changed.code == 200

    restored = await api.post(f"backups/{backup_id}/restore", {"password": NEW_PASSWORD})

    assert restored.code == 200, restored.text
    body = restored.json
    assert set(body) == {"id", "restored_from", "safety_backup", "connections", "bots"}
    assert (body["id"], body["connections"], body["bots"]) == (backup_id, 1, 0)
    assert (await api.get("vault")).json["state"] == "locked"
    # The restored vault opens with the password it had when the backup was made.
    assert (await api.post("vault/unlock", {"password": PASSWORD})).code == 200
    names = [c["name"] for c in (await api.get("connections")).json["connections"]]
    assert names == [NAME]
    listing = (await api.get("backups")).json["backups"]
    assert {b["id"]: b["reason"] for b in listing}[body["safety_backup"]] == "pre-restore"
    # The restored vault's audit trail says where its state came from.
    events = (await api.get("audit?limit=5")).json["events"]
    restored_events = [e for e in events if e["event"] == "backup.restored"]
    assert len(restored_events) == 1
    assert backup_id in restored_events[0]["note"]
    assert body["safety_backup"] in restored_events[0]["note"]
    verified = await api.post(f"backups/{backup_id}/verify", {})
    for response in (restored, verified, await api.get("backups"), await api.post("backups", {})):
        _no_secret(response.text)
    _no_secret(caplog.text)


async def test_a_vault_change_is_backed_up_automatically(api) -> None:  # type: ignore[no-untyped-def]
    await _vault_with_connection(api)
    await _create(api)  # today's snapshot: only a change makes another
    body = {"name": "Second", "kind": "generic", "fields": {"token": TOKEN + "2"}}
    assert (await api.post("connections", body)).code == 201

    deadline = time.monotonic() + 15
    reasons: list[str] = []
    while time.monotonic() < deadline:
        listing = (await api.get("backups")).json
        reasons = [b["reason"] for b in listing["backups"]]
        if "automatic" in reasons and listing["last_automatic_at"] is not None:
            break
        await asyncio.sleep(0.1)
    assert "automatic" in reasons
    assert listing["last_automatic_at"] is not None


async def test_restore_is_refused_while_a_bot_runs(api, watchdog_home: Path) -> None:  # type: ignore[no-untyped-def]
    from watchdog_lab.bots.layout import BotPaths
    from watchdog_lab.bots.models import BotStatus
    from watchdog_lab.bots.status import self_identity, write_status

    await _vault_with_connection(api)
    backup_id = await _create(api)
    paths = BotPaths(watchdog_home, "0" * 32)
    paths.create()
    pid, start = self_identity()  # this process stands for the bot's live runner
    write_status(
        paths.status_file, BotStatus(bot_id=paths.bot_id, state="running", pid=pid, pid_start=start)
    )

    refused = await api.post(f"backups/{backup_id}/restore", {"password": PASSWORD})

    assert (refused.code, refused.json["reason"]) == (409, "bots_running")
    assert "stop them first" in refused.json["message"]
    assert (await api.get("vault")).json["state"] == "unlocked"  # nothing was touched


async def test_prune_removes_snapshots_past_the_retention_but_never_the_newest(
    api, watchdog_home: Path
) -> None:  # type: ignore[no-untyped-def]
    await _vault_with_connection(api)
    with Vault(watchdog_home, rate_limit=RateLimitPolicy(free_attempts=100)) as vault:
        vault.unlock(PASSWORD)
        key = key_from_vault(vault)
        made = {}
        for days in (40, 31):
            then = time.time() - days * 86400
            made[days] = BackupManager(watchdog_home, clock=lambda t=then: t).create(key).id

    pruned = await api.post("backups/prune", {})

    assert pruned.code == 200, pruned.text
    assert pruned.json == {"removed": [made[40]], "retention_days": 30}
    assert [b["id"] for b in (await api.get("backups")).json["backups"]] == [made[31]]
