"""Vault sync between two homes through a real PostgreSQL that holds ciphertext only."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from pathlib import Path

import pytest

from watchdog_lab.sync import Sync, TamperedRecord, clone
from watchdog_lab.sync.errors import DatabaseUnreachable, RecordRolledBack
from watchdog_lab.sync.records import Sealed
from watchdog_lab.sync.remote import Remote
from watchdog_lab.vault import (
    ConnectionNotFound,
    CreateConnection,
    UpdateConnection,
    Vault,
    WrongPassword,
)

from .conftest import APP_PASSWORD, FAST_KDF, PASSWORD, SYNC_NAME, Database, make_home
from .proxy import CuttingProxy

KALSHI_KEY = "kx-7f3e9a1c5b2d8e4f6a0c"
TOKEN = "tok_5e8d2c7b1a9f4e3d6c0b8a7f"


def _add(vault: Vault, name: str, kind: str = "generic", **fields: str) -> None:
    vault.add_connection(CreateConnection(name=name, kind=kind, fields=fields))


def _fields(vault: Vault, name: str) -> dict[str, str]:
    return dict(vault.get_connection(name).fields)


@pytest.fixture
def pair(home_a: Vault, empty_home: Vault, database: Database) -> tuple[Sync, Sync]:
    """Two homes in agreement: A pushed a connection, B was made from the database."""
    _add(home_a, "desk", token=TOKEN)
    sync_a = Sync(home_a)
    sync_a.setup(SYNC_NAME, ["connections"])
    sync_a.push()
    clone(empty_home, database.target(), PASSWORD)
    return sync_a, Sync(empty_home)


def test_a_second_home_with_the_password_gets_every_connection(pair: tuple[Sync, Sync]) -> None:
    _, sync_b = pair
    assert _fields(sync_b.vault, "desk") == {"token": TOKEN}
    assert sync_b.vault.get_connection(SYNC_NAME).kind == "postgres"
    assert {r.state for r in sync_b.status().records} == {"in-sync"}


def test_changes_travel_both_ways(pair: tuple[Sync, Sync]) -> None:
    sync_a, sync_b = pair
    sync_b.vault.update_connection("desk", UpdateConnection(fields={"token": "tok_new_value_1"}))
    _add(sync_b.vault, "exchange", api_key=KALSHI_KEY)
    assert sorted(sync_b.push().pushed) == ["desk", "exchange"]
    report = sync_a.pull()
    assert sorted(report.pulled) == ["desk", "exchange"]
    assert _fields(sync_a.vault, "desk") == {"token": "tok_new_value_1"}
    assert _fields(sync_a.vault, "exchange") == {"api_key": KALSHI_KEY}


def test_a_rename_travels(pair: tuple[Sync, Sync]) -> None:
    sync_a, sync_b = pair
    sync_a.vault.rename_connection("desk", "desk-2")
    sync_a.push()
    sync_b.pull()
    assert _fields(sync_b.vault, "desk-2") == {"token": TOKEN}
    with pytest.raises(ConnectionNotFound):
        sync_b.vault.get_connection("desk")


def test_cloning_refuses_a_wrong_password(
    home_a: Vault, empty_home: Vault, database: Database
) -> None:
    sync_a = Sync(home_a)
    sync_a.setup(SYNC_NAME, ["connections"])
    sync_a.push()
    with pytest.raises(WrongPassword):
        clone(empty_home, database.target(), "not the password")
    assert not empty_home.exists()


def test_a_stale_push_is_refused_and_reports_both_versions(pair: tuple[Sync, Sync]) -> None:
    sync_a, sync_b = pair
    sync_a.vault.update_connection("desk", UpdateConnection(fields={"token": "tok_from_home_a"}))
    sync_a.push()
    sync_b.vault.update_connection("desk", UpdateConnection(fields={"token": "tok_from_home_b"}))
    report = sync_b.push()
    assert report.pushed == []
    [conflict] = report.conflicts
    assert (conflict.name, conflict.local_version, conflict.remote_version) == ("desk", 1, 2)
    # Neither side lost anything: the server keeps A's, B keeps its own.
    sync_a.pull()
    assert _fields(sync_a.vault, "desk") == {"token": "tok_from_home_a"}
    assert _fields(sync_b.vault, "desk") == {"token": "tok_from_home_b"}


def test_push_mine_overwrites_the_server_after_a_conflict(pair: tuple[Sync, Sync]) -> None:
    sync_a, sync_b = pair
    sync_a.vault.update_connection("desk", UpdateConnection(fields={"token": "tok_from_home_a"}))
    sync_a.push()
    sync_b.vault.update_connection("desk", UpdateConnection(fields={"token": "tok_from_home_b"}))
    assert sync_b.push().conflicts
    assert sync_b.push(mine=["desk"]).pushed == ["desk"]
    sync_a.pull()
    assert _fields(sync_a.vault, "desk") == {"token": "tok_from_home_b"}


def test_pull_keeps_a_local_edit_unless_told_theirs(pair: tuple[Sync, Sync]) -> None:
    sync_a, sync_b = pair
    sync_a.vault.update_connection("desk", UpdateConnection(fields={"token": "tok_from_home_a"}))
    sync_a.push()
    sync_b.vault.update_connection("desk", UpdateConnection(fields={"token": "tok_from_home_b"}))
    [conflict] = sync_b.pull().conflicts
    assert (conflict.local_version, conflict.remote_version) == (1, 2)
    assert _fields(sync_b.vault, "desk") == {"token": "tok_from_home_b"}
    assert sync_b.pull(theirs=["desk"]).pulled == ["desk"]
    assert _fields(sync_b.vault, "desk") == {"token": "tok_from_home_a"}
    assert sync_b.push().conflicts == []


def test_a_deletion_travels_as_a_tombstone(pair: tuple[Sync, Sync], database: Database) -> None:
    sync_a, sync_b = pair
    sync_a.vault.remove_connection("desk")
    sync_a.push()
    rows = database.sql("select count(*), count(*) filter (where deleted) from "
                        "watchdog_lab_sync.sync_records")  # fmt: skip
    assert rows.strip() == "2|1"  # the row stays, flagged, so every home learns of it
    assert sync_b.pull().deleted == ["desk"]
    with pytest.raises(ConnectionNotFound):
        sync_b.vault.get_connection("desk")


def test_a_deletion_does_not_beat_an_edit_elsewhere(pair: tuple[Sync, Sync]) -> None:
    sync_a, sync_b = pair
    sync_a.vault.remove_connection("desk")
    sync_a.push()
    sync_b.vault.update_connection("desk", UpdateConnection(fields={"token": "tok_kept_edit"}))
    [conflict] = sync_b.pull().conflicts
    assert conflict.remote_deleted and not conflict.local_deleted
    assert _fields(sync_b.vault, "desk") == {"token": "tok_kept_edit"}


def _spellings(value: bytes) -> set[bytes]:
    """``value`` raw, in hex and in base64 at each of the three alignments (as a window of a
    longer encoded stream: the characters that depend only on ``value``)."""
    out = {value, binascii.hexlify(value), binascii.hexlify(value).upper()}
    for shift in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * shift + value + b"\0\0")
            out.add(encoded[(shift * 8 + 5) // 6 + 1 : (shift + len(value)) * 8 // 6])
    # Encoded windows shorter than 6 characters would match random ciphertext by chance.
    return {value} | {s for s in out if len(s) >= 6}


def _copy_data(dump: bytes) -> bytes:
    """The rows of every table in a plain pg_dump (the COPY blocks), nothing of the schema."""
    blocks = []
    for part in dump.split(b"\nCOPY ")[1:]:
        body = part.split(b"FROM stdin;\n", 1)[1]
        blocks.append(body.split(b"\n\\.\n", 1)[0])
    return b"\n".join(blocks)


def test_the_database_dump_holds_no_name_kind_field_or_value(
    home_a: Vault, database: Database
) -> None:
    sync_a = Sync(home_a)
    sync_a.setup(SYNC_NAME, ["connections"])
    _add(home_a, "desk", token=TOKEN)
    _add(sync_a.vault, "binance-main", kind="ccxt:binance", apiKey="AKIAXQ7Z3B9", secret=KALSHI_KEY)
    sync_a.push()
    dump = database.dump().encode()
    data = _copy_data(dump)
    assert data.count(b"\n") >= 3  # a header row and three records were dumped
    # Names and values anywhere in the dump; kinds and field names (which are also common
    # words of a schema: "secret", "postgres") in the rows.
    anywhere = ["desk", "binance-main", SYNC_NAME, TOKEN, KALSHI_KEY, "AKIAXQ7Z3B9", "apiKey",
                APP_PASSWORD]  # fmt: skip
    in_rows = [*anywhere, "ccxt:binance", "binance", "generic", "postgres", "token", "secret",
               "dsn", "owner", database.name, "127.0.0.1"]  # fmt: skip
    leaks = [w for w in anywhere if any(s in dump for s in _spellings(w.encode()))]
    leaks += [w for w in in_rows if any(s in data for s in _spellings(w.encode()))]
    assert leaks == []


def test_a_tampered_row_fails_and_is_named(pair: tuple[Sync, Sync], database: Database) -> None:
    sync_a, sync_b = pair
    sync_a.vault.update_connection("desk", UpdateConnection(fields={"token": "tok_tamper_test"}))
    sync_a.push()
    record_id = sync_a._files.load().record_for_local(sync_a.vault.describe_connection("desk").id)
    database.sql(  # one bit of the one record at version 2 (desk's)
        "update watchdog_lab_sync.sync_records set ciphertext = "
        "set_byte(ciphertext, 3, get_byte(ciphertext, 3) # 1) where version = 2"
    )
    with pytest.raises(TamperedRecord) as caught:
        sync_b.pull()
    assert caught.value.record_ids == [record_id]
    assert record_id in str(caught.value)
    assert _fields(sync_b.vault, "desk") == {"token": TOKEN}  # nothing applied


def test_rows_swapped_between_records_fail(pair: tuple[Sync, Sync], database: Database) -> None:
    _, sync_b = pair
    ids = database.sql("select id from watchdog_lab_sync.sync_records order by id").split()
    database.sql(
        "update watchdog_lab_sync.sync_records r set nonce = o.nonce, ciphertext = o.ciphertext "
        "from watchdog_lab_sync.sync_records o where r.id <> o.id"
    )
    with pytest.raises(TamperedRecord) as caught:
        sync_b.pull()
    assert sorted(caught.value.record_ids) == sorted(ids)


def test_a_live_record_cannot_be_turned_into_a_deletion(
    pair: tuple[Sync, Sync], database: Database
) -> None:
    _, sync_b = pair
    database.sql("update watchdog_lab_sync.sync_records set deleted = true, version = version + 1")
    with pytest.raises(TamperedRecord):
        sync_b.pull()
    assert _fields(sync_b.vault, "desk") == {"token": TOKEN}


def test_an_old_version_put_back_is_refused(pair: tuple[Sync, Sync], database: Database) -> None:
    sync_a, sync_b = pair
    database.sql("create table saved as select * from watchdog_lab_sync.sync_records")
    sync_a.vault.update_connection("desk", UpdateConnection(fields={"token": "tok_version_two"}))
    sync_a.push()
    sync_b.pull()
    database.sql(
        "update watchdog_lab_sync.sync_records r set version = s.version, nonce = s.nonce, "
        "ciphertext = s.ciphertext from saved s where r.id = s.id"
    )
    with pytest.raises(RecordRolledBack, match="older than"):
        sync_b.pull()
    assert _fields(sync_b.vault, "desk") == {"token": "tok_version_two"}


def test_another_owner_sees_and_changes_nothing(
    pair: tuple[Sync, Sync], database: Database
) -> None:
    import uuid

    other = database.target(owner=str(uuid.uuid4()))
    with Remote(other.dsn, other.owner) as remote:
        assert remote.fetch_records() == {}
        assert remote.fetch_header() is None
        with remote.transaction():
            changed = remote.conn.execute(
                "update watchdog_lab_sync.sync_records set deleted = true"
            ).rowcount
            removed = remote.conn.execute("delete from watchdog_lab_sync.sync_records").rowcount
        assert (changed, removed) == (0, 0)
        # Without the claim at all, the role sees nothing either.
        seen = remote.conn.execute("select count(*) from watchdog_lab_sync.sync_records")
        assert seen.fetchone() == (0,)
    assert database.sql("select count(*) from watchdog_lab_sync.sync_records").strip() == "2"


def _server_rows(database: Database) -> str:
    return database.sql(
        "select id, version, deleted, md5(ciphertext) from watchdog_lab_sync.sync_records "
        "order by id"
    )


@pytest.fixture
def proxy(database: Database) -> Iterator[CuttingProxy]:
    proxy = CuttingProxy(("127.0.0.1", database.cluster.port))
    yield proxy
    proxy.close()


def _through(proxy: CuttingProxy, database: Database, vault: Vault) -> Sync:
    return Sync(vault, remote=lambda t: Remote(database.target(port=proxy.port).dsn, t.owner))


def _change_three(vault: Vault) -> None:
    vault.update_connection("desk", UpdateConnection(fields={"token": "tok_cut_1"}))
    _add(vault, "exchange", api_key=KALSHI_KEY)
    _add(vault, "spare", token="tok_spare_value")


def _check_agreement(sync_a: Sync, sync_b: Sync) -> None:
    assert {r.state for r in sync_a.status().records} == {"in-sync"}
    sync_b.pull()
    assert {r.state for r in sync_b.status().records} == {"in-sync"}
    assert _fields(sync_b.vault, "desk") == {"token": "tok_cut_1"}
    assert _fields(sync_b.vault, "exchange") == {"api_key": KALSHI_KEY}
    names = sorted(c.name or "" for c in sync_b.vault.list_connections())
    assert names == ["desk", "exchange", "spare", SYNC_NAME]


def test_a_connection_cut_mid_push_leaves_both_sides_consistent(
    pair: tuple[Sync, Sync], database: Database, proxy: CuttingProxy
) -> None:
    """Cut the push at every point (every 48 bytes the client sends): after each cut the
    database holds the state of before, never part of the push, and pushing again completes."""
    sync_a, sync_b = pair
    cut_sync = _through(proxy, database, sync_a.vault)
    _change_three(sync_a.vault)
    before = _server_rows(database)
    cuts = 0
    for budget in range(0, 100_000, 48):
        proxy.reset(cut_after_up=budget)
        try:
            report = cut_sync.push()
        except DatabaseUnreachable:
            cuts += 1
            assert _server_rows(database) == before
            continue
        break
    else:
        pytest.fail("the push never completed")
    assert cuts > 10  # the loop really cut the push at many points
    assert report.conflicts == [] and len(report.pushed) == 3
    assert len(_server_rows(database).splitlines()) == 4
    _check_agreement(sync_a, sync_b)


def test_a_commit_whose_answer_was_lost_is_recognised_on_the_next_push(
    pair: tuple[Sync, Sync], database: Database, proxy: CuttingProxy
) -> None:
    sync_a, sync_b = pair
    cut_sync = _through(proxy, database, sync_a.vault)
    _change_three(sync_a.vault)
    before = _server_rows(database)
    # The third transaction of a push writes (the first two read the header and the rows).
    proxy.reset(cut_answer_to=b"COMMIT", cut_answer_nth=3)
    with pytest.raises(DatabaseUnreachable):
        cut_sync.push()
    landed = _server_rows(database)
    assert landed != before and len(landed.splitlines()) == 4  # the commit did land
    assert proxy.cuts == 1
    proxy.reset()
    report = cut_sync.push()
    assert sorted(report.adopted) == ["desk", "exchange", "spare"]
    assert report.pushed == [] and report.conflicts == []
    assert _server_rows(database) == landed  # nothing written twice
    _check_agreement(sync_a, sync_b)


def test_a_row_served_as_another_version_fails(pair: tuple[Sync, Sync], database: Database) -> None:
    _, sync_b = pair
    database.sql("update watchdog_lab_sync.sync_records set version = version + 1")
    with pytest.raises(TamperedRecord):
        sync_b.pull()


def test_a_write_landing_between_read_and_write_is_refused_by_the_database(
    pair: tuple[Sync, Sync], database: Database
) -> None:
    """The version check is in the UPDATE itself: a home that read version 1 cannot overwrite
    the version 2 another home wrote a moment later."""
    sync_a, sync_b = pair

    class Racing(Remote):
        def fetch_records(self) -> dict[str, Sealed]:
            rows = super().fetch_records()
            sync_b.push()  # lands after A read the rows, before A writes
            return rows

    sync_b.vault.update_connection("desk", UpdateConnection(fields={"token": "tok_from_home_b"}))
    sync_a.vault.update_connection("desk", UpdateConnection(fields={"token": "tok_from_home_a"}))
    racing = Sync(sync_a.vault, remote=lambda t: Racing(t.dsn, t.owner))
    report = racing.push()
    assert report.pushed == [] and [c.name for c in report.conflicts] == ["desk"]
    sync_a.pull(theirs=["desk"])
    assert _fields(sync_a.vault, "desk") == {"token": "tok_from_home_b"}  # B's write stood


def test_a_password_change_travels_for_new_homes(
    pair: tuple[Sync, Sync], database: Database, tmp_path: Path
) -> None:
    sync_a, _ = pair
    new_password = "a brand new passphrase"
    sync_a.vault.change_password(PASSWORD, new_password)
    assert sync_a.push().header_pushed
    third = Vault(make_home(tmp_path / "home-c"), kdf=FAST_KDF)
    with pytest.raises(WrongPassword):
        clone(third, database.target(), PASSWORD)
    clone(third, database.target(), new_password)
    assert _fields(third, "desk") == {"token": TOKEN}
    third.close()


class _Killed(BaseException):
    """Stands for SIGKILL: the pull dies where it stands and no handler runs."""


def test_a_pull_killed_before_it_saved_its_state_is_safe_to_repeat(
    pair: tuple[Sync, Sync], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The state is saved once per pull: a kill loses the notes of records already applied,
    # and the next pull must adopt them rather than add, rename or conflict.
    sync_a, sync_b = pair
    for number in range(6):
        _add(sync_a.vault, f"feed-{number}", token=f"{TOKEN}-{number}")
    sync_a.vault.update_connection("desk", UpdateConnection(fields={"token": "tok_changed_22"}))
    sync_a.push()
    applied = [0]
    real_pull_one = Sync._pull_one

    def dying(self: Sync, *args: object, **kwargs: object) -> None:
        real_pull_one(self, *args, **kwargs)  # type: ignore[arg-type]
        applied[0] += 1
        if applied[0] == 5:
            raise _Killed

    monkeypatch.setattr(Sync, "_pull_one", dying)
    monkeypatch.setattr(type(sync_b._files), "save", lambda self, state: None)
    with pytest.raises(_Killed):
        sync_b.pull()
    monkeypatch.undo()

    report = sync_b.pull()

    assert report.conflicts == [] and report.problems == []
    names = sorted(c.name for c in sync_b.vault.list_connections() if c.name)
    assert names == sorted(["desk", SYNC_NAME, *(f"feed-{n}" for n in range(6))])
    assert _fields(sync_b.vault, "desk") == {"token": "tok_changed_22"}
    assert {r.state for r in sync_b.status().records} == {"in-sync"}
    assert sync_b.push().pushed == []


def _sync_events(vault: Vault) -> list[tuple[str, dict[str, object] | None]]:
    return [(e.event, e.detail) for e in reversed(vault.audit_log()) if e.event.startswith("sync.")]


def test_set_up_push_pull_and_disable_are_audited_with_counts_not_names(
    pair: tuple[Sync, Sync],
) -> None:
    sync_a, sync_b = pair
    _add(sync_b.vault, "exchange", api_key=KALSHI_KEY)
    sync_b.setup(SYNC_NAME, ["connections"])
    sync_b.push()
    sync_a.pull()
    sync_a.pull()  # nothing new: no event
    sync_a.disable()
    events = _sync_events(sync_a.vault)
    assert events == [
        ("sync.set_up", {"collections": ["connections"]}),
        ("sync.pushed", {"pushed": 2}),  # the fixture's first push: desk and the sync target
        ("sync.pulled", {"pulled": 1}),
        ("sync.disabled", None),
    ]
    assert ("sync.pushed", {"pushed": 1}) in _sync_events(sync_b.vault)
    assert "exchange" not in repr(events)
