"""A user's story with the notebook panel (``wd.panel()``), in a real JupyterLab and chromium.

JupyterLab saves widget state into the notebook here ("Save Widget State Automatically" on):
the panel's password inputs and views are then part of what is saved, and the story ends by
reading the saved file for every secret it typed or that the vault holds.

In order, as a user does it: run the panel cell, unlock the vault, add a connection with a
secret field, grant it to this kernel, promote this notebook (saved first through the lab
extension's bridge) and watch the promote's steps, watch the bot's log tail, then fix a failing
cell with AI Fix, apply it to the cell (one undoable edit) and undo.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from ..aifix.fake_anthropic import FakeAnthropic, tool_use
from .conftest import LabServer, start_lab
from .story import (
    EXPOSE_APP,
    FAST_KDF_ARGS,
    call,
    save_screenshots,
)
from .test_aifix_story import API_KEY, PASSWORD, encodings, vault_with_claude

NOTEBOOK = "panel.ipynb"
#: A value for the connection added in the panel: typed once, never to be seen again.
EXCHANGE_SECRET = "xs-PanelStory-" + "Rt4mQ8zW" * 3
PANEL_CELL = "import watchdog_lab as wd\npanel = wd.panel()\npanel"
TICKER_CELL = (
    "import time\n"
    "for i in range(3000):\n"
    "    print(f'INFO tick {i}', flush=True)\n"
    "    time.sleep(0.1)"
)
BROKEN = 'prices = {"close": 101.5}\ntotal = prices["last"] * 3'
FIXED = 'prices = {"close": 101.5}\ntotal = prices.get("last", prices["close"]) * 3\n'
EXPLANATION = "The prices have no 'last' key; fall back to the close price."
KERNEL_TIMEOUT_MS = 90_000
PROMOTE_TIMEOUT_MS = 180_000
WIDGETS_SETTINGS = Path("@jupyter-widgets") / "jupyterlab-manager" / "plugin.jupyterlab-settings"


@pytest.fixture
def fake_api() -> Iterator[FakeAnthropic]:
    server = FakeAnthropic().start()
    server.default = tool_use(FIXED, EXPLANATION)
    yield server
    server.stop()


@pytest.fixture
def panel_lab(
    tmp_path: Path,
    chromium_path: Path,
    installed_lab_extension: Path,
    fake_api: FakeAnthropic,
    ui_uv_cache: Path,
) -> Iterator[LabServer]:
    """JupyterLab that saves widget state into notebooks, a locked vault holding an anthropic
    connection, and a notebook: the panel cell, a ticking bot cell, a cell that raises."""
    settings = tmp_path / "lab" / "lab-settings" / WIDGETS_SETTINGS
    for lab in start_lab(
        tmp_path / "lab",
        EXPOSE_APP,
        *FAST_KDF_ARGS,
        f"--WatchdogLab.ai_base_url={fake_api.url}",
        "--WatchdogLab.ai_max_retries=0",
        f"--WatchdogLab.uv_cache_dir={ui_uv_cache}",
    ):
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_text(json.dumps({"saveState": True}))
        vault_with_claude(lab)
        call(lab, "POST", "vault/lock", {})
        (lab.log_path.parent / "notebooks" / NOTEBOOK).write_text(json.dumps(notebook()))
        yield lab


def notebook() -> dict[str, object]:
    def cell(cell_id: str, source: str) -> dict[str, object]:
        return {
            "cell_type": "code",
            "execution_count": None,
            "id": cell_id,
            "metadata": {},
            "outputs": [],
            "source": source,
        }

    return {
        "cells": [cell("panel", PANEL_CELL), cell("ticker", TICKER_CELL)],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def control(page: Page, name: str) -> Locator:
    return page.locator(f".wd-panel-{name}")


def open_tab(page: Page, title: str) -> Locator:
    page.locator(".wd-panel-tabs .lm-TabBar-tab", has_text=title).click()
    return page.locator(".wd-panel-root")


def shoot(page: Page, name: str) -> None:
    """``docs/images/panel-<name>-light.png`` and ``-dark.png``: the panel in each theme."""
    save_screenshots(page, page.locator(".wd-panel-root"), f"panel-{name}")


def type_secret(page: Page, name: str, value: str) -> None:
    """Type into a password input and leave it, as a user does before clicking."""
    field = control(page, name).locator("input")
    field.fill(value)
    field.press("Tab")
    expect(field).to_have_value("")  # the kernel took it out of the widget


def run_cell(page: Page, index: int) -> None:
    page.locator(".jp-Notebook .jp-CodeCell").nth(index).locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")


def cell_source(page: Page, index: int) -> str:
    return str(
        page.evaluate(
            "i => window.jupyterapp.shell.currentWidget.content.widgets[i]"
            ".model.sharedModel.getSource()",
            index,
        )
    )


def test_a_user_works_from_the_notebook_panel_and_the_saved_notebook_keeps_no_secret(
    panel_lab: LabServer, page: Page, fake_api: FakeAnthropic
) -> None:
    page.set_viewport_size({"width": 1280, "height": 1600})  # the whole panel in one shot
    page.goto(panel_lab.url(f"lab/tree/{NOTEBOOK}"))
    expect(page.locator(".jp-Notebook .jp-CodeCell").first).to_be_visible(timeout=60_000)
    expect(page.locator(".jp-StatusBar-Widget", has_text="| Idle")).to_be_visible(
        timeout=KERNEL_TIMEOUT_MS
    )
    run_cell(page, 0)
    expect(control(page, "vault-state")).to_contain_text("the vault is locked", timeout=60_000)

    # Vault: unlock.
    type_secret(page, "vault-password", PASSWORD)
    control(page, "unlock").click()
    expect(control(page, "vault-state")).to_contain_text("the vault is unlocked", timeout=30_000)
    shoot(page, "vault")

    # Connections: add one from the kind's form, then grant it to this kernel.
    open_tab(page, "Connections")
    control(page, "new-name").locator("input").fill("Exchange")
    control(page, "new-kind").locator("select").select_option("generic")
    control(page, "open-name-0").locator("input").fill("token")
    type_secret(page, "open-value-0", EXCHANGE_SECRET)
    type_secret(page, "add-password", PASSWORD)
    control(page, "add").click()
    expect(control(page, "connections-status")).to_contain_text("Exchange is added", timeout=30_000)
    expect(control(page, "connections-list")).to_contain_text("Exchange")
    control(page, "connection-pick").locator("select").select_option("Exchange")
    type_secret(page, "connections-password", PASSWORD)
    control(page, "grant").click()
    expect(control(page, "connections-status")).to_contain_text("is granted", timeout=30_000)
    expect(control(page, "connections-list")).to_contain_text("granted here")
    shoot(page, "connections")

    # Bots: promote this notebook; it is saved first, through the lab extension.
    open_tab(page, "Bots")
    control(page, "promote-open").click()
    expect(control(page, "promote-saved")).to_contain_text("Saved", timeout=30_000)
    expect(control(page, "promote-verdicts")).to_contain_text(
        "Every dependency is approved", timeout=60_000
    )
    control(page, "promote-name").locator("input").fill("ticker")
    control(page, "promote-go").click()
    expect(control(page, "promote-status")).to_contain_text(
        "ticker is promoted", timeout=PROMOTE_TIMEOUT_MS
    )
    expect(control(page, "promote-progress")).to_contain_text("checking dependencies")
    expect(control(page, "bots-table")).to_contain_text("ticker", timeout=30_000)
    shoot(page, "bots")

    # Logs: the bot's tail, live.
    open_tab(page, "Logs")
    control(page, "logs-refresh").click()
    expect(control(page, "logs-bot").locator("select")).to_have_value("ticker", timeout=30_000)
    expect(control(page, "logs-view")).to_contain_text("INFO tick 5", timeout=90_000)
    shoot(page, "logs")

    # AI Fix: a cell raises; preview, send, apply, undo.
    page.locator(".jp-Notebook .jp-CodeCell").nth(1).locator(".jp-InputArea-editor").click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")  # a new cell below the ticker
    page.keyboard.press("Enter")
    page.keyboard.type(BROKEN)
    page.keyboard.press("Shift+Enter")
    open_tab(page, "AI Fix")
    expect(control(page, "fix-failure")).to_contain_text("KeyError", timeout=60_000)
    control(page, "fix-preview").click()
    expect(control(page, "fix-payload")).to_contain_text("sha256", timeout=30_000)
    assert fake_api.requests == []
    type_secret(page, "fix-password", PASSWORD)
    control(page, "fix-send").click()
    expect(control(page, "fix-proposal")).to_contain_text(EXPLANATION, timeout=30_000)
    shoot(page, "aifix")
    control(page, "fix-apply").click()
    expect(control(page, "fix-status")).to_contain_text("now holds the fix", timeout=30_000)
    assert cell_source(page, 2) == FIXED
    page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.content.widgets[2].model.sharedModel.undo()"
    )
    assert cell_source(page, 2) == BROKEN

    # Save, with widget state: the file holds the panel's state and no secret.
    page.keyboard.press("Control+s")
    saved_path = panel_lab.log_path.parent / "notebooks" / NOTEBOOK
    expect(page.locator(".jp-Notebook")).to_be_visible()
    page.wait_for_timeout(2000)
    saved = saved_path.read_text()
    state = json.loads(saved)["metadata"]["widgets"]
    assert "wd-panel-vault-password" in json.dumps(state)  # the panel's state is in the file
    for secret in (PASSWORD, EXCHANGE_SECRET, API_KEY):
        for spelling in encodings(secret):
            assert spelling not in saved, f"a secret ({spelling[:6]}...) was saved"
