"""The connection routes (watchdog_lab/server/vault_handlers.py) on a real server."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

import pytest

PASSWORD = "correct horse battery staple"
SECRET = "sk-test-5f0c1a9e8b7d6c4e3a2b1908f7e6d5c4"
OTHER_SECRET = "sk-test-0a1b2c3d4e5f60718293a4b5c6d7e8f9"


@pytest.fixture
def unlocked(watchdog_app) -> None:  # type: ignore[no-untyped-def]
    """The server's vault, created and left unlocked (as ``POST vault`` would)."""
    watchdog_app.vault.create(PASSWORD)


async def add(api, name: str = "Exchange", value: str = SECRET):  # type: ignore[no-untyped-def]
    created = await api.post(
        "connections", {"name": name, "kind": "generic", "fields": {"api_key": value}}
    )
    assert created.code == 201, created.text
    return created


async def names(api) -> list[str]:  # type: ignore[no-untyped-def]
    listing = await api.get("connections")
    assert listing.code == 200, listing.text
    return [c["name"] for c in listing.json["connections"]]


async def test_create_answers_the_masked_connection(api, unlocked) -> None:
    created = await add(api)
    assert created.json["name"] == "Exchange"
    assert created.json["kind"] == "generic"
    assert created.json["fields"] == {"api_key": "***"}
    assert SECRET not in created.text


async def test_list_shows_every_connection_masked(api, unlocked) -> None:
    await add(api, "Beta", SECRET)
    await add(api, "alpha", OTHER_SECRET)
    listing = await api.get("connections")
    assert [c["name"] for c in listing.json["connections"]] == ["alpha", "Beta"]
    assert all(c["fields"] == {"api_key": "***"} for c in listing.json["connections"])


async def test_get_finds_a_url_encoded_name_case_insensitively(api, unlocked) -> None:
    await add(api, "My Kalshi.prod")
    found = await api.get(f"connections/{quote('my kalshi.PROD', safe='')}")
    assert found.code == 200
    assert found.json["name"] == "My Kalshi.prod"


async def test_get_of_an_unknown_name_is_a_404(api, unlocked) -> None:
    missing = await api.get("connections/Nope")
    assert missing.code == 404
    assert missing.json["reason"] == "connection_not_found"
    assert "Nope" in missing.json["message"]


async def test_create_refuses_a_duplicate_name_with_409(api, unlocked) -> None:
    await add(api, "Exchange")
    again = await api.post(
        "connections", {"name": "EXCHANGE", "kind": "generic", "fields": {"x": "y"}}
    )
    assert again.code == 409
    assert again.json["reason"] == "duplicate_connection"
    assert await names(api) == ["Exchange"]


async def test_create_refuses_an_unknown_kind_with_422(api, unlocked) -> None:
    refused = await api.post("connections", {"name": "X", "kind": "nonsense", "fields": {}})
    assert refused.code == 422
    assert refused.json["reason"] == "invalid_connection"
    assert "Known kinds" in refused.json["message"]


async def test_create_refuses_fields_the_kind_lacks(api, unlocked) -> None:
    refused = await api.post(
        "connections", {"name": "Claude", "kind": "anthropic", "fields": {"apikey": SECRET}}
    )
    assert refused.code == 422
    assert "has no field 'apikey'" in refused.json["message"]
    assert SECRET not in refused.text


async def test_patch_changes_a_value_and_teaches_the_redactor(api, unlocked, watchdog_app) -> None:
    await add(api)
    update = {"fields": {"api_key": OTHER_SECRET}, "password": PASSWORD}
    updated = await api.patch("connections/Exchange", update)
    assert updated.code == 200
    assert updated.json["fields"] == {"api_key": "***"}
    assert OTHER_SECRET not in watchdog_app.redactor.redact(OTHER_SECRET)
    assert watchdog_app.vault.get_connection("Exchange").fields["api_key"] == OTHER_SECRET


async def test_patch_with_replace_sets_the_whole_field_set(api, unlocked, watchdog_app) -> None:
    await add(api)
    update = {"fields": {"token": OTHER_SECRET}, "replace": True, "password": PASSWORD}
    await api.patch("connections/Exchange", update)
    assert set(watchdog_app.vault.get_connection("Exchange").fields) == {"token"}


async def test_patch_of_an_unknown_name_is_a_404(api, unlocked) -> None:
    update = {"fields": {"a": "b"}, "password": PASSWORD}
    assert (await api.patch("connections/Nope", update)).code == 404


async def test_rename_moves_the_connection_to_its_new_name(api, unlocked) -> None:
    await add(api, "Old name")
    renamed = await api.post(f"connections/{quote('Old name')}/rename", {"new_name": "New"})
    assert renamed.code == 200
    assert renamed.json["name"] == "New"
    assert await names(api) == ["New"]
    assert (await api.get(f"connections/{quote('Old name')}")).code == 404


async def test_rename_onto_another_connection_is_a_409(api, unlocked) -> None:
    await add(api, "One", SECRET)
    await add(api, "Two", OTHER_SECRET)
    refused = await api.post("connections/One/rename", {"new_name": "two"})
    assert refused.code == 409
    assert await names(api) == ["One", "Two"]


async def test_delete_removes_the_connection(api, unlocked) -> None:
    await add(api)
    deleted = await api.delete("connections/Exchange", {"password": PASSWORD})
    assert deleted.code == 204
    assert deleted.text == ""
    assert await names(api) == []


async def test_delete_of_an_unknown_name_is_a_404(api, unlocked) -> None:
    assert (await api.delete("connections/Nope", {"password": PASSWORD})).code == 404


def corrupt_meta(watchdog_home: Path, connection_id: str) -> None:
    """Flip a byte of a connection's encrypted meta record, as disk damage would."""
    db = sqlite3.connect(watchdog_home / "vault.db")
    with db:
        (blob,) = db.execute(
            "SELECT meta FROM connections WHERE id = ?", (connection_id,)
        ).fetchone()
        damaged = bytes([blob[0], blob[1] ^ 0xFF]) + bytes(blob[2:])
        db.execute("UPDATE connections SET meta = ? WHERE id = ?", (damaged, connection_id))
    db.close()


async def test_a_corrupted_record_is_listed_and_removable_by_id(
    api, unlocked, watchdog_home: Path
) -> None:
    broken = (await add(api, "Broken", SECRET)).json["id"]
    await add(api, "Fine", OTHER_SECRET)
    corrupt_meta(watchdog_home, broken)
    listing = (await api.get("connections")).json["connections"]
    assert [(c["name"], c["status"]) for c in listing] == [("Fine", "ok"), (None, "corrupted")]
    assert listing[1]["id"] == broken
    assert (await api.delete(f"connections/by-id/{broken}", {"password": PASSWORD})).code == 204
    assert await names(api) == ["Fine"]


async def test_delete_by_id_refuses_what_is_not_an_id(api, unlocked) -> None:
    refused = await api.delete("connections/by-id/not-an-id")
    assert refused.code == 400
    assert refused.json["reason"] == "invalid_path"


async def test_delete_by_an_unknown_id_is_a_404(api, unlocked) -> None:
    assert (await api.delete(f"connections/by-id/{'ab' * 16}", {"password": PASSWORD})).code == 404


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "connections", None),
        ("POST", "connections", {"name": "X", "kind": "generic", "fields": {"a": "bbbbbbbb"}}),
        ("GET", "connections/X", None),
        ("PATCH", "connections/X", {"fields": {"a": "b"}, "password": PASSWORD}),
        ("POST", "connections/X/rename", {"new_name": "Y"}),
        ("DELETE", "connections/X", {"password": PASSWORD}),
        ("DELETE", f"connections/by-id/{'ab' * 16}", {"password": PASSWORD}),
    ],
)
async def test_every_connection_route_answers_423_while_locked(
    api, make_vault, method, path, body
) -> None:
    make_vault(PASSWORD)
    refused = await api.call(method, path, body)
    assert refused.code == 423
    assert refused.json["reason"] == "vault_locked"


async def test_after_a_rename_markers_carry_the_new_name(api, unlocked, watchdog_app) -> None:
    await add(api, "Old name")
    watchdog_app.refresh_redactor()
    await api.post(f"connections/{quote('Old name')}/rename", {"new_name": "New"})
    assert watchdog_app.redactor.redact(SECRET) == "[REDACTED:New.api_key]"
