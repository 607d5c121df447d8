"""Notebook versions (watchdog_lab/bots/versions.py): a fix publishes version N+1 beside the
others, sealed, audited without its source, and the bot restarts on it; a rollback returns to
an earlier one. One real bot with a granted connection serves the whole module."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from watchdog_lab.bots.errors import (
    BotSealBroken,
    CellNotFixable,
    PublishNotConfirmed,
    StaleVersion,
    VersionError,
    VersionNotFound,
)
from watchdog_lab.bots.layout import BotPaths
from watchdog_lab.bots.models import ErrorRecord, PromoteBot, RestartPolicy
from watchdog_lab.bots.seal import seal_path, verify_version
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.bots.versions import version_numbers
from watchdog_lab.vault import CreateConnection, KdfParams, RateLimitPolicy, Vault, VaultLocked

from .conftest import PASSWORD, wait_for

NAME = "Fixable"
SECRET = "tok-Versions-" + "Zq8w" * 6
BROKEN = "raise RuntimeError('broken with ' + token)"
FIXED = "print('fixed', size, len(token))"
DETAIL = {"payload_sha256": "ab" * 32}


@dataclass
class Bot:
    manager: BotManager
    vault: Vault
    paths: BotPaths
    first_error: ErrorRecord


@dataclass
class Published:
    v1: bytes
    v1_seal: bytes
    seq_before: int


def _notebook(path: Path) -> Path:
    """Code, a markdown cell, and a cell that fails with the connection's secret in its error.
    No cell is tagged ``parameters``: the runner's copy gets the parameters as a new first
    cell, so the failing cell's index there is not its index in the version."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_code_cell("import watchdog_lab as wd\ntoken = wd.connection('Ex').token"),
        nbformat.v4.new_markdown_cell("# What the next cell does"),
        nbformat.v4.new_code_cell(BROKEN),
    ]
    nbformat.write(nb, str(path))
    return path


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory, uv_cache: Path) -> Iterator[Bot]:
    """The bot, promoted with a connection and a parameter, started, and failed once."""
    home = tmp_path_factory.mktemp("ver") / "h"
    vault = Vault(home, kdf=KdfParams(1, 8192, 1), rate_limit=RateLimitPolicy(free_attempts=99))
    vault.create(PASSWORD)
    manager = BotManager(
        vault,
        uv_cache=uv_cache,
        restart=RestartPolicy(backoff_initial=0.5, backoff_max=1.0, max_failures=50),
    )
    vault.add_connection(CreateConnection(name="Ex", kind="generic", fields={"token": SECRET}))
    notebook = _notebook(home.parent / "fixable.ipynb")
    described = manager.promote(
        PromoteBot(
            notebook=str(notebook),
            name=NAME,
            connections=["Ex"],
            parameters={"size": 3},
            start=True,
        )
    )
    error = wait_for(lambda: manager.describe(NAME).status.last_error, 90, "a failed run")
    assert isinstance(error, ErrorRecord)
    try:
        yield Bot(manager, vault, BotPaths(home, described.id), error)
    finally:
        for each in manager.list():
            manager.stop(each.id, timeout=10)
        vault.close()


def _finished(manager: BotManager) -> None:
    wait_for(lambda: manager.describe(NAME).status.reason == "finished", 90, "a finished run of v2")


@pytest.fixture(scope="module")
def published(bot: Bot) -> Published:
    """Version 2: the failing cell fixed, published for the version that failed."""
    before = Published(
        bot.paths.notebook(1).read_bytes(),
        seal_path(bot.paths, 1).read_bytes(),
        bot.manager.logs(NAME)[-1].seq,
    )
    error = bot.first_error
    assert error.cell_index is not None and error.notebook_version is not None
    described = bot.manager.publish_cell_fix(
        NAME,
        error.cell_index,
        FIXED,
        expected_version=error.notebook_version,
        detail=DETAIL,
    )
    assert described.notebook_version == 2
    _finished(bot.manager)
    return before


# ------------------------------------------------------------------ the failing run


def test_a_failing_run_records_the_cell_index_and_version_of_the_notebook_version(
    bot: Bot,
) -> None:
    error = bot.first_error
    assert (error.cell_index, error.notebook_version) == (2, 1)
    assert error.source == BROKEN
    assert SECRET not in error.evalue and "[REDACTED:Ex.token]" in error.evalue


# ------------------------------------------------------------------------ publish


def test_publish_writes_version_2_and_leaves_version_1_byte_for_byte(
    bot: Bot, published: Published
) -> None:
    assert version_numbers(bot.paths) == [1, 2]
    assert bot.paths.notebook(1).read_bytes() == published.v1
    assert seal_path(bot.paths, 1).read_bytes() == published.v1_seal
    v1 = nbformat.reads(published.v1.decode(), as_version=4)
    v2 = nbformat.reads(bot.paths.notebook(2).read_text(), as_version=4)
    assert [c.source for c in v2.cells] == [v1.cells[0].source, v1.cells[1].source, FIXED]
    assert all(c.outputs == [] for c in v2.cells if c.cell_type == "code")


def test_the_published_version_is_sealed_and_verifies(bot: Bot, published: Published) -> None:
    assert seal_path(bot.paths, 2).is_file()
    assert verify_version(bot.vault, bot.paths, 2) is None


def test_the_bot_runs_version_2_and_its_log_says_so(bot: Bot, published: Published) -> None:
    after = [r for r in bot.manager.logs(NAME) if r.seq > published.seq_before]
    assert any(r.stream == "system" and "on notebook version 2" in r.text for r in after)
    assert not any(r.stream == "system" and "on notebook version 1" in r.text for r in after)
    printed = "".join(r.text for r in after if r.stream == "stdout")
    assert f"fixed 3 {len(SECRET)}" in printed
    config = json.loads(bot.paths.config_file.read_text())
    assert config["notebook_version"] == 2


def test_the_publish_is_audited_with_its_detail_and_never_the_source(
    bot: Bot, published: Published
) -> None:
    events = [e for e in bot.vault.audit_log() if e.event == "bot.version_published"]
    assert len(events) == 1 and events[0].connection_id == bot.paths.bot_id
    assert events[0].detail == {
        **DETAIL,
        "bot": NAME,
        "version": 2,
        "from_version": 1,
        "reason": "ai fix",
    }
    assert "fixed" not in json.dumps(events[0].detail)


def test_versions_lists_both_with_the_current_one_marked(bot: Bot, published: Published) -> None:
    listed = bot.manager.versions(NAME).versions
    assert [(v.version, v.sealed) for v in listed] == [(1, True), (2, True)]
    current = bot.manager.describe(NAME).notebook_version
    assert [v.version for v in listed if v.current] == [current]
    assert listed[0].reason is None and listed[1].reason == "ai fix"
    assert listed[0].created_at <= listed[1].created_at


def test_a_fix_made_for_an_older_version_is_refused_and_writes_nothing(
    bot: Bot, published: Published
) -> None:
    current = bot.manager.describe(NAME).notebook_version
    stale = next(v.version for v in bot.manager.versions(NAME).versions if not v.current)
    with pytest.raises(StaleVersion, match=f"now runs version {current}"):
        bot.manager.publish_cell_fix(NAME, 2, FIXED, expected_version=stale)
    assert version_numbers(bot.paths) == [1, 2]


@pytest.mark.parametrize(
    ("cell", "message"), [(3, "does not exist"), (-1, "does not exist"), (1, "markdown cell")]
)
def test_a_cell_that_is_not_a_code_cell_of_the_version_is_refused(
    bot: Bot, published: Published, cell: int, message: str
) -> None:
    with pytest.raises(CellNotFixable, match=message):
        bot.manager.publish_cell_fix(NAME, cell, FIXED)
    assert version_numbers(bot.paths) == [1, 2]


def test_an_audit_detail_that_is_not_json_is_refused_before_anything_is_written(
    bot: Bot, published: Published
) -> None:
    with pytest.raises(TypeError):
        bot.manager.publish_cell_fix(NAME, 2, FIXED, detail={"when": object()})
    assert version_numbers(bot.paths) == [1, 2]


def test_a_bot_with_connections_is_not_fixed_while_the_vault_is_locked(
    bot: Bot, published: Published
) -> None:
    current = bot.manager.describe(NAME).notebook_version
    bot.vault.lock()
    try:
        with pytest.raises(VaultLocked):
            bot.manager.publish_cell_fix(NAME, 2, FIXED)
    finally:
        bot.vault.unlock(PASSWORD)
    assert version_numbers(bot.paths) == [1, 2]
    assert bot.manager.describe(NAME).notebook_version == current


def test_a_fix_of_a_version_changed_outside_watchdog_lab_is_refused(
    bot: Bot, published: Published
) -> None:
    current = bot.manager.describe(NAME).notebook_version
    notebook = bot.paths.notebook(current)
    original = notebook.read_bytes()
    notebook.write_bytes(original.replace(b"token", b"t0ken", 1))
    try:
        with pytest.raises(BotSealBroken, match="changed outside WatchDog Lab"):
            bot.manager.publish_cell_fix(NAME, 2, FIXED)
    finally:
        notebook.write_bytes(original)
    assert version_numbers(bot.paths) == [1, 2]


# ----------------------------------------------------------------------- rollback


def test_a_rollback_to_the_current_version_is_refused(bot: Bot, published: Published) -> None:
    current = bot.manager.describe(NAME).notebook_version
    with pytest.raises(VersionError, match=f"already runs notebook version {current}"):
        bot.manager.rollback(NAME, to=current)
    assert bot.manager.describe(NAME).notebook_version == current


@pytest.mark.parametrize(
    ("to", "message"), [(3, "no notebook version 3: its latest is 2"), (0, "start at 1")]
)
def test_a_rollback_to_a_version_that_does_not_exist_is_refused(
    bot: Bot, published: Published, to: int, message: str
) -> None:
    current = bot.manager.describe(NAME).notebook_version
    with pytest.raises(VersionNotFound, match=message):
        bot.manager.rollback(NAME, to=to)
    assert bot.manager.describe(NAME).notebook_version == current


def test_rollback_of_a_version_edited_outside_watchdog_lab_is_refused(
    bot: Bot, published: Published
) -> None:
    target = bot.paths.notebook(1)
    original = target.read_bytes()
    current = bot.manager.describe(NAME).notebook_version
    target.write_bytes(original.replace(b"broken", b"br0ken", 1))
    try:
        with pytest.raises(BotSealBroken, match=r"version 1\)"):
            bot.manager.rollback(NAME, to=1)
    finally:
        target.write_bytes(original)
    assert bot.manager.describe(NAME).notebook_version == current
    events = [e for e in bot.vault.audit_log() if e.event == "bot.seal_broken"]
    assert {"bot": NAME, "version": 1, "changed": "notebook"} in [e.detail for e in events]


def test_rollback_returns_to_version_1_audited_and_the_log_says_so(
    bot: Bot, published: Published
) -> None:
    seq = bot.manager.logs(NAME)[-1].seq
    described = bot.manager.rollback(NAME)  # the one before the current
    assert described.notebook_version == 1
    assert json.loads(bot.paths.config_file.read_text())["notebook_version"] == 1

    def ran_v1() -> bool:
        return any(
            r.stream == "system" and "on notebook version 1" in r.text
            for r in bot.manager.logs(NAME, after=seq)
        )

    wait_for(ran_v1, 60, "a run on version 1")
    events = [e for e in bot.vault.audit_log() if e.event == "bot.rolled_back"]
    assert [e.detail for e in events] == [{"bot": NAME, "version": 1, "from_version": 2}]
    assert version_numbers(bot.paths) == [1, 2]
    assert bot.paths.notebook(1).read_bytes() == published.v1


# ------------------------------------------------- publishing without the user's confirmation


def test_an_unconfirmed_publish_to_a_bot_with_connections_is_refused_and_writes_nothing(
    bot: Bot, published: Published
) -> None:
    before = version_numbers(bot.paths)
    with pytest.raises(PublishNotConfirmed, match="needs the vault password"):
        bot.manager.publish_cell_fix(NAME, 2, "print('planted')", confirmed=False)
    assert version_numbers(bot.paths) == before


def test_code_published_without_confirmation_is_never_sealed_so_no_later_grant_trusts_it(
    bot: Bot, tmp_path: Path
) -> None:
    # A bot without connections, promoted while the vault is unlocked: its v1 is sealed.
    notebook = tmp_path / "plain.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print('mine')")]
    nbformat.write(nb, str(notebook))
    plain = bot.manager.promote(PromoteBot(notebook=str(notebook), name="Plain"))
    paths = BotPaths(bot.paths.home, plain.id)
    assert verify_version(bot.vault, paths, 1) is None
    try:
        bot.manager.publish_cell_fix("Plain", 0, "print('planted')", confirmed=False)
        assert not seal_path(paths, 2).exists()
        with pytest.raises(BotSealBroken):
            bot.manager.set_grants("Plain", ["Ex"])
        assert bot.manager.granted_names("Plain") == []
    finally:
        bot.manager.delete(plain.id)
