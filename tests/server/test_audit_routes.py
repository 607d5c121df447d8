"""The audit route (watchdog_lab/server/vault_handlers.py): newest first, paged by a cursor."""

from __future__ import annotations

import pytest

from watchdog_lab.vault import CreateConnection, UpdateConnection

PASSWORD = "correct horse battery staple"


@pytest.fixture
def busy_vault(watchdog_app) -> None:  # type: ignore[no-untyped-def]
    """An unlocked server vault with a history: created, 3 connections added, 2 updated."""
    vault = watchdog_app.vault
    vault.create(PASSWORD)
    for n in range(3):
        vault.add_connection(
            CreateConnection(name=f"C{n}", kind="generic", fields={"k": f"value-{n}-xxxx"})
        )
    for n in range(2):
        vault.update_connection(f"C{n}", UpdateConnection(fields={"k": f"new-{n}-yyyyyy"}))


async def test_audit_lists_events_newest_first(api, busy_vault) -> None:
    page = await api.get("audit")
    assert page.code == 200
    events = page.json["events"]
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs, reverse=True)
    assert events[0]["event"] == "connection.updated"
    assert events[-1]["event"] == "vault.created"
    assert page.json["next_before"] is None


async def test_audit_details_name_connections_but_hold_no_values(api, busy_vault) -> None:
    page = await api.get("audit")
    added = [e for e in page.json["events"] if e["event"] == "connection.added"]
    assert sorted(e["detail"]["name"] for e in added) == ["C0", "C1", "C2"]
    assert "value-" not in page.text
    assert "new-" not in page.text


async def test_pages_follow_the_cursor_without_gaps_or_overlap(api, busy_vault) -> None:
    everything = [e["seq"] for e in (await api.get("audit")).json["events"]]
    seen: list[int] = []
    before = None
    for _ in range(10):
        path = "audit?limit=2" + (f"&before={before}" if before is not None else "")
        page = (await api.get(path)).json
        assert len(page["events"]) <= 2
        seen += [e["seq"] for e in page["events"]]
        before = page["next_before"]
        if before is None:
            break
    assert seen == everything
    assert len(everything) == 6


async def test_a_full_last_page_says_there_is_no_more(api, busy_vault) -> None:
    total = len((await api.get("audit")).json["events"])
    page = (await api.get(f"audit?limit={total}")).json
    assert len(page["events"]) == total
    assert page["next_before"] is None


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=501",
        "limit=abc",
        "limit=1.5",
        "limit=-1",
        "before=0",
        "before=x",
        "limit=1&limit=2",
        "limit=99999999999999999999999",
    ],
)
async def test_bad_paging_arguments_are_a_400(api, busy_vault, query: str) -> None:
    refused = await api.get(f"audit?{query}")
    assert refused.code == 400
    assert refused.json["reason"] == "invalid_query"


async def test_audit_needs_an_unlocked_vault(api, busy_vault, watchdog_app) -> None:
    watchdog_app.vault.lock()
    refused = await api.get("audit")
    assert refused.code == 423
