"""A user's story with notebook access, connection usage, the auto-lock countdown and the audit
view, in a real JupyterLab, a real kernel and chromium.

The vault is created in the sidebar; a connection is added in the Connections card; a notebook
is opened and the connection is granted to its kernel from the Notebook access card with the
vault password; the notebook's own code then reads it with ``wd.connection`` (masked when
printed), the Connections card names the notebook, a kernel restart turns the switch off (the
server drops a restarted kernel's grants), access is withdrawn and the next lookup is refused.
After each submit the secret and the password are searched for in the page's HTML, every form
control, both web storages and the names of the IndexedDB databases.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from .conftest import LabServer, start_lab
from .story import (
    EXPOSE_APP,
    FAST_KDF_ARGS,
    notebook_json,
    open_sidebar,
    save_screenshots,
)
from .test_connections_story import add_generic, expect_nowhere, item

PASSWORD = "correct horse battery staple"
CONNECTION = "exchange"
NOTEBOOK = "research.ipynb"
LOOKUP = f'import watchdog_lab as wd\nc = wd.connection("{CONNECTION}")\nprint(c)'
#: The first run starts a kernel: allow for it.
KERNEL_TIMEOUT_MS = 90_000
#: Longer than one poll of the sidebar (5 s).
POLL_WAIT_MS = 8_000
#: An auto-lock short enough that the card warns at once (it warns in the last minute).
SHORT_AUTO_LOCK_MINUTES = 0.75
SCREENSHOT_VIEWPORT = {"width": 1280, "height": 1400}
#: A countdown as the card writes it: ``m:ss`` or ``h:mm:ss``.
COUNTDOWN = re.compile(r"^(\d+:)?\d{1,2}:\d\d$")


def notebook(source: str) -> dict[str, object]:
    return notebook_json(source, ids=("lookup",))


@pytest.fixture
def access_lab(
    tmp_path: Path, chromium_path: Path, installed_lab_extension: Path
) -> Iterator[LabServer]:
    """JupyterLab with no vault yet and a notebook whose only cell looks the connection up."""
    for lab in start_lab(tmp_path / "lab", EXPOSE_APP, *FAST_KDF_ARGS):
        root = lab.log_path.parent / "notebooks"
        (root / NOTEBOOK).write_text(json.dumps(notebook(LOOKUP)))
        yield lab


@pytest.fixture
def short_lock_lab(
    tmp_path: Path, chromium_path: Path, installed_lab_extension: Path
) -> Iterator[LabServer]:
    yield from start_lab(
        tmp_path / "lab",
        EXPOSE_APP,
        *FAST_KDF_ARGS,
        f"--WatchdogLab.auto_lock_minutes={SHORT_AUTO_LOCK_MINUTES}",
    )


def expect_no_secret_anywhere(page: Page, *values: str) -> None:
    """Each value is in no HTML, form control, web storage or IndexedDB database name."""
    names = page.evaluate(
        "async () => (await indexedDB.databases()).map(db => db.name || '').join('\\n')"
    )
    for value in values:
        expect_nowhere(page, value)
        assert value not in names


def create_vault(page: Page) -> None:
    page.get_by_label("New vault password").fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_label("Repeat the password").press("Enter")
    expect(page.get_by_test_id("watchdog-vault-state")).to_have_text("Unlocked")


def access_item(page: Page, name: str) -> Locator:
    return page.locator(f'[data-testid="wd-access-item"][data-name="{name}"]')


def run_lookup(page: Page) -> Locator:
    """Run the notebook's only cell in place; its output area."""
    cell = page.locator(".jp-Notebook .jp-CodeCell").first
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Control+Enter")
    return cell.locator(".jp-OutputArea")


def sidebar_screenshots(page: Page, name: str) -> None:
    sidebar = page.get_by_test_id("watchdog-sidebar")
    save_screenshots(page, sidebar, name, viewport=SCREENSHOT_VIEWPORT)


def panel_screenshots(page: Page, panel: Locator, name: str) -> None:
    save_screenshots(page, panel, name)


def test_a_user_grants_a_connection_to_a_notebook_uses_it_and_withdraws_it(
    access_lab: LabServer, page: Page
) -> None:
    open_sidebar(page, access_lab.url(f"lab/tree/{NOTEBOOK}"))
    create_vault(page)
    secret = secrets.token_urlsafe(24)
    add_generic(page, CONNECTION, "token", secret)
    expect(item(page, CONNECTION)).to_be_visible()
    expect_no_secret_anywhere(page, secret, PASSWORD)

    # The countdown ticks locally between polls.
    countdown = page.get_by_test_id("wd-vault-countdown-time")
    expect(countdown).to_have_text(COUNTDOWN)
    first = countdown.inner_text()
    expect(countdown).not_to_have_text(first, timeout=3_000)

    # The notebook's kernel has no access yet: the lookup is refused.
    section = page.get_by_test_id("wd-access-section")
    expect(page.get_by_test_id("wd-access-notebook")).to_contain_text(NOTEBOOK)
    toggle = access_item(page, CONNECTION).get_by_test_id("wd-access-toggle")
    expect(toggle).to_have_attribute("aria-checked", "false", timeout=KERNEL_TIMEOUT_MS)

    # Turning access on asks for the password; a wrong one is refused and emptied.
    toggle.click()
    password = section.get_by_test_id("wd-access-password")
    wrong = secrets.token_urlsafe(12)
    password.fill(wrong)
    password.press("Enter")
    expect(access_item(page, CONNECTION).get_by_test_id("wd-access-error")).to_contain_text(
        "password"
    )
    expect(password).to_have_value("")
    expect(toggle).to_have_attribute("aria-checked", "false")
    expect_nowhere(page, wrong)

    password.fill(PASSWORD)
    password.press("Enter")
    expect(toggle).to_have_attribute("aria-checked", "true")
    expect(section.get_by_test_id("wd-access-password")).to_have_count(0)
    expect_no_secret_anywhere(page, secret, PASSWORD)

    # The notebook's code reads it; printed, it is masked.
    output = run_lookup(page)
    expect(output).to_contain_text(f"Connection(name='{CONNECTION}'", timeout=KERNEL_TIMEOUT_MS)
    expect(output).to_contain_text("***")
    assert secret not in output.inner_text()

    # The Connections card names the notebook using it.
    usage = item(page, CONNECTION).get_by_test_id("wd-conn-usage-notebook")
    expect(usage).to_have_text([NOTEBOOK], timeout=POLL_WAIT_MS)
    sidebar_screenshots(page, "access-granted")

    # A restart gives the kernel a fresh process and takes its grants: the switch follows.
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.restartKernel()")
    expect(toggle).to_have_attribute("aria-checked", "false", timeout=KERNEL_TIMEOUT_MS)
    toggle.click()
    section.get_by_test_id("wd-access-password").fill(PASSWORD)
    section.get_by_test_id("wd-access-password").press("Enter")
    expect(toggle).to_have_attribute("aria-checked", "true")
    expect(run_lookup(page)).to_contain_text("***", timeout=KERNEL_TIMEOUT_MS)

    # Withdrawn: the next lookup is refused with its own message.
    toggle.click()
    expect(toggle).to_have_attribute("aria-checked", "false")
    output = run_lookup(page)
    expect(output).to_contain_text("is not granted to this notebook", timeout=KERNEL_TIMEOUT_MS)
    expect(item(page, CONNECTION).get_by_test_id("wd-conn-usage")).to_contain_text(
        "Not used by any notebook or bot.", timeout=POLL_WAIT_MS
    )
    expect_no_secret_anywhere(page, secret, PASSWORD)

    # The audit view, opened from the Vault card, filtered to this notebook's grants.
    page.get_by_test_id("wd-open-audit").click()
    view = page.get_by_test_id("wd-audit-view")
    expect(view).to_be_visible()
    rows = view.get_by_test_id("wd-audit-row")
    expect(rows.first).to_be_visible()
    view.get_by_test_id("wd-audit-action").select_option("kernel")
    expect(rows).to_have_count(4)  # granted, dropped by the restart, granted, revoked
    expect(rows.nth(0)).to_have_attribute("data-event", "kernel.revoked")
    expect(rows.nth(3)).to_have_attribute("data-event", "kernel.granted")
    expect(rows.nth(3)).to_contain_text(CONNECTION)
    expect(rows.nth(3)).to_contain_text(NOTEBOOK)
    view.get_by_test_id("wd-audit-text").fill("restarted")
    expect(rows).to_have_count(1)
    view.get_by_test_id("wd-audit-text").fill("")
    view.get_by_test_id("wd-audit-action").select_option("")
    view.get_by_test_id("wd-audit-since").fill("2000-01-01T00:00")
    view.get_by_test_id("wd-audit-until").fill("2001-01-01T00:00")
    expect(rows).to_have_count(0)
    view.get_by_test_id("wd-audit-until").fill("")
    expect(rows.first).to_be_visible()
    view.get_by_test_id("wd-audit-summary").click()  # no control focused in the picture
    panel_screenshots(page, page.locator("#watchdog-lab-audit"), "audit-view")
    expect_no_secret_anywhere(page, secret, PASSWORD)


def test_the_vault_card_warns_when_the_auto_lock_is_near(
    short_lock_lab: LabServer, page: Page
) -> None:
    open_sidebar(page, short_lock_lab.url())
    create_vault(page)
    note = page.get_by_test_id("wd-vault-countdown-note")
    expect(note).to_contain_text("about to lock")
    expect(page.get_by_test_id("wd-vault-countdown-time")).to_have_text(re.compile(r"^0:[0-4]\d$"))
    sidebar_screenshots(page, "access-countdown")
