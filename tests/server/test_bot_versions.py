"""``GET bots/{ref}/versions`` and ``POST bots/{ref}/rollback`` on a real server.

Two bots are promoted for the whole module (through the core, before any server runs, as the
CLI would) and each given a second version: one with a connection, and one without, promoted
and fixed while the vault was locked (so neither of its versions is sealed). Every test then
starts a server on that home. A rollback changes which code runs with the bot's keys, so
without the vault password it must change nothing; a bot without keys needs none.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from watchdog_lab.bots.models import PromoteBot
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.vault import CreateConnection, Vault

from .botapi import bot_path, describe, write_notebook
from .conftest import FAST_KDF

PASSWORD = "correct horse battery staple"
WRONG = "not the vault password at all"
NAME = "Versioned"
PLAIN = "Plain"


@pytest.fixture(scope="module")
def shared_home(tmp_path_factory: pytest.TempPathFactory, bot_uv_cache: Path) -> Iterator[Path]:
    """A home with both bots at version 2 of 2 (stopped), its vault locked."""
    home = tmp_path_factory.mktemp("versions") / "h"
    notebook = write_notebook(home.parent / "versioned.ipynb", "x = 1", "print(x)")
    with Vault(home, kdf=FAST_KDF) as vault:
        vault.create(PASSWORD)
        vault.add_connection(
            CreateConnection(name="Exchange", kind="generic", fields={"token": "tok-" + "v" * 20})
        )
        manager = BotManager(vault, uv_cache=bot_uv_cache)
        manager.promote(PromoteBot(notebook=str(notebook), name=NAME, connections=["Exchange"]))
        manager.publish_cell_fix(NAME, 1, "print(x + 1)", expected_version=1)
        vault.lock()
        manager.promote(PromoteBot(notebook=str(notebook), name=PLAIN))
        manager.publish_cell_fix(PLAIN, 1, "print(x + 2)", reason="by hand")
    yield home


@pytest.fixture
def watchdog_home(shared_home: Path) -> Path:
    return shared_home


@pytest.fixture
def jp_server_config(bots_server_config: Config) -> Config:
    return bots_server_config


@pytest.fixture
def unlocked(watchdog_app: Any) -> Any:
    watchdog_app.vault.unlock(PASSWORD)
    return watchdog_app.vault


@pytest.fixture
def version_2(unlocked: Any, watchdog_app: Any) -> Iterator[None]:
    """The bot runs version 2 at the start of the test and again after it."""
    manager = watchdog_app.bots
    if manager.describe(NAME).notebook_version != 2:
        manager.rollback(NAME, to=2)
    yield
    if manager.describe(NAME).notebook_version != 2:
        manager.rollback(NAME, to=2)


def rolled_back_events(vault: Any) -> list[Any]:
    return [e for e in vault.audit_log() if e.event == "bot.rolled_back"]


async def test_versions_lists_every_version_with_the_current_one_marked(api, version_2) -> None:
    response = await api.get(bot_path(NAME, "versions"))
    assert response.code == 200, response.text
    listed = response.json["versions"]
    assert [(v["version"], v["current"], v["sealed"]) for v in listed] == [
        (1, False, True),
        (2, True, True),
    ]
    assert [v["reason"] for v in listed] == [None, "ai fix"]


async def test_versions_written_while_the_vault_was_locked_are_listed_unsealed(api) -> None:
    response = await api.get(bot_path(PLAIN, "versions"))
    assert response.code == 200, response.text
    listed = response.json["versions"]
    assert [(v["version"], v["sealed"], v["reason"]) for v in listed] == [
        (1, False, None),
        (2, False, "by hand"),
    ]


async def test_a_bot_without_connections_is_rolled_back_without_the_password(api) -> None:
    current = (await describe(api, PLAIN))["notebook_version"]
    other = 1 if current == 2 else 2
    response = await api.post(bot_path(PLAIN, "rollback"), {"to": other})
    assert response.code == 200, response.text
    assert (await describe(api, PLAIN))["notebook_version"] == other


async def test_versions_of_an_unknown_bot_is_a_404(api) -> None:
    response = await api.get(bot_path("Nope", "versions"))
    assert response.code == 404 and response.json["reason"] == "bot_not_found"


async def test_rollback_with_the_password_runs_the_previous_version(
    api, version_2, unlocked
) -> None:
    before = len(rolled_back_events(unlocked))
    response = await api.post(bot_path(NAME, "rollback"), {"password": PASSWORD})
    assert response.code == 200, response.text
    assert response.json["notebook_version"] == 1
    assert (await describe(api, NAME))["notebook_version"] == 1
    assert len(rolled_back_events(unlocked)) == before + 1


async def test_rollback_of_a_bot_with_connections_without_password_changes_nothing(
    api, version_2, unlocked
) -> None:
    before = len(rolled_back_events(unlocked))
    response = await api.post(bot_path(NAME, "rollback"), {"to": 1})
    assert response.code == 422 and response.json["reason"] == "password_required"
    assert (await describe(api, NAME))["notebook_version"] == 2
    assert len(rolled_back_events(unlocked)) == before


async def test_rollback_with_a_wrong_password_changes_nothing(api, version_2) -> None:
    response = await api.post(bot_path(NAME, "rollback"), {"to": 1, "password": WRONG})
    assert response.code == 422 and response.json["reason"] == "wrong_password"
    assert WRONG not in response.text
    assert (await describe(api, NAME))["notebook_version"] == 2


async def test_rollback_to_a_version_that_does_not_exist_is_a_404(api, version_2) -> None:
    response = await api.post(bot_path(NAME, "rollback"), {"to": 7, "password": PASSWORD})
    assert response.code == 404 and response.json["reason"] == "version_not_found"
    assert "its latest is 2" in response.json["message"]


async def test_rollback_to_the_current_version_is_a_409(api, version_2) -> None:
    response = await api.post(bot_path(NAME, "rollback"), {"to": 2, "password": PASSWORD})
    assert response.code == 409 and response.json["reason"] == "version_conflict"


async def test_rollback_while_the_vault_is_locked_is_a_423(api, watchdog_app) -> None:
    response = await api.post(bot_path(NAME, "rollback"), {"password": PASSWORD})
    assert response.code == 423 and response.json["reason"] == "vault_locked"
