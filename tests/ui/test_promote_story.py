"""A user promotes a notebook from its toolbar, in a real JupyterLab and chromium.

The notebook has a ``parameters`` cell and imports a package whose name is one letter swap from
``requests``: the dialog shows it flagged by the install policy, the user allows it (it is a
real package, served from a local wheel folder, never the internet), changes a parameter and
promotes, watching the steps. The bot then runs from the Bots card; stopped, its run history
opens the executed notebook read-only, showing the parameter the user set.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from watchdog_lab.bots.kernelspec import kernel_name

from ..bots.wheels import build_wheel
from .conftest import LabServer, start_lab
from .story import (
    EXPOSE_APP,
    FAST_KDF_ARGS,
    bot_item,
    call,
    open_sidebar,
    save_screenshots,
)
from .test_bots_story import START_TIMEOUT_MS, STOP_TIMEOUT_MS

#: One letter swap from ``requests``: the typosquat rule flags it; the user allows it.
LOOKALIKE = "reqeusts"
BOT_NAME = "strategy"
NOTEBOOK = "strategy.ipynb"
PROMOTE_COMMAND = "watchdog-lab:promote"
PARAMETERS = "symbol = 'BTC-USD'\nrounds = 2"
BODY = (
    "import json\nimport time\n\nimport reqeusts\n\n"
    "print(json.dumps({'symbol': symbol, 'rounds': rounds, 'greeting': reqeusts.GREETING}))\n"
    "while True:\n    time.sleep(0.2)\n"
)
#: A promote builds a venv (from the shared uv cache and the local wheel): seconds, not more.
PROMOTE_TIMEOUT_MS = 180_000


@pytest.fixture
def wheelhouse(tmp_path: Path) -> Path:
    """A local wheel folder holding the look-alike package, the only place it exists."""
    folder = tmp_path / "wheelhouse"
    build_wheel(folder, LOOKALIKE, "1.0", {f"{LOOKALIKE}/__init__.py": "GREETING = 'hello'\n"})
    return folder


@pytest.fixture
def promote_lab(
    tmp_path: Path,
    chromium_path: Path,
    installed_lab_extension: Path,
    ui_uv_cache: Path,
    wheelhouse: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[LabServer]:
    """JupyterLab whose bots build from the shared uv cache and the local wheel folder."""
    monkeypatch.setenv("UV_FIND_LINKS", str(wheelhouse))
    yield from start_lab(
        tmp_path / "lab",
        EXPOSE_APP,
        *FAST_KDF_ARGS,
        f"--WatchdogLab.uv_cache_dir={ui_uv_cache}",
    )


def write_parameterised_notebook(lab: LabServer) -> None:
    def cell(source: str, tags: list[str]) -> dict[str, object]:
        return {
            "cell_type": "code",
            "execution_count": None,
            "id": tags[0] if tags else "body",
            "metadata": {"tags": tags},
            "outputs": [],
            "source": source,
        }

    notebook = {
        "cells": [cell(PARAMETERS, ["parameters"]), cell(BODY, [])],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (lab.log_path.parent / "notebooks" / NOTEBOOK).write_text(json.dumps(notebook))


def dialog_screenshots(page: Page, target: Locator, name: str) -> None:
    """``docs/images/<name>-light.png`` and ``-dark.png``."""
    save_screenshots(page, target, name)


def test_a_user_promotes_a_notebook_from_its_toolbar_and_reads_its_run(
    promote_lab: LabServer, page: Page
) -> None:
    write_parameterised_notebook(promote_lab)
    open_sidebar(page, promote_lab.url(f"lab/tree/{NOTEBOOK}"))
    button = page.locator(".wd-promote-toolbarButton").first
    expect(button).to_be_visible(timeout=60_000)
    # The same act is a palette command, enabled while a notebook is current.
    assert page.evaluate("id => window.jupyterapp.commands.isEnabled(id)", PROMOTE_COMMAND), (
        "the promote command is missing or disabled"
    )
    button.click()

    dialog = page.get_by_test_id("wd-promote-dialog")
    flagged = dialog.locator(f'[data-testid="wd-promote-dep"][data-spec="{LOOKALIKE}"]')
    expect(flagged).to_have_attribute("data-verdict", "flagged")
    expect(flagged).to_contain_text("did you mean 'requests'?")
    expect(dialog.get_by_test_id("wd-promote-name")).to_have_value(BOT_NAME)
    rounds = dialog.get_by_test_id("wd-promote-param-rounds")
    expect(rounds).to_have_value("2")
    expect(dialog.get_by_test_id("wd-promote-param-symbol")).to_have_value('"BTC-USD"')
    # Blocked until the flagged name is allowed.
    expect(dialog.get_by_test_id("wd-promote-submit")).to_be_disabled()
    expect(dialog.get_by_test_id("wd-promote-blocked")).to_contain_text(LOOKALIKE)
    dialog_screenshots(page, page.locator(".wd-promote-content"), "promote-verdicts")

    flagged.get_by_test_id("wd-promote-allow").check()
    rounds.fill("5")
    dialog.get_by_role("radio", name="Continuously (restarted if it fails)").check()
    dialog.get_by_test_id("wd-promote-start").check()
    dialog.get_by_test_id("wd-promote-submit").click()

    progress = dialog.get_by_test_id("wd-promote-progress")
    expect(progress.get_by_test_id("wd-promote-step").first).to_be_visible()
    expect(progress).to_have_attribute("data-state", "done", timeout=PROMOTE_TIMEOUT_MS)
    steps = progress.get_by_test_id("wd-promote-step")
    expect(steps.filter(has_text="checking dependencies")).to_have_attribute("data-state", "done")
    expect(steps.filter(has_text="writing kernelspec")).to_have_count(1)
    dialog_screenshots(page, page.locator(".wd-promote-content"), "promote-progress")
    dialog.get_by_test_id("wd-promote-close").click()
    expect(dialog).to_have_count(0)

    bot = bot_item(page, BOT_NAME)
    expect(bot.get_by_test_id("wd-bots-state")).to_have_text("Running", timeout=START_TIMEOUT_MS)
    # Its output streams into the log view the bot's Logs button opens.
    bot.get_by_test_id("wd-bots-logs").click()
    logs = page.locator(f'[data-testid="wd-logs-view"][data-bot="{BOT_NAME}"]')
    expect(logs.get_by_test_id("wd-logs-state")).to_have_text("Live")
    expect(logs.get_by_test_id("wd-logs-row").filter(has_text='"rounds": 5')).to_have_count(
        1, timeout=START_TIMEOUT_MS
    )
    bot.get_by_test_id("wd-bots-stop").click()
    expect(bot.get_by_test_id("wd-bots-state")).to_have_text("Stopped", timeout=STOP_TIMEOUT_MS)

    bot.get_by_test_id("wd-runs-toggle").click()
    run = bot.get_by_test_id("wd-runs-item")
    expect(run).to_have_count(1)
    dialog_screenshots(page, page.get_by_test_id("wd-bots-section"), "promote-runs")
    run.get_by_test_id("wd-runs-open").click()
    viewer = page.get_by_test_id("wd-runs-viewer")
    expect(viewer).to_contain_text('"rounds": 5')
    expect(viewer).to_contain_text('"greeting": "hello"')
    expect(viewer.locator("input, textarea, [contenteditable='true']")).to_have_count(0)
    dialog_screenshots(page, viewer, "promote-run-notebook")

    described = call(promote_lab, "GET", f"bots/{BOT_NAME}")
    assert described["parameters"] == {"rounds": 5}

    # The bot's notebook opens as a new file on the bot's own kernel; its version is untouched.
    version = Path(str(described["folder"])) / "notebook" / "v1.ipynb"
    sealed = version.read_bytes()
    bot.get_by_test_id("wd-runs-open-notebook").click()
    copy = f"{BOT_NAME} v1 (copy).ipynb"
    expect(page.locator(".lm-TabBar-tab", has_text=copy)).to_be_visible()
    expect(page.locator(".jp-NotebookPanel:visible .jp-Toolbar-kernelName")).to_contain_text(
        f"WatchDog bot: {BOT_NAME}", timeout=START_TIMEOUT_MS
    )
    saved = json.loads((promote_lab.log_path.parent / "notebooks" / copy).read_text())
    assert saved["metadata"]["kernelspec"]["name"] == kernel_name(str(described["id"]))
    assert version.read_bytes() == sealed
