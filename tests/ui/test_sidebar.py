"""The WatchDog Lab sidebar (labextension/src) in a real JupyterLab, driven by chromium."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from watchdog_lab.vault import KdfParams, Vault

from .conftest import LabServer, start_lab
from .story import DARK, EXPOSE_APP, LIGHT, SIDEBAR_TAB, open_sidebar, use_theme

FAST_KDF = KdfParams(time_cost=1, memory_kib=8 * 1024, parallelism=1)
VAULT_ROUTE = "/watchdog-lab/vault"
SANDBOX_ROUTE = "/watchdog-lab/sandbox"
#: Longer than one poll interval of the front end (5 s), short enough to keep the suite quick.
POLL_WAIT_MS = 8_000
#: The rows of the sandbox card and what the server calls their level.
SANDBOX_ROWS = {
    "watchdog-sandbox-kernels": ("Notebook kernels", "kernels"),
    "watchdog-sandbox-bots": ("Bots", "bots"),
}


def create_vault(home: Path) -> None:
    with Vault(home, kdf=FAST_KDF) as vault:
        vault.create("correct horse battery staple")


def test_sidebar_shows_no_vault_then_locked_after_refresh(lab, page: Page, artifacts_dir) -> None:
    open_sidebar(page, lab.url())
    state = page.get_by_test_id("watchdog-vault-state")
    expect(state).to_have_text("No vault")
    expect(page.get_by_test_id("watchdog-vault")).to_have_attribute("data-state", "absent")

    create_vault(lab.watchdog_home)
    with page.expect_response(lambda response: VAULT_ROUTE in response.url) as answer:
        page.get_by_test_id("watchdog-refresh").click()
    assert answer.value.ok
    expect(state).to_have_text("Locked")
    expect(page.get_by_test_id("watchdog-vault")).to_have_attribute("data-state", "locked")

    screenshot = artifacts_dir / "sidebar-locked.png"
    page.screenshot(path=str(screenshot))
    assert screenshot.stat().st_size > 0


def test_sidebar_polls_while_open_and_stops_when_closed(lab, page: Page) -> None:
    open_sidebar(page, lab.url())
    state = page.get_by_test_id("watchdog-vault-state")
    expect(state).to_have_text("No vault")

    # No click: the open sidebar notices the new vault on its own.
    create_vault(lab.watchdog_home)
    expect(state).to_have_text("Locked", timeout=POLL_WAIT_MS)

    page.locator(SIDEBAR_TAB).click()
    expect(page.get_by_test_id("watchdog-sidebar")).to_be_hidden()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.wait_for_timeout(POLL_WAIT_MS)
    assert [url for url in requests if VAULT_ROUTE in url] == []


def test_sidebar_says_when_the_server_extension_is_not_reachable(
    lab_without_server_extension, page: Page, artifacts_dir
) -> None:
    open_sidebar(page, lab_without_server_extension.url())
    expect(page.get_by_test_id("watchdog-vault-state")).to_have_text("Server extension unreachable")
    error = page.get_by_test_id("watchdog-error")
    expect(error).to_contain_text("jupyter server extension enable watchdog_lab")
    page.screenshot(path=str(artifacts_dir / "sidebar-unreachable.png"))


@pytest.fixture
def themed_lab(
    tmp_path: Path, chromium_path: Path, installed_lab_extension: Path
) -> Iterator[LabServer]:
    """JupyterLab as the ``lab`` fixture, with the app exposed to switch themes."""
    yield from start_lab(tmp_path / "lab", EXPOSE_APP)


@pytest.fixture
def unconfined_lab(
    tmp_path: Path, chromium_path: Path, installed_lab_extension: Path
) -> Iterator[LabServer]:
    """JupyterLab whose interactive kernels and bots are set to run unconfined."""
    yield from start_lab(
        tmp_path / "lab",
        EXPOSE_APP,
        "--WatchdogLab.kernel_sandbox=none",
        "--WatchdogLab.sandbox=none",
    )


def sandbox_levels(lab: LabServer) -> dict[str, Any]:
    """What the running server answers on its sandbox route (as the sidebar asks it)."""
    with urllib.request.urlopen(lab.url("watchdog-lab/sandbox"), timeout=30) as answer:  # noqa: S310
        return json.loads(answer.read())


def warn_colour(page: Page) -> str:
    """``--jp-warn-color0`` of the current theme, resolved to the ``rgb(...)`` CSS computes."""
    return page.evaluate(
        """() => {
            const probe = document.createElement('span');
            probe.style.color = 'var(--jp-warn-color0)';
            document.body.append(probe);
            const colour = getComputedStyle(probe).color;
            probe.remove();
            return colour;
        }"""
    )


def value_colour(page: Page, test_id: str) -> str:
    return (
        page.get_by_test_id(test_id)
        .locator(".jp-WatchdogLab-levelValue")
        .evaluate("element => getComputedStyle(element).color")
    )


def expect_rows(page: Page, levels: dict[str, Any]) -> None:
    """Both rows show the server's words, marked confined or not as the server says."""
    for test_id, (label, key) in SANDBOX_ROWS.items():
        row = page.get_by_test_id(test_id)
        expect(row).to_have_text(f"{label}: {levels[key]}")
        expect(row).to_have_attribute("data-confined", str(levels[f"{key}_confined"]).lower())


def screenshot_both_themes(page: Page, artifacts_dir: Path, name: str) -> list[Path]:
    """``<name>-light.png`` and ``<name>-dark.png``, the sidebar as each theme draws it."""
    shots = []
    for theme, suffix in ((LIGHT, "light"), (DARK, "dark")):
        use_theme(page, theme)
        shot = artifacts_dir / f"{name}-{suffix}.png"
        page.screenshot(path=str(shot))
        assert shot.stat().st_size > 0
        shots.append(shot)
    return shots


def test_sidebar_shows_the_sandbox_levels_the_server_reports(
    themed_lab: LabServer, page: Page, artifacts_dir: Path
) -> None:
    levels = sandbox_levels(themed_lab)
    with page.expect_response(lambda response: SANDBOX_ROUTE in response.url) as answer:
        open_sidebar(page, themed_lab.url())
    assert answer.value.ok
    expect(page.get_by_test_id("watchdog-vault-state")).to_have_text("No vault")
    expect_rows(page, levels)
    for test_id, (_, key) in SANDBOX_ROWS.items():
        if levels[f"{key}_confined"]:
            assert value_colour(page, test_id) != warn_colour(page), test_id
    screenshot_both_themes(page, artifacts_dir, "sidebar-sandbox")


def test_sidebar_warns_when_kernels_and_bots_are_not_confined(
    unconfined_lab: LabServer, page: Page, artifacts_dir: Path
) -> None:
    levels = sandbox_levels(unconfined_lab)
    assert levels["kernels_confined"] is False
    assert levels["bots_confined"] is False
    open_sidebar(page, unconfined_lab.url())
    expect_rows(page, levels)
    for theme in (LIGHT, DARK):
        use_theme(page, theme)
        for test_id in SANDBOX_ROWS:
            expect(page.get_by_test_id(test_id)).to_have_class(re.compile("jp-mod-unconfined"))
            assert value_colour(page, test_id) == warn_colour(page), (theme, test_id)
    screenshot_both_themes(page, artifacts_dir, "sidebar-sandbox-unconfined")
