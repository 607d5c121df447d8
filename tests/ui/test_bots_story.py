"""A user's story with the sidebar's Bots card, in a real JupyterLab and chromium.

A connectionless bot is promoted over REST (a real uv venv and kernelspec, built from a uv cache
shared by the session); everything after that is done by clicking in the sidebar: start, stop
and delete, each seen in the card as the server reports it.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from .conftest import LabServer, start_lab
from .test_sidebar import DARK, EXPOSE_APP, LIGHT, open_sidebar, use_theme

#: Where the README's screenshots live.
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
#: The cheapest Argon2 the vault accepts, so the server starts and answers fast.
FAST_KDF_ARGS = (
    "--WatchdogLab.argon2_time_cost=1",
    "--WatchdogLab.argon2_memory_kib=8192",
    "--WatchdogLab.argon2_parallelism=1",
)
BOT_NAME = "looper"
#: A bot that stays running until it is stopped.
LOOPING_SOURCE = "import time\n\nwhile True:\n    time.sleep(0.2)\n"
PROMOTE_TIMEOUT = 180.0
#: A start builds nothing, but the runner and its kernel take a few seconds to come up.
START_TIMEOUT_MS = 60_000
#: A stop interrupts, then terminates, then kills the kernel: up to ~15 s.
STOP_TIMEOUT_MS = 30_000


@pytest.fixture(scope="session")
def ui_uv_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's shared uv cache (the folder the bot and server tests use too), so a
    promote hardlinks its venv instead of downloading anything."""
    path = tmp_path_factory.getbasetemp() / "uv-cache"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def bots_lab(
    tmp_path: Path, chromium_path: Path, installed_lab_extension: Path, ui_uv_cache: Path
) -> Iterator[LabServer]:
    """JupyterLab whose bots build from the shared uv cache, with a looping notebook at its
    root."""
    yield from start_lab(
        tmp_path / "lab",
        EXPOSE_APP,
        *FAST_KDF_ARGS,
        f"--WatchdogLab.uv_cache_dir={ui_uv_cache}",
    )


def write_notebook(lab: LabServer, name: str, source: str) -> None:
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "loop",
                "metadata": {},
                "outputs": [],
                "source": source,
            }
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    root = lab.log_path.parent / "notebooks"
    (root / name).write_text(json.dumps(notebook))


def call(lab: LabServer, method: str, route: str, body: object = None) -> dict[str, object]:
    request = urllib.request.Request(  # noqa: S310 - the local test server
        f"{lab.base_url}watchdog-lab/{route}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {lab.token}", "Content-Type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
        text = answer.read()
    return json.loads(text) if text else {}


def promote(lab: LabServer, notebook: str, name: str) -> None:
    """Promote over REST and wait for the job: the card must then list the bot, stopped."""
    job = call(lab, "POST", "bots", {"notebook": notebook, "name": name})
    deadline = time.monotonic() + PROMOTE_TIMEOUT
    while time.monotonic() < deadline:
        job = call(lab, "GET", f"bots/jobs/{job['id']}")
        if job["state"] == "done":
            return
        assert job["state"] == "running", job.get("error")
        time.sleep(0.5)
    pytest.fail(f"the promote job did not end within {PROMOTE_TIMEOUT}s: {job}")


def bot_item(page: Page, name: str) -> Locator:
    return page.locator(f'[data-testid="wd-bots-item"][data-name="{name}"]')


def card_screenshots(page: Page, name: str) -> None:
    """``docs/images/<name>-light.png`` and ``-dark.png``: the Bots card in each theme."""
    DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
    for theme, suffix in ((LIGHT, "light"), (DARK, "dark")):
        use_theme(page, theme)
        shot = DOCS_IMAGES / f"{name}-{suffix}.png"
        page.get_by_test_id("wd-bots-section").screenshot(path=str(shot))
        assert shot.stat().st_size > 0
    use_theme(page, LIGHT)


def test_a_user_starts_stops_and_deletes_a_bot_from_the_sidebar(
    bots_lab: LabServer, page: Page
) -> None:
    open_sidebar(page, bots_lab.url())
    expect(page.get_by_test_id("wd-bots-empty")).to_have_text("No bots yet — promote a notebook.")

    write_notebook(bots_lab, "loop.ipynb", LOOPING_SOURCE)
    promote(bots_lab, "loop.ipynb", BOT_NAME)
    page.get_by_test_id("wd-bots-refresh").click()
    bot = bot_item(page, BOT_NAME)
    expect(bot.get_by_test_id("wd-bots-state")).to_have_text("Stopped")
    expect(bot.get_by_test_id("wd-bots-connections")).to_have_text("none")
    expect(bot.get_by_test_id("wd-bots-version")).to_have_text("1")

    bot.get_by_test_id("wd-bots-start").click()
    expect(bot.get_by_test_id("wd-bots-state")).to_have_text("Running", timeout=START_TIMEOUT_MS)
    expect(bot.get_by_test_id("wd-bots-sandbox")).not_to_contain_text("not run yet")
    expect(bot.get_by_test_id("wd-bots-restarts")).to_have_text("0")
    card_screenshots(page, "sidebar-bots")

    bot.get_by_test_id("wd-bots-stop").click()
    expect(bot.get_by_test_id("wd-bots-state")).to_have_text("Stopped", timeout=STOP_TIMEOUT_MS)

    # Delete asks first; cancelling keeps the bot.
    bot.get_by_test_id("wd-bots-delete").click()
    bot.get_by_test_id("wd-bots-cancel-delete").click()
    expect(bot).to_be_visible()
    bot.get_by_test_id("wd-bots-delete").click()
    bot.get_by_test_id("wd-bots-confirm-delete").click()
    expect(bot_item(page, BOT_NAME)).to_have_count(0, timeout=STOP_TIMEOUT_MS)
    expect(page.get_by_test_id("wd-bots-empty")).to_be_visible()
    assert call(bots_lab, "GET", "bots") == {"bots": []}
