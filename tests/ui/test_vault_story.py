"""A user's story with the sidebar's vault section, in a real JupyterLab driven by chromium.

Everything happens in the browser: create the vault, lock, unlock, change the password. After
every password submit the password must be gone from the page (its HTML and every input's
value) and from the browser's storage.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Page, expect

from watchdog_lab.vault import InvalidTotpCode, KdfParams, TotpRequired, Vault, WrongPassword

from .conftest import LabServer, start_lab
from .story import (
    EXPOSE_APP,
    FAST_KDF_ARGS,
    open_sidebar,
    save_screenshots,
)

FIRST_PASSWORD = "Story-first passphrase 1"
MISTYPED_PASSWORD = "Story-first passphrase 2"
WRONG_PASSWORD = "Not the story password"
NEW_PASSWORD = "Story second passphrase 22!"
FAST_KDF = KdfParams(time_cost=1, memory_kib=8 * 1024, parallelism=1)
#: Seconds in one two-factor step.
TOTP_STEP = 30

#: Every value of the page a password could stay in: the HTML and each input's current value.
PAGE_VALUES = """() => [
    document.documentElement.outerHTML,
    ...Array.from(document.querySelectorAll('input, textarea')).map(input => input.value),
]"""
STORAGE_VALUES = """() => [localStorage, sessionStorage].flatMap(
    storage => Object.keys(storage).flatMap(key => [key, storage.getItem(key)])
)"""


@pytest.fixture
def vault_lab(
    tmp_path: Path, chromium_path: Path, installed_lab_extension: Path
) -> Iterator[LabServer]:
    """JupyterLab on an empty home, with a fast vault KDF and the app exposed for themes."""
    yield from start_lab(tmp_path / "lab", EXPOSE_APP, *FAST_KDF_ARGS)


def server_state(lab: LabServer) -> dict[str, object]:
    """The vault state as the server reports it, asked outside the browser."""
    with urllib.request.urlopen(lab.url("watchdog-lab/vault"), timeout=30) as answer:  # noqa: S310
        return json.loads(answer.read())


def assert_forgotten(page: Page, *passwords: str) -> None:
    """No password is left in the page's HTML, any input, or local or session storage."""
    page_values = [page.content(), *page.evaluate(PAGE_VALUES)]
    storage_values = page.evaluate(STORAGE_VALUES)
    for password in passwords:
        assert not [value for value in page_values if password in value], "left in the page"
        assert not [value for value in storage_values if password in value], "left in storage"


def vault_state(page: Page):
    return page.get_by_test_id("watchdog-vault-state")


def sidebar_screenshots(page: Page, name: str) -> None:
    """``docs/images/sidebar-vault-<name>-{light,dark}.png``: the sidebar in each theme."""
    save_screenshots(page, page.get_by_test_id("watchdog-sidebar"), f"sidebar-vault-{name}")


def unlock(page: Page, password: str) -> None:
    field = page.get_by_label("Vault password", exact=True)
    field.fill(password)
    field.press("Enter")


def test_a_user_creates_locks_unlocks_and_changes_the_vault_password_in_the_sidebar(
    vault_lab: LabServer, page: Page
) -> None:
    open_sidebar(page, vault_lab.url())
    expect(vault_state(page)).to_have_text("No vault")
    create = page.get_by_test_id("wd-vault-create-form")
    expect(create).to_be_visible()
    for field in ("wd-vault-create-password", "wd-vault-create-confirm"):
        expect(page.get_by_test_id(field)).to_have_attribute("type", "password")

    # A mismatch is refused in the browser: nothing is sent, both fields are emptied.
    page.get_by_label("New vault password").fill(FIRST_PASSWORD)
    expect(page.get_by_test_id("wd-vault-strength")).to_have_attribute("data-level", "strong")
    page.get_by_label("Repeat the password").fill(MISTYPED_PASSWORD)
    sidebar_screenshots(page, "create")
    page.get_by_label("Repeat the password").press("Enter")
    expect(page.get_by_test_id("wd-vault-create-error")).to_contain_text("differ")
    assert_forgotten(page, FIRST_PASSWORD, MISTYPED_PASSWORD)
    assert server_state(vault_lab)["state"] == "absent"

    page.get_by_label("New vault password").fill(FIRST_PASSWORD)
    page.get_by_label("Repeat the password").fill(FIRST_PASSWORD)
    page.get_by_label("Repeat the password").press("Enter")
    expect(vault_state(page)).to_have_text("Unlocked")
    assert_forgotten(page, FIRST_PASSWORD)
    sidebar_screenshots(page, "unlocked")

    page.get_by_test_id("wd-vault-lock").click()
    expect(vault_state(page)).to_have_text("Locked")
    assert server_state(vault_lab)["state"] == "locked"

    unlock(page, WRONG_PASSWORD)
    expect(page.get_by_test_id("wd-vault-unlock-error")).to_have_text(str(WrongPassword()))
    expect(vault_state(page)).to_have_text("Locked")
    assert_forgotten(page, WRONG_PASSWORD)
    sidebar_screenshots(page, "locked")

    unlock(page, FIRST_PASSWORD)
    expect(vault_state(page)).to_have_text("Unlocked")
    assert_forgotten(page, FIRST_PASSWORD)

    page.get_by_text("Change the password").click()
    page.get_by_label("Current password").fill(FIRST_PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password").press("Enter")
    expect(page.get_by_test_id("wd-vault-password-done")).to_be_visible()
    assert_forgotten(page, FIRST_PASSWORD, NEW_PASSWORD)

    page.get_by_test_id("wd-vault-lock").click()
    expect(vault_state(page)).to_have_text("Locked")
    unlock(page, FIRST_PASSWORD)
    expect(page.get_by_test_id("wd-vault-unlock-error")).to_have_text(str(WrongPassword()))
    unlock(page, NEW_PASSWORD)
    expect(vault_state(page)).to_have_text("Unlocked")
    assert_forgotten(page, FIRST_PASSWORD, NEW_PASSWORD)
    assert server_state(vault_lab)["state"] == "unlocked"


def create_two_factor_vault(home: Path, password: str) -> str:
    """A locked vault with two-factor on; returns its TOTP secret.

    Enrolment is confirmed with the previous step's code, so the current step's code is still
    unused (a code is accepted once, and only for a step later than the last one accepted).
    """
    with Vault(home, kdf=FAST_KDF) as vault:
        vault.create(password)
        secret = vault.begin_totp(password).secret.get_secret_value()
        vault.enable_totp(password, secret, pyotp.TOTP(secret).at(time.time() - TOTP_STEP))
        vault.lock()
    return secret


def test_a_two_factor_vault_asks_for_the_code_in_the_sidebar_and_unlocks_with_it(
    lab: LabServer, page: Page
) -> None:
    secret = create_two_factor_vault(lab.watchdog_home, FIRST_PASSWORD)
    open_sidebar(page, lab.url())
    expect(vault_state(page)).to_have_text("Locked")
    code_field = page.get_by_label("Two-factor code")
    expect(code_field).to_be_visible()

    unlock(page, FIRST_PASSWORD)
    expect(page.get_by_test_id("wd-vault-unlock-error")).to_have_text(str(TotpRequired()))
    assert_forgotten(page, FIRST_PASSWORD)

    totp = pyotp.TOTP(secret)
    wrong_code = "000000" if totp.now() != "000000" else "111111"
    page.get_by_label("Vault password", exact=True).fill(FIRST_PASSWORD)
    code_field.fill(wrong_code)
    code_field.press("Enter")
    expect(page.get_by_test_id("wd-vault-unlock-error")).to_have_text(str(InvalidTotpCode()))
    expect(code_field).to_have_value("")
    assert_forgotten(page, FIRST_PASSWORD)

    page.get_by_label("Vault password", exact=True).fill(FIRST_PASSWORD)
    code_field.fill(totp.now())
    code_field.press("Enter")
    expect(vault_state(page)).to_have_text("Unlocked")
    assert_forgotten(page, FIRST_PASSWORD)


def two_factor_section(page: Page):
    """Unfold the vault's two-factor section from the keyboard; returns the section."""
    section = page.get_by_test_id("wd-vault-totp")
    summary = section.locator("summary")
    summary.focus()
    summary.press("Enter")
    expect(section).to_have_attribute("open", "")
    return section


def assert_secret_gone(page: Page, secret: str) -> None:
    """The enrolment key is off the page: no key element, no group of it as rendered, and
    neither it nor the password anywhere in the page or storage."""
    expect(page.get_by_test_id("wd-vault-totp-secret")).to_have_count(0)
    expect(page.get_by_test_id("wd-vault-totp-qr")).to_have_count(0)
    html = page.content()
    groups = [secret[start : start + 4] for start in range(0, len(secret), 4)]
    assert not [group for group in groups if f">{group}<" in html], "a key group left"
    assert_forgotten(page, FIRST_PASSWORD, secret)


def test_a_user_turns_two_factor_on_and_off_in_the_sidebar(
    vault_lab: LabServer, page: Page
) -> None:
    with Vault(vault_lab.watchdog_home, kdf=FAST_KDF) as vault:
        vault.create(FIRST_PASSWORD)
        vault.lock()
    open_sidebar(page, vault_lab.url())
    unlock(page, FIRST_PASSWORD)
    expect(vault_state(page)).to_have_text("Unlocked")

    two_factor_section(page)
    expect(page.get_by_test_id("wd-vault-totp-state")).to_have_text("Off")
    page.get_by_test_id("wd-vault-totp-begin-password").fill(FIRST_PASSWORD)
    page.get_by_test_id("wd-vault-totp-begin-password").press("Enter")
    qr = page.get_by_test_id("wd-vault-totp-qr")
    expect(qr).to_be_visible()
    assert "enrolment link" in (qr.get_attribute("alt") or "")
    secret = "".join(page.get_by_test_id("wd-vault-totp-secret").inner_text().split())
    assert len(secret) >= 16
    assert secret not in (qr.get_attribute("alt") or "")
    assert_forgotten(page, FIRST_PASSWORD)
    sidebar_screenshots(page, "totp")

    # The previous step's code, so that the unlock below can use the current one: a code is
    # accepted once, and only for a step later than the last accepted.
    totp = pyotp.TOTP(secret)
    page.get_by_test_id("wd-vault-totp-confirm-code").fill(totp.at(time.time() - TOTP_STEP))
    page.get_by_test_id("wd-vault-totp-confirm-password").fill(FIRST_PASSWORD)
    page.get_by_test_id("wd-vault-totp-confirm-password").press("Enter")
    expect(page.get_by_test_id("wd-vault-totp-state")).to_have_text("On")
    expect(page.get_by_test_id("wd-vault-totp-done")).to_have_text(
        "Two-factor authentication is on."
    )
    assert server_state(vault_lab)["totp_enabled"] is True
    assert_secret_gone(page, secret)

    page.get_by_test_id("wd-vault-lock").click()
    expect(vault_state(page)).to_have_text("Locked")
    code_field = page.get_by_label("Two-factor code")
    expect(code_field).to_be_visible()
    page.get_by_label("Vault password", exact=True).fill(FIRST_PASSWORD)
    code_field.fill(totp.now())
    code_field.press("Enter")
    expect(vault_state(page)).to_have_text("Unlocked")

    two_factor_section(page)
    expect(page.get_by_test_id("wd-vault-totp-state")).to_have_text("On")
    page.get_by_test_id("wd-vault-totp-disable-password").fill(FIRST_PASSWORD)
    page.get_by_test_id("wd-vault-totp-disable-code").fill(totp.at(time.time() + TOTP_STEP))
    page.get_by_test_id("wd-vault-totp-disable-code").press("Enter")
    expect(page.get_by_test_id("wd-vault-totp-state")).to_have_text("Off")
    assert server_state(vault_lab)["totp_enabled"] is False
    assert_secret_gone(page, secret)
