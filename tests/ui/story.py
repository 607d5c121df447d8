"""What the browser stories share: the lab's options, themes and screenshots, notebooks written
for a lab, and the extension's REST API called as the test (never as the page).

Screenshots go to ``docs/images/``, where the README shows them: every story saves its main
screens in the light and the dark theme.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from .conftest import LabServer

DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
#: Lets a story reach ``window.jupyterapp`` (commands, the theme) as an extension would.
EXPOSE_APP = "--LabApp.expose_app_in_browser=True"
#: The cheapest Argon2 the vault accepts, so the server starts and answers fast.
FAST_KDF_ARGS = (
    "--WatchdogLab.argon2_time_cost=1",
    "--WatchdogLab.argon2_memory_kib=8192",
    "--WatchdogLab.argon2_parallelism=1",
)
LIGHT, DARK = "JupyterLab Light", "JupyterLab Dark"
SIDEBAR_TAB = '.jp-SideBar.jp-mod-left li[data-id="watchdog-lab-sidebar"]'
PROMOTE_TIMEOUT = 180.0


def open_sidebar(page: Page, url: str) -> None:
    page.goto(url)
    tab = page.locator(SIDEBAR_TAB)
    expect(tab).to_be_visible(timeout=60_000)
    tab.click()
    expect(page.get_by_test_id("watchdog-sidebar")).to_be_visible()


def use_theme(page: Page, theme: str) -> None:
    page.evaluate(
        "theme => window.jupyterapp.commands.execute('apputils:change-theme', {theme})", theme
    )
    expect(page.locator("body")).to_have_attribute("data-jp-theme-name", theme)
    # A theme change covers the page with the splash screen until the new theme is in.
    expect(page.locator("#jupyterlab-splash")).to_have_count(0)


def save_screenshots(
    page: Page,
    target: Locator | None,
    name: str,
    *,
    viewport: dict[str, int] | None = None,
) -> None:
    """``docs/images/<name>-light.png`` and ``-dark.png``: ``target`` (or the whole page) as
    each theme draws it, at ``viewport`` if given; the page is left light, at its size."""
    DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size
    if viewport is not None:
        page.set_viewport_size(viewport)  # type: ignore[arg-type]  # a width and a height
    for theme, suffix in ((LIGHT, "light"), (DARK, "dark")):
        use_theme(page, theme)
        shot = DOCS_IMAGES / f"{name}-{suffix}.png"
        (target or page).screenshot(path=str(shot))
        assert shot.stat().st_size > 0
    use_theme(page, LIGHT)
    if viewport is not None and before is not None:
        page.set_viewport_size(before)


def notebook_json(*sources: str, ids: tuple[str, ...] = ()) -> dict[str, object]:
    """A Python notebook with one code cell per source (cell ids from ``ids``, else numbered)."""
    cells = [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": ids[index] if index < len(ids) else f"cell-{index}",
            "metadata": {},
            "outputs": [],
            "source": source,
        }
        for index, source in enumerate(sources)
    ]
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def write_notebook(lab: LabServer, name: str, source: str) -> None:
    """``name`` in the lab's notebook folder, one cell of ``source``."""
    path = lab.log_path.parent / "notebooks" / name
    path.write_text(json.dumps(notebook_json(source)))


def call(lab: LabServer, method: str, route: str, body: object = None) -> dict[str, object]:
    """The extension's REST route on ``lab``, with the token: what a test sets up or checks."""
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
