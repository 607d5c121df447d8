"""``watchdog-lab bots versions|rollback``: a bot with a connection, promoted by the CLI, given
a second version by the core (as a fix writes one), listed and rolled back from a shell."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.vault import Vault

from .conftest import FAST_KDF, GENERIC_TOKEN, PASSWORD, Result
from .test_bots import BotCli, describe, library_manager, write_notebook

NAME = "Fix"


@dataclass
class Story:
    cli: BotCli
    steps: dict[str, Result] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory, uv_cache: Path) -> Iterator[Story]:
    base = tmp_path_factory.mktemp("versions")
    home = base / "h"
    s = Story(BotCli(home, uv_cache=uv_cache))
    run = s.cli.run
    notebook = write_notebook(base / "fix.ipynb", "import watchdog_lab as wd", "print(1 / 0)")
    try:
        s.cli.ok("init", *FAST_KDF)
        s.cli.ok(
            "connections", "add", "Exchange", "--kind", "generic", "--from-json", "-",
            stdin=json.dumps({"fields": {"token": GENERIC_TOKEN}}),
        )  # fmt: skip
        s.cli.ok("bots", "promote", str(notebook), "--name", NAME, "--connection", "Exchange")
        with Vault(home) as vault:
            vault.unlock(PASSWORD)
            BotManager(vault).publish_cell_fix(NAME, 1, "print(1 / 1)", expected_version=1)
        s.steps.update(
            s.cli.many(
                {
                    "versions": (["bots", "versions", NAME], {"password": None}),
                    "versions_json": (["bots", "versions", NAME, "--json"], {"password": None}),
                    "no_yes": (["bots", "rollback", NAME], {}),
                    "no_password": (["bots", "rollback", NAME, "--yes"], {"password": None}),
                    "missing": (["bots", "rollback", NAME, "--to", "7", "--yes"], {}),
                }
            )
        )
        s.versions["before"] = describe(home, NAME).notebook_version
        s.steps["rollback"] = run("bots", "rollback", NAME, "--yes")
        s.versions["after"] = describe(home, NAME).notebook_version
        s.steps["versions_after"] = run("bots", "versions", NAME, "--json", password=None)
        yield s
    finally:
        with library_manager(home) as manager:
            for bot in manager.list():
                manager.stop(bot.id, timeout=10)


def test_versions_lists_each_version_and_marks_the_current_one(story: Story) -> None:
    result = story.steps["versions"]
    assert result.rc == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == ["VERSION", "WRITTEN", "SEALED", "WHY"]
    assert lines[1].startswith("v1 ") and lines[1].rstrip().endswith("promoted")
    assert lines[2].startswith("v2 *") and lines[2].rstrip().endswith("ai fix")


def test_versions_json_is_the_core_listing(story: Story) -> None:
    result = story.steps["versions_json"]
    assert result.rc == 0, result.err
    listed = result.json()["versions"]  # type: ignore[index]
    assert [(v["version"], v["current"], v["sealed"]) for v in listed] == [
        (1, False, True),
        (2, True, True),
    ]


def test_rollback_asks_for_a_confirmation_and_without_a_terminal_changes_nothing(
    story: Story,
) -> None:
    result = story.steps["no_yes"]
    assert result.rc != 0 and "--yes" in result.err
    assert story.versions["before"] == 2


def test_rollback_of_a_bot_with_connections_needs_the_password(story: Story) -> None:
    result = story.steps["no_password"]
    assert result.rc != 0 and "password" in result.err.lower()
    assert story.versions["before"] == 2


def test_rollback_to_a_version_that_does_not_exist_says_which_exist(story: Story) -> None:
    result = story.steps["missing"]
    assert result.rc == 1
    assert "no notebook version 7: its latest is 2" in result.err


def test_rollback_runs_the_previous_version(story: Story) -> None:
    result = story.steps["rollback"]
    assert result.rc == 0, result.err
    assert f"Bot {NAME!r} now runs notebook version 1." in result.out
    assert story.versions["after"] == 1
    listed = story.steps["versions_after"].json()["versions"]  # type: ignore[index]
    assert [v["version"] for v in listed if v["current"]] == [1]
