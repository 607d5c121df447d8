"""The WatchDog Lab sidebar (labextension/src) in a real JupyterLab, driven by chromium."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from watchdog_lab.vault import KdfParams, Vault

FAST_KDF = KdfParams(time_cost=1, memory_kib=8 * 1024, parallelism=1)
SIDEBAR_TAB = '.jp-SideBar.jp-mod-left li[data-id="watchdog-lab-sidebar"]'
VAULT_ROUTE = "/watchdog-lab/vault"
#: Longer than one poll interval of the front end (5 s), short enough to keep the suite quick.
POLL_WAIT_MS = 8_000


def open_sidebar(page: Page, url: str) -> None:
    page.goto(url)
    tab = page.locator(SIDEBAR_TAB)
    expect(tab).to_be_visible(timeout=60_000)
    tab.click()
    expect(page.get_by_test_id("watchdog-sidebar")).to_be_visible()


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
