"""A user's story with bot logs and crash alerts, in a real JupyterLab and chromium.

Two connectionless bots are promoted over REST (real uv venvs, real runners and kernels): one
prints a line every few milliseconds, the other raises in its only cell. The log of the first
is opened from its Logs button in the Bots card and watched, filtered, paused and followed; the
second crashes until its runner gives up (a crash loop), which JupyterLab announces with a
notification whose "Show logs" opens the crashed bot's log.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from .conftest import LabServer, start_lab
from .story import (
    EXPOSE_APP,
    FAST_KDF_ARGS,
    SIDEBAR_TAB,
    bot_item,
    call,
    open_sidebar,
    promote,
    save_screenshots,
    write_notebook,
)
from .test_bots_story import START_TIMEOUT_MS

PRINTER = "printer"
CRASHER = "crasher"
PRINTING_SOURCE = (
    "import time\n\ni = 0\nwhile True:\n    print(f'tick {i}', flush=True)\n"
    "    i += 1\n    time.sleep(0.02)\n"
)
CRASHING_SOURCE = "raise ValueError('the exchange said no')\n"
#: Two failures in a row end in a crash loop, quickly: the story need not wait for five.
FAST_CRASH_LOOP_ARGS = (
    "--WatchdogLab.restart_max_failures=2",
    "--WatchdogLab.restart_backoff_initial=0.2",
)
#: Two runs of a failing kernel, then one poll of the bot list (5 s by default).
CRASH_ALERT_TIMEOUT_MS = 90_000
FIX_COMMAND = "watchdog-lab:fix-bot"
#: Longer than one poll of the bot list at the default interval (5 s).
ONE_POLL_MS = 7_000
RELOAD_TIMEOUT_MS = 60_000


@pytest.fixture
def logs_lab(
    tmp_path: Path,
    chromium_path: Path,
    installed_lab_extension: Path,
    ui_uv_cache: Path,
) -> Iterator[LabServer]:
    yield from start_lab(
        tmp_path / "lab",
        EXPOSE_APP,
        *FAST_KDF_ARGS,
        *FAST_CRASH_LOOP_ARGS,
        f"--WatchdogLab.uv_cache_dir={ui_uv_cache}",
    )


def log_view(page: Page, bot: str) -> Locator:
    return page.locator(f'[data-testid="wd-logs-view"][data-bot="{bot}"]')


def line_count(view: Locator) -> int:
    text = view.get_by_test_id("wd-logs-count").inner_text()
    return int(re.sub(r"\D", "", text))


def screenshots(page: Page, target: Locator | None, name: str) -> None:
    """``docs/images/<name>-light.png`` and ``-dark.png``: of ``target``, or the whole page."""
    save_screenshots(page, target, name)


def test_a_user_follows_a_bot_log_and_is_told_when_a_bot_crashes(
    logs_lab: LabServer, page: Page
) -> None:
    write_notebook(logs_lab, "printer.ipynb", PRINTING_SOURCE)
    write_notebook(logs_lab, "crasher.ipynb", CRASHING_SOURCE)
    promote(logs_lab, "printer.ipynb", PRINTER)
    promote(logs_lab, "crasher.ipynb", CRASHER)
    call(logs_lab, "POST", f"bots/{PRINTER}/start")

    open_sidebar(page, logs_lab.url())
    printer = bot_item(page, PRINTER)
    expect(printer.get_by_test_id("wd-bots-state")).to_have_text(
        "Running", timeout=START_TIMEOUT_MS
    )
    printer.get_by_test_id("wd-bots-logs").click()

    # Lines stream in while the view is open.
    view = log_view(page, PRINTER)
    expect(view.get_by_test_id("wd-logs-state")).to_have_text("Live")
    expect(view.get_by_test_id("wd-logs-row").filter(has_text="tick").first).to_be_visible(
        timeout=START_TIMEOUT_MS
    )
    seen = line_count(view)
    page.wait_for_timeout(1000)
    assert line_count(view) > seen

    # A text filter keeps only the lines containing it.
    view.get_by_test_id("wd-logs-filter").fill("tick 7")
    expect(view.get_by_test_id("wd-logs-row").first).to_contain_text("tick 7")
    for text in view.get_by_test_id("wd-logs-row").all_inner_texts():
        assert "tick 7" in text
    view.get_by_test_id("wd-logs-filter").fill("")

    # Paused, the view holds still while lines keep arriving; resumed, it shows them.
    pause = view.get_by_test_id("wd-logs-pause")
    pause.click()
    expect(pause).to_have_attribute("aria-pressed", "true")
    held = line_count(view)
    expect(pause).to_have_text(re.compile(r"Resume \(\d+ new lines?\)"))
    assert line_count(view) == held
    pause.click()
    expect(pause).to_have_text("Pause")
    assert line_count(view) > held

    # Home stops following (the user reads back), End follows again, all from the keyboard.
    scroller = view.get_by_test_id("wd-logs-scroller")
    follow = view.get_by_test_id("wd-logs-follow")
    scroller.focus()
    page.keyboard.press("Home")
    expect(follow).not_to_be_checked()
    page.keyboard.press("End")
    expect(follow).to_be_checked()
    screenshots(page, None, "logs-view")

    # The second bot crashes after the page loaded: a notification names it and says why.
    call(logs_lab, "POST", f"bots/{CRASHER}/start")
    toast = page.locator(".Toastify__toast", has_text=f'Bot "{CRASHER}" is in a crash loop')
    expect(toast).to_be_visible(timeout=CRASH_ALERT_TIMEOUT_MS)
    expect(toast).to_contain_text("ValueError: the exchange said no")
    expect(toast.get_by_role("button", name="Show logs")).to_be_visible()
    has_fix = page.evaluate(f"() => window.jupyterapp.commands.hasCommand('{FIX_COMMAND}')")
    expect(toast.get_by_role("button", name="Fix with AI")).to_have_count(1 if has_fix else 0)
    screenshots(page, toast, "logs-crash-alert")
    # Announced once: the next polls of the same crash add no second notification.
    page.wait_for_timeout(ONE_POLL_MS)
    expect(page.locator(".Toastify__toast", has_text=f'Bot "{CRASHER}"')).to_have_count(1)

    toast.get_by_role("button", name="Show logs").click()
    crashed = log_view(page, CRASHER)
    expect(crashed).to_be_visible()
    expect(crashed.get_by_test_id("wd-logs-row").filter(has_text="giving up")).to_have_count(1)
    crashed.get_by_test_id("wd-logs-level").select_option("error")
    expect(
        crashed.get_by_test_id("wd-logs-row").filter(has_text="ValueError").first
    ).to_be_visible()
    call(logs_lab, "POST", f"bots/{PRINTER}/stop")

    # A crash that happened before the page loaded is old news: the card shows it, no alert.
    page.reload()
    expect(page.locator(SIDEBAR_TAB)).to_be_visible(timeout=RELOAD_TIMEOUT_MS)
    if not page.get_by_test_id("watchdog-sidebar").is_visible():
        page.locator(SIDEBAR_TAB).click()
    expect(bot_item(page, CRASHER).get_by_test_id("wd-bots-state")).to_contain_text(
        "Crashed", timeout=RELOAD_TIMEOUT_MS
    )
    page.wait_for_timeout(ONE_POLL_MS)
    expect(page.locator(".Toastify__toast")).to_have_count(0)
