"""Bots' notebook versions and logs through sync: opt-in, kept in an archive that never runs."""

from __future__ import annotations

import json
import stat
import uuid
from pathlib import Path

import pytest

from watchdog_lab.bots.layout import BotPaths
from watchdog_lab.bots.models import BotConfig
from watchdog_lab.bots.registry import BotRegistry
from watchdog_lab.sync import Sync, TamperedRecord, botfiles, clone
from watchdog_lab.sync.records import FileRecord
from watchdog_lab.vault import Vault

from .conftest import PASSWORD, SYNC_NAME, Database

NOTEBOOK_V1 = json.dumps({"cells": [], "metadata": {"v": 1}, "nbformat": 4, "nbformat_minor": 5})
NOTEBOOK_V2 = json.dumps({"cells": [], "metadata": {"v": 2}, "nbformat": 4, "nbformat_minor": 5})
LOG = '{"seq": 1, "line": "bought 1"}\n{"seq": 2, "line": "sold 1"}\n'


def _bot(vault: Vault, name: str = "alpha") -> BotPaths:
    """A bot as the registry and the layout know it (no venv: these tests never run it)."""
    bot_id = uuid.uuid4().hex
    BotRegistry(vault.store).create(BotConfig(id=bot_id, name=name, kernel_name="k"), [])
    paths = BotPaths(vault.home, bot_id)
    paths.create()
    paths.notebook(1).write_text(NOTEBOOK_V1)
    paths.notebook(2).write_text(NOTEBOOK_V2)
    paths.log_file.write_text(LOG)
    return paths


def _archive(home: Path, bot_id: str) -> Path:
    return home / "sync" / "archive" / bot_id


def _pushed(home_a: Vault, *collections: str) -> tuple[Sync, BotPaths]:
    bot = _bot(home_a)
    sync_a = Sync(home_a)
    sync_a.setup(SYNC_NAME, collections)
    sync_a.push()
    return sync_a, bot


def test_notebook_versions_travel_to_an_archive_only_when_opted_in(
    home_a: Vault, empty_home: Vault, database: Database
) -> None:
    _, bot = _pushed(home_a, "connections", "notebooks")
    clone(empty_home, database.target(), PASSWORD, collections=["connections", "notebooks"])
    archive = _archive(empty_home.home, bot.bot_id)
    assert (archive / "notebook" / "v1.ipynb").read_text() == NOTEBOOK_V1
    assert (archive / "notebook" / "v2.ipynb").read_text() == NOTEBOOK_V2
    assert json.loads((archive / "bot.json").read_text()) == {"name": "alpha"}
    assert not (archive / "logs").exists()  # logs were not opted in
    assert stat.S_IMODE((archive / "notebook" / "v1.ipynb").stat().st_mode) == 0o600
    assert BotRegistry(empty_home.store).list() == []  # nothing became a bot
    assert not (empty_home.home / "bots").exists()


def test_a_home_that_did_not_opt_in_pulls_no_bot_files(
    home_a: Vault, empty_home: Vault, database: Database
) -> None:
    _, bot = _pushed(home_a, "connections", "notebooks", "logs")
    clone(empty_home, database.target(), PASSWORD)
    assert not _archive(empty_home.home, bot.bot_id).exists()
    assert {r.state for r in Sync(empty_home).status().records} == {"in-sync"}


def test_logs_travel_as_their_last_lines(
    home_a: Vault, empty_home: Vault, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(botfiles, "LOG_MAX_BYTES", 40)
    _, bot = _pushed(home_a, "logs")
    clone(empty_home, database.target(), PASSWORD, collections=["logs"])
    copied = (_archive(empty_home.home, bot.bot_id) / "logs" / "bot.jsonl").read_text()
    assert copied == '{"seq": 2, "line": "sold 1"}\n'


def test_an_archived_copy_is_not_sent_back(
    home_a: Vault, empty_home: Vault, database: Database
) -> None:
    _pushed(home_a, "connections", "notebooks")
    clone(empty_home, database.target(), PASSWORD, collections=["connections", "notebooks"])
    report = Sync(empty_home).push()
    assert report.pushed == [] and report.conflicts == []


def test_a_collection_turned_off_is_not_read_as_deleted(home_a: Vault, database: Database) -> None:
    sync_a, _ = _pushed(home_a, "connections", "notebooks")
    sync_a.setup(SYNC_NAME, ["connections"])
    sync_a.push()
    deleted = database.sql("select count(*) from watchdog_lab_sync.sync_records where deleted")
    assert deleted.strip() == "0"


def test_a_copy_changed_elsewhere_never_replaces_the_bots_own_file(
    home_a: Vault, empty_home: Vault, database: Database
) -> None:
    sync_a, bot = _pushed(home_a, "notebooks")
    clone(empty_home, database.target(), PASSWORD, collections=["notebooks"])
    forged = _archive(empty_home.home, bot.bot_id) / "notebook" / "v2.ipynb"
    forged.write_text(NOTEBOOK_V1.replace("cells", "cellz"))
    assert Sync(empty_home).push().pushed == ["alpha/notebook/v2.ipynb"]
    report = sync_a.pull()
    assert bot.notebook(2).read_text() == NOTEBOOK_V2
    assert any("own alpha/notebook/v2.ipynb" in p for p in report.problems)


@pytest.mark.parametrize(
    "path", ["../../vault.db", "notebook/../../x.ipynb", "notebook/v1.py", "state/x", "/etc/x"]
)
def test_a_record_naming_another_path_is_refused(path: str) -> None:
    plain = FileRecord("notebooks", "a" * 32, "alpha", "notebook/v1.ipynb", b"x").to_plain()
    with pytest.raises(ValueError, match="not a bot file"):
        FileRecord.from_plain({**plain, "path": path})


def test_a_sealed_record_with_a_bad_path_fails_and_is_named(
    home_a: Vault, empty_home: Vault, database: Database
) -> None:
    """Even sealed with the vault's key (another home's bug), a path outside the archive's
    few names is never written: the record fails like a tampered one."""
    sync_a, _ = _pushed(home_a, "notebooks")
    evil = FileRecord("notebooks", "b" * 32, "evil", "notebook/v1.ipynb", b"{}")
    object.__setattr__(evil, "path", "../../../escape.ipynb")
    sealed = sync_a._cipher().seal(str(uuid.uuid4()), 1, evil)
    with sync_a._remote(database.target()) as remote, remote.transaction() as tx:
        tx.insert_record(sealed)
    with pytest.raises(TamperedRecord) as caught:
        clone(empty_home, database.target(), PASSWORD, collections=["notebooks"])
    assert caught.value.record_ids == [sealed.record_id]
    assert not (empty_home.home.parent / "escape.ipynb").exists()
