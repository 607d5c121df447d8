"""A user's story with the sidebar's Backups card, in a real JupyterLab, a real vault and
chromium.

The vault is created in the sidebar and a connection added in the Connections card; the user
backs up now, verifies the snapshot, removes the connection, then restores the snapshot with
the vault password. The server locks the restored vault: the card disables backing up and
verifying, saying why; once unlocked, the Connections card lists the connection again, without
a page reload. The password and the connection's secret are searched for in the page's HTML,
every form control, both web storages and the IndexedDB database names after each submit.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from .conftest import LabServer, start_lab
from .story import EXPOSE_APP, FAST_KDF_ARGS, open_sidebar, save_screenshots
from .test_access_story import PASSWORD, create_vault, expect_no_secret_anywhere
from .test_connections_story import add_generic, item

CONNECTION = "exchange"
#: A restore re-opens the vault's database and takes a safety snapshot first.
RESTORE_TIMEOUT_MS = 30_000
#: Tall enough that the whole card, restore form included, fits in a screenshot.
SCREENSHOT_VIEWPORT = {"width": 1280, "height": 1600}
#: Automatic backups stay on (the card shows them), but none is taken during the story: each
#: vault use pushes it back by this long, so the list holds only what the user made.
QUIET_DEBOUNCE_ARG = "--WatchdogLab.backup_debounce_seconds=3600"


@pytest.fixture
def backups_lab(
    tmp_path: Path, chromium_path: Path, installed_lab_extension: Path
) -> Iterator[LabServer]:
    """JupyterLab with no vault yet."""
    yield from start_lab(tmp_path / "lab", EXPOSE_APP, *FAST_KDF_ARGS, QUIET_DEBOUNCE_ARG)


def backup_items(page: Page) -> Locator:
    return page.get_by_test_id("wd-backup-section").get_by_test_id("wd-backup-item")


def card_screenshots(page: Page, name: str) -> None:
    """``docs/images/<name>-light.png`` and ``-dark.png``: the Backups card in each theme."""
    section = page.get_by_test_id("wd-backup-section")
    section.scroll_into_view_if_needed()
    save_screenshots(page, section, name, viewport=SCREENSHOT_VIEWPORT)


def remove_connection(page: Page, name: str) -> None:
    connection = item(page, name)
    connection.get_by_test_id("wd-conn-remove").click()
    connection.get_by_test_id("wd-conn-remove-password").fill(PASSWORD)
    connection.get_by_role("button", name="Remove").click()
    expect(item(page, name)).to_have_count(0)


def test_a_user_backs_up_verifies_and_restores_a_removed_connection(
    backups_lab: LabServer, page: Page
) -> None:
    open_sidebar(page, backups_lab.url())
    create_vault(page)
    secret = secrets.token_urlsafe(24)
    add_generic(page, CONNECTION, "token", secret)
    expect(item(page, CONNECTION)).to_be_visible()

    section = page.get_by_test_id("wd-backup-section")
    expect(section.get_by_test_id("wd-backup-retention")).to_have_text("30 days")
    expect(section.get_by_test_id("wd-backup-automatic")).to_have_text("On")
    expect(section.get_by_test_id("wd-backup-empty")).to_be_visible()

    # Back up now: the new snapshot is listed first, taken by hand.
    section.get_by_test_id("wd-backup-create").click()
    expect(section.get_by_test_id("wd-backup-created")).to_be_visible()
    expect(backup_items(page)).to_have_count(1)
    snapshot = backup_items(page).first
    expect(snapshot.get_by_test_id("wd-backup-reason")).to_have_text("Manual")
    expect(snapshot.get_by_test_id("wd-backup-size")).to_contain_text("B")
    snapshot_id = snapshot.get_attribute("data-id")
    assert snapshot_id
    snapshot = section.locator(f'[data-testid="wd-backup-item"][data-id="{snapshot_id}"]')

    # Verify: the server read every file back and found it intact.
    snapshot.get_by_test_id("wd-backup-verify").click()
    verified = snapshot.get_by_test_id("wd-backup-verified")
    expect(verified).to_have_attribute("data-ok", "true")
    expect(verified).to_contain_text("Intact")

    # The connection is removed after the snapshot.
    remove_connection(page, CONNECTION)

    # Restore: the form says what happens, then takes the password.
    snapshot.get_by_test_id("wd-backup-restore").click()
    form = snapshot.get_by_test_id("wd-backup-restore-form")
    expect(form).to_contain_text("A backup of the current state is taken first")
    expect(form).to_contain_text("Running bots must be stopped first.")
    password = form.get_by_test_id("wd-backup-restore-password")
    expect(password).to_be_focused()
    card_screenshots(page, "backups-restore")

    # A wrong password is refused in the server's words, and the input is emptied.
    wrong = secrets.token_urlsafe(12)
    password.fill(wrong)
    password.press("Enter")
    expect(form.get_by_test_id("wd-backup-restore-error")).to_be_visible(timeout=RESTORE_TIMEOUT_MS)
    expect(password).to_have_value("")
    expect_no_secret_anywhere(page, wrong)

    password.fill(PASSWORD)
    password.press("Enter")
    restored = section.get_by_test_id("wd-backup-restored")
    expect(restored).to_contain_text("Restored the backup of", timeout=RESTORE_TIMEOUT_MS)
    expect(restored).to_contain_text("1 connection")
    expect(section.get_by_test_id("wd-backup-safety")).to_contain_text("restore it to undo")
    expect(section.get_by_test_id("wd-backup-restore-form")).to_have_count(0)
    # The safety snapshot of the state before the restore is listed too.
    expect(backup_items(page)).to_have_count(2)
    expect(
        section.locator('[data-testid="wd-backup-item"][data-reason="pre-restore"]')
    ).to_have_count(1)

    # The server locks the restored vault; the card says how to open it, and once unlocked the
    # Connections card lists the connection again, without a page reload.
    expect(page.get_by_test_id("watchdog-vault-state")).to_have_text("Locked")
    expect(section.get_by_test_id("wd-backup-unlock-hint")).to_contain_text("Unlock the vault")
    expect(section.get_by_test_id("wd-backup-create")).to_be_disabled()
    expect(section.get_by_test_id("wd-backup-locked")).to_contain_text("Unlock the vault")
    expect(snapshot.get_by_test_id("wd-backup-verify")).to_be_disabled()
    expect_no_secret_anywhere(page, secret, PASSWORD)
    page.evaluate("() => document.activeElement?.blur()")  # no focus ring in the picture
    card_screenshots(page, "backups-restored")

    unlock = page.get_by_test_id("wd-vault-unlock-password")
    unlock.fill(PASSWORD)
    unlock.press("Enter")
    expect(page.get_by_test_id("watchdog-vault-state")).to_have_text("Unlocked")
    expect(item(page, CONNECTION)).to_be_visible()
    expect(section.get_by_test_id("wd-backup-create")).to_be_enabled()
    expect_no_secret_anywhere(page, secret, PASSWORD)
