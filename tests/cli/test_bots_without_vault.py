"""A bot that uses no connection needs no vault: promote, start, logs and list work before
``watchdog-lab init``, and a vault created afterwards keeps the bots."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from watchdog_lab.bots.models import BotState

from ..support import wait_for
from .conftest import FAST_KDF, Result
from .test_bots import BotCli, describe, library_manager, write_notebook


@dataclass
class Story:
    cli: BotCli
    steps: dict[str, Result] = field(default_factory=dict)
    states: dict[str, BotState] = field(default_factory=dict)


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory, uv_cache: Path) -> Iterator[Story]:
    base = tmp_path_factory.mktemp("novault")
    home = base / "h"
    s = Story(BotCli(home, uv_cache=uv_cache))
    run = s.cli.run
    hello = write_notebook(base / "hello.ipynb", "print('hello from a bot', 6 * 7)")
    try:
        s.steps["list_empty"] = run("bots", "list", password=None)
        s.steps["promote"] = run("bots", "promote", str(hello), "--name", "Hello", password=None)
        s.steps["promote_with_connection"] = run(
            "bots", "promote", str(hello), "--name", "Keyed", "--connection", "Exchange",
            password=None,
        )  # fmt: skip
        s.steps["start"] = run("bots", "start", "Hello", password=None)
        wait_for(
            lambda: describe(home, "Hello").state in (BotState.STOPPED, BotState.CRASHED),
            90,
            "the bot to finish",
        )
        s.states["after_run"] = describe(home, "Hello").state
        s.steps["logs"] = run("bots", "logs", "Hello", "-n", "50", password=None)
        s.steps["connections_before_init"] = run("connections", "list", password=None)
        s.steps["init"] = run("init", *FAST_KDF)
        s.steps["list_after_init"] = run("bots", "list", "--json", password=None)
        yield s
    finally:
        if (home / "vault.db").exists():
            with library_manager(home) as manager:
                for bot in manager.list():
                    manager.stop(bot.id, timeout=10)


def test_bots_list_before_any_vault_says_there_are_none(story: Story) -> None:
    result = story.steps["list_empty"]
    assert result.rc == 0, result.err
    assert "No bots yet" in result.out


def test_a_bot_without_connections_is_promoted_with_no_vault_and_no_password(
    story: Story,
) -> None:
    result = story.steps["promote"]
    assert result.rc == 0, result.err
    assert "Promoted bot 'Hello'" in result.out
    assert "password" not in result.err.lower()


def test_it_starts_runs_and_logs_with_no_vault(story: Story) -> None:
    assert story.steps["start"].rc == 0, story.steps["start"].err
    assert story.states["after_run"] is BotState.STOPPED
    assert "hello from a bot 42" in story.steps["logs"].out


def test_a_bot_that_needs_a_connection_says_create_a_vault_before_asking_a_password(
    story: Story,
) -> None:
    result = story.steps["promote_with_connection"]
    assert result.rc == 1
    assert "No vault at" in result.err and "watchdog-lab init" in result.err
    assert "password" not in result.err.lower()
    assert "Traceback" not in result.err


def test_the_registry_alone_is_not_taken_for_a_vault(story: Story) -> None:
    result = story.steps["connections_before_init"]
    assert result.rc == 1
    assert "No vault at" in result.err and "watchdog-lab init" in result.err


def test_a_vault_created_afterwards_keeps_the_bots(story: Story) -> None:
    assert story.steps["init"].rc == 0, story.steps["init"].err
    listed = story.steps["list_after_init"].json()
    assert isinstance(listed, dict)
    assert [bot["name"] for bot in listed["bots"]] == ["Hello"]
