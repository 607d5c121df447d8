"""A user's story with a bot that waits for the vault, in a real JupyterLab and chromium.

A bot that uses a connection runs (real vault, venv, runner and kernel, set up over REST).
The vault gets locked, and the bot's runner is killed (``kill -9``: an out-of-memory kill, a
crash of its own): its keys were only in that runner's memory, so it cannot start again until
the user unlocks. The Bots card says it waits, and JupyterLab raises a notification naming it,
whose "Unlock the vault" button opens the sidebar on the unlock form, the cursor in the
password field. Unlocked, the bot starts by itself, and the notification goes away.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .conftest import LabServer, start_lab
from .story import (
    EXPOSE_APP,
    FAST_KDF_ARGS,
    PROMOTE_TIMEOUT,
    SIDEBAR_TAB,
    bot_item,
    call,
    open_sidebar,
    save_screenshots,
    write_notebook,
)
from .test_bots_story import START_TIMEOUT_MS

PASSWORD = "correct horse battery staple"
BOT = "quoter"
LOOP = "import time\n\nwhile True:\n    print('quoting', flush=True)\n    time.sleep(0.5)\n"
#: The card and the notification follow the bot list, polled every 5 s by default.
POLL_TIMEOUT_MS = 30_000


@pytest.fixture
def waiting_lab(
    tmp_path: Path, chromium_path: Path, installed_lab_extension: Path, ui_uv_cache: Path
) -> Iterator[LabServer]:
    yield from start_lab(
        tmp_path / "lab", EXPOSE_APP, *FAST_KDF_ARGS, f"--WatchdogLab.uv_cache_dir={ui_uv_cache}"
    )


def _promote_with_connection(lab: LabServer) -> None:
    call(lab, "POST", "vault", {"password": PASSWORD})
    call(
        lab,
        "POST",
        "connections",
        {"name": "Exchange", "kind": "generic", "fields": {"api_key": "k-" + "9f3Qz" * 6}},
    )
    write_notebook(lab, "quoting.ipynb", LOOP)
    request = {
        "notebook": "quoting.ipynb",
        "name": BOT,
        "connections": ["Exchange"],
        "password": PASSWORD,
        "mode": "continuous",
        "start": True,
    }
    job = call(lab, "POST", "bots", request)
    deadline = time.monotonic() + PROMOTE_TIMEOUT
    while job["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.5)
        job = call(lab, "GET", f"bots/jobs/{job['id']}")
    assert job["state"] == "done", job.get("error")


def test_a_user_is_told_a_bot_waits_for_the_vault_and_unlocks_it_from_the_notification(
    waiting_lab: LabServer, page: Page
) -> None:
    _promote_with_connection(waiting_lab)
    try:
        open_sidebar(page, waiting_lab.url())
        bot = bot_item(page, BOT)
        expect(bot.get_by_test_id("wd-bots-state")).to_have_text(
            "Running", timeout=START_TIMEOUT_MS
        )
        call(waiting_lab, "POST", "vault/lock")
        runner = call(waiting_lab, "GET", f"bots/{BOT}")["status"]
        os.kill(runner["pid"], signal.SIGKILL)  # type: ignore[index]

        expect(bot.get_by_test_id("wd-bots-state")).to_have_text(
            "Waiting for the vault to be unlocked", timeout=POLL_TIMEOUT_MS
        )
        toast = page.locator(
            ".Toastify__toast", has_text=f'Bot "{BOT}" is waiting for the vault to be unlocked'
        )
        expect(toast).to_be_visible(timeout=POLL_TIMEOUT_MS)
        save_screenshots(page, toast, "bots-waiting-unlock-alert")
        save_screenshots(page, bot, "bots-waiting-unlock")

        # With the sidebar closed, the notification's button opens it on the unlock form,
        # ready to type into.
        page.locator(SIDEBAR_TAB).click()
        expect(page.get_by_test_id("watchdog-sidebar")).to_be_hidden()
        toast.get_by_role("button", name="Unlock the vault").click()
        expect(page.get_by_test_id("watchdog-sidebar")).to_be_visible()
        password = page.get_by_test_id("wd-vault-unlock-password")
        expect(password).to_be_focused()
        password.fill(PASSWORD)
        page.get_by_test_id("wd-vault-unlock-submit").click()

        expect(bot.get_by_test_id("wd-bots-state")).to_have_text(
            "Running", timeout=START_TIMEOUT_MS
        )
        expect(toast).to_have_count(0, timeout=POLL_TIMEOUT_MS)
        again = call(waiting_lab, "GET", f"bots/{BOT}")["status"]
        assert again["pid"] != runner["pid"]  # type: ignore[index]
    finally:
        call(waiting_lab, "POST", f"bots/{BOT}/stop")
