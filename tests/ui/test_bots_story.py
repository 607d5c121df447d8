"""A user's story with the sidebar's Bots card, in a real JupyterLab and chromium.

A connectionless bot is promoted over REST (a real uv venv and kernelspec, built from a uv cache
shared by the session); everything after that is done by clicking in the sidebar: start, stop
and delete, each seen in the card as the server reports it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .conftest import LabServer, start_lab
from .story import (
    EXPOSE_APP,
    FAST_KDF_ARGS,
    bot_item,
    call,
    open_sidebar,
    promote,
    save_screenshots,
    write_notebook,
)

BOT_NAME = "looper"
#: A bot that stays running until it is stopped.
LOOPING_SOURCE = "import time\n\nwhile True:\n    time.sleep(0.2)\n"
#: A start builds nothing, but the runner and its kernel take a few seconds to come up.
START_TIMEOUT_MS = 60_000
#: A stop interrupts, then terminates, then kills the kernel: up to ~15 s.
STOP_TIMEOUT_MS = 30_000


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


def card_screenshots(page: Page, name: str) -> None:
    """``docs/images/<name>-light.png`` and ``-dark.png``: the Bots card in each theme."""
    save_screenshots(page, page.get_by_test_id("wd-bots-section"), name)


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
