"""A user's story with the sidebar's Connections section, in a real JupyterLab and chromium.

The vault is created (and so left unlocked) through the REST API, as the Vault section would;
everything after that is done by clicking and typing in the sidebar. After each submit the
values typed are searched for in the page's HTML, every form control's value and the browser's
storage: a secret may reach the server, nothing else.
"""

from __future__ import annotations

import json
import secrets
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from playwright.sync_api import Locator, Page, expect

from .conftest import LabServer, start_lab
from .story import EXPOSE_APP, open_sidebar, save_screenshots

VAULT_PASSWORD = "correct horse battery staple"
RSA_BITS = 2048
RSA_EXPONENT = 65537
#: Tall enough that the whole sidebar, add form included, fits in a screenshot.
SCREENSHOT_VIEWPORT = {"width": 1280, "height": 1400}
#: Longer than one poll interval of the front end (5 s).
POLL_WAIT_MS = 8_000


@pytest.fixture
def unlocked_lab(
    tmp_path: Path, chromium_path: Path, installed_lab_extension: Path
) -> Iterator[LabServer]:
    """JupyterLab whose vault was just created over REST (creating leaves it unlocked)."""
    for server in start_lab(tmp_path / "lab", EXPOSE_APP):
        post(server, "vault", {"password": VAULT_PASSWORD})
        yield server


def rsa_pem() -> str:
    key = rsa.generate_private_key(public_exponent=RSA_EXPONENT, key_size=RSA_BITS)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def expect_nowhere(page: Page, value: str) -> None:
    """``value`` is in no HTML, no form control and no storage of the page."""
    assert value not in page.content()
    controls = page.evaluate(
        "() => [...document.querySelectorAll('input, textarea, select')].map(e => e.value)"
    )
    assert not [control for control in controls if value in control]
    storage = page.evaluate(
        "() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])"
    )
    assert value not in storage


def item(page: Page, name: str) -> Locator:
    return page.locator(f'[data-testid="wd-conn-item"][data-name="{name}"]')


def open_add_form(page: Page, kind: str) -> Locator:
    page.get_by_test_id("wd-conn-add").click()
    form = page.get_by_test_id("wd-conn-form")
    expect(form).to_be_visible()
    form.get_by_label("Kind").select_option(label=kind)
    return form


def add_generic(page: Page, name: str, field: str, value: str) -> Locator:
    form = open_add_form(page, "generic")
    form.get_by_label("Name", exact=True).fill(name)
    form.get_by_label("Field 1 name").fill(field)
    form.get_by_label("Field 1 value").fill(value)
    form.get_by_test_id("wd-conn-submit").click()
    return form


def screenshots(page: Page, name: str) -> None:
    """``docs/images/<name>-light.png`` and ``-dark.png``: the sidebar as each theme draws it."""
    sidebar = page.get_by_test_id("watchdog-sidebar")
    save_screenshots(page, sidebar, name, viewport=SCREENSHOT_VIEWPORT)


def post(lab: LabServer, route: str, body: dict[str, str]) -> None:
    request = urllib.request.Request(  # noqa: S310 - the local test server
        f"{lab.base_url}watchdog-lab/{route}",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"token {lab.token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
        assert answer.status < 300


def test_a_user_adds_renames_and_removes_connections_without_secrets_in_the_page(
    unlocked_lab: LabServer, page: Page
) -> None:
    open_sidebar(page, unlocked_lab.url())
    expect(page.get_by_test_id("watchdog-vault-state")).to_have_text("Unlocked")
    expect(page.get_by_test_id("wd-conn-empty")).to_be_visible()

    # A generic connection with one secret value: listed masked, the value gone from the page.
    token = secrets.token_urlsafe(24)
    add_generic(page, "notes", "token", token)
    notes = item(page, "notes")
    expect(notes).to_be_visible()
    expect(notes).to_contain_text("generic")
    expect(notes.locator("dd")).to_have_text("***")
    expect(page.get_by_test_id("wd-conn-form")).to_have_count(0)
    expect_nowhere(page, token)

    # A Kalshi connection with a pasted PEM: the key area is masked, and empty after submit.
    pem = rsa_pem()
    key_line = max(pem.splitlines(), key=len)
    key_id = secrets.token_hex(16)
    form = open_add_form(page, "kalshi")
    form.get_by_label("Name", exact=True).fill("kalshi-demo")
    form.get_by_label("api_key_id", exact=True).fill(key_id)
    assert form.get_by_label("api_key_id", exact=True).get_attribute("type") == "password"
    pem_area = form.get_by_label("private_key_pem", exact=True)
    pem_area.fill(pem)
    assert pem_area.evaluate("e => getComputedStyle(e).webkitTextSecurity") == "disc"
    expect(form.get_by_label("environment", exact=True)).to_have_value("demo")
    screenshots(page, "sidebar-connections-add")
    form.get_by_test_id("wd-conn-submit").click()
    kalshi = item(page, "kalshi-demo")
    expect(kalshi).to_contain_text("kalshi")
    expect(kalshi).to_contain_text("demo")
    expect(kalshi).to_contain_text("***")
    for value in (pem, key_line, key_id):
        expect_nowhere(page, value)

    # Rename: no password asked, the list shows the new name.
    notes.get_by_test_id("wd-conn-rename").click()
    notes.get_by_label('New name for "notes"').fill("notes-2")
    notes.get_by_role("button", name="Rename").click()
    expect(item(page, "notes-2")).to_be_visible()
    expect(item(page, "notes")).to_have_count(0)
    screenshots(page, "sidebar-connections-list")

    # Remove with the password: a wrong one is refused in the server's words and emptied.
    kalshi.get_by_test_id("wd-conn-remove").click()
    password = kalshi.get_by_test_id("wd-conn-remove-password")
    wrong = secrets.token_urlsafe(12)
    password.fill(wrong)
    kalshi.get_by_role("button", name="Remove").click()
    expect(kalshi.get_by_test_id("wd-conn-error")).to_contain_text("password")
    expect_nowhere(page, wrong)
    password.fill(VAULT_PASSWORD)
    kalshi.get_by_role("button", name="Remove").click()
    expect(item(page, "kalshi-demo")).to_have_count(0)
    expect_nowhere(page, VAULT_PASSWORD)

    # Locked (here over REST): the section says where to unlock and lists nothing.
    post(unlocked_lab, "vault/lock", {})
    expect(page.get_by_test_id("wd-conn-locked")).to_have_text(
        "Unlock the vault above to see and add connections.", timeout=POLL_WAIT_MS
    )
    expect(page.get_by_test_id("wd-conn-item")).to_have_count(0)


def test_a_refused_connection_shows_the_server_message_and_keeps_no_secret(
    unlocked_lab: LabServer, page: Page
) -> None:
    open_sidebar(page, unlocked_lab.url())
    add_generic(page, "exchange", "secret", secrets.token_urlsafe(24))
    expect(item(page, "exchange")).to_be_visible()

    second = secrets.token_urlsafe(24)
    form = add_generic(page, "exchange", "secret", second)

    error = form.get_by_test_id("wd-conn-error")
    expect(error).to_contain_text("A connection named 'exchange' already exists")
    expect(form).to_be_visible()
    expect(form.get_by_label("Field 1 value")).to_have_value("")
    expect_nowhere(page, second)


def test_a_key_loaded_from_a_file_fills_the_masked_area_and_leaves_the_page_after_submit(
    unlocked_lab: LabServer, page: Page
) -> None:
    open_sidebar(page, unlocked_lab.url())
    pem = rsa_pem()
    key_line = max(pem.splitlines(), key=len)
    form = open_add_form(page, "kalshi")
    form.get_by_label("Name", exact=True).fill("from-file")
    form.get_by_label("api_key_id", exact=True).fill(secrets.token_hex(16))
    form.locator('input[type="file"]').set_input_files(
        files=[{"name": "kalshi.pem", "mimeType": "application/x-pem-file", "buffer": pem.encode()}]
    )
    expect(form.get_by_label("private_key_pem", exact=True)).to_have_value(pem)
    assert pem not in page.content()

    form.get_by_test_id("wd-conn-submit").click()

    expect(item(page, "from-file")).to_contain_text("***")
    expect_nowhere(page, key_line)
