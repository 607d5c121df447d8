"""A user's story with Fix with AI in a notebook, in a real JupyterLab, kernel and chromium.

The server talks to our own Messages API on 127.0.0.1 (``c.WatchdogLab.ai_base_url``) with the
real ``anthropic`` client; the vault and its connections are made over REST. Everything after
that is done as a user does it: run the cell, click Fix with AI on its error, read the preview,
type the vault password, read the explanation and the diff, accept, and undo. A bot that
crashed on its first failure is fixed the same way from its card, and published as version 2.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from playwright.sync_api import Locator, Page, expect

from ..aifix.fake_anthropic import FakeAnthropic, tool_use
from .conftest import LabServer, start_lab
from .story import (
    EXPOSE_APP,
    FAST_KDF_ARGS,
    bot_item,
    call,
    notebook_json,
    open_sidebar,
    promote,
    save_screenshots,
    write_notebook,
)

PASSWORD = "correct horse battery staple"
API_KEY = "sk-ant-api03-Uq4Wm8Zr2Tx6Yb1Nc5Vd9Hf3Jg7Kl0" + "Pz2Xs5Ew8Rt1Yu4Io7Pa0Sd3Fg6"
#: An exchange token in the vault, which the failing cell reads from a file and puts in its error.
TOKEN = "tok-AiFixStory-" + "Hq7vLe2W" * 3
NOTEBOOK = "momentum.ipynb"
TOKEN_FILE = "exchange-token.txt"
BROKEN = (
    f'token = open("{TOKEN_FILE}").read().strip()\n'
    'prices = {"close": 101.5}\n'
    'if "last" not in prices:\n'
    '    raise KeyError(f"no last price (session {token})")\n'
    'total = prices["last"] * 3'
)
FIXED = (
    f'token = open("{TOKEN_FILE}").read().strip()\n'
    'prices = {"close": 101.5}\n'
    'total = prices.get("last", prices["close"]) * 3\n'
)
EXPLANATION = "The prices have no 'last' key; fall back to the close price."
#: The first run starts a kernel: allow for it.
KERNEL_TIMEOUT_MS = 90_000
BOT_NAME = "pricer"
BOT_BROKEN = 'prices = {"close": 101.5}\nprint(prices["last"])\n'
BOT_FIXED = 'prices = {"close": 101.5}\nprint(prices.get("last", prices["close"]))\n'


def encodings(secret: str) -> list[str]:
    """The secret as a body could carry it, each spelled by an encoder of its own."""
    raw = secret.encode()
    return [
        secret,
        base64.b64encode(raw).decode(),
        raw.hex(),
        quote(secret, safe=""),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
    ]


def assert_no_secret(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    for secret in (API_KEY, TOKEN):
        for encoded in encodings(secret):
            assert encoded not in text, f"a secret ({encoded[:6]}...) left the machine"


@pytest.fixture
def fake_api() -> Iterator[FakeAnthropic]:
    server = FakeAnthropic().start()
    server.default = tool_use(FIXED, EXPLANATION)
    yield server
    server.stop()


@pytest.fixture
def aifix_lab(
    tmp_path: Path, chromium_path: Path, installed_lab_extension: Path, fake_api: FakeAnthropic
) -> Iterator[LabServer]:
    """JupyterLab whose AI Fix talks to the fake API, with a vault holding an ``anthropic``
    connection and the exchange token, and a notebook whose only cell raises."""
    for lab in start_lab(
        tmp_path / "lab",
        EXPOSE_APP,
        *FAST_KDF_ARGS,
        f"--WatchdogLab.ai_base_url={fake_api.url}",
        "--WatchdogLab.ai_max_retries=0",
    ):
        vault_with_claude(lab)
        fields = {"token": TOKEN}
        call(lab, "POST", "connections", {"name": "Ex", "kind": "generic", "fields": fields})
        root = lab.log_path.parent / "notebooks"
        (root / TOKEN_FILE).write_text(TOKEN + "\n")
        (root / NOTEBOOK).write_text(json.dumps(notebook(BROKEN)))
        yield lab


def vault_with_claude(lab: LabServer) -> None:
    call(lab, "POST", "vault", {"password": PASSWORD})
    fields = {"api_key": API_KEY}
    call(lab, "POST", "connections", {"name": "claude", "kind": "anthropic", "fields": fields})


@pytest.fixture
def aifix_bots_lab(
    tmp_path: Path,
    chromium_path: Path,
    installed_lab_extension: Path,
    fake_api: FakeAnthropic,
    ui_uv_cache: Path,
) -> Iterator[LabServer]:
    """JupyterLab as ``aifix_lab``, whose bots build from the shared uv cache and give up (crash)
    at their first failure."""
    for lab in start_lab(
        tmp_path / "lab",
        EXPOSE_APP,
        *FAST_KDF_ARGS,
        f"--WatchdogLab.ai_base_url={fake_api.url}",
        "--WatchdogLab.ai_max_retries=0",
        f"--WatchdogLab.uv_cache_dir={ui_uv_cache}",
        "--WatchdogLab.restart_max_failures=1",
    ):
        vault_with_claude(lab)
        yield lab


def notebook(source: str) -> dict[str, object]:
    return notebook_json(source, ids=("broken",))


def cell_source(page: Page) -> str:
    """The first cell's source as the notebook's shared model holds it."""
    return str(
        page.evaluate(
            "() => window.jupyterapp.shell.currentWidget.content.widgets[0]"
            ".model.sharedModel.getSource()"
        )
    )


def screenshots(part: Locator, page: Page, name: str) -> None:
    """``docs/images/<name>-light.png`` and ``-dark.png``: ``part`` in each theme."""
    save_screenshots(page, part, name)


def test_a_user_fixes_a_failing_cell_with_ai_accepts_and_undoes(
    aifix_lab: LabServer, page: Page, fake_api: FakeAnthropic
) -> None:
    page.goto(aifix_lab.url(f"lab/tree/{NOTEBOOK}"))
    cell = page.locator(".jp-Notebook .jp-CodeCell").first
    expect(cell).to_be_visible(timeout=60_000)
    # Run once the kernel is up (a run asked for earlier waits for it, but may be lost).
    expect(page.locator(".jp-StatusBar-Widget", has_text="| Idle")).to_be_visible(
        timeout=KERNEL_TIMEOUT_MS
    )
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    button = cell.get_by_test_id("wd-aifix-error-button")
    expect(button).to_be_visible(timeout=KERNEL_TIMEOUT_MS)
    # The traceback is still JupyterLab's own stderr rendering, the button under it.
    expect(cell.locator('[data-mime-type="application/vnd.jupyter.stderr"]')).to_contain_text(
        "KeyError"
    )
    screenshots(cell, page, "aifix-error")

    button.click()
    dialog = page.locator(".wd-aifix-dialog .jp-Dialog-content")
    body = page.get_by_test_id("wd-aifix-dialog")
    expect(body).to_have_attribute("data-step", "preview")
    message = page.get_by_test_id("wd-aifix-message")
    expect(message).to_contain_text('prices = {"close": 101.5}')
    expect(message).to_contain_text("[REDACTED:Ex.token]")
    expect(page.get_by_test_id("wd-aifix-redactions")).not_to_have_text("0")
    assert TOKEN not in body.inner_text()
    previewed = page.get_by_test_id("wd-aifix-body").text_content() or ""
    assert json.loads(previewed)["messages"]
    assert fake_api.requests == []
    screenshots(dialog, page, "aifix-preview")

    # A wrong password: the server's own words, the field emptied, nothing sent.
    password = page.get_by_test_id("wd-aifix-password")
    password.fill("not the password")
    password.press("Enter")
    expect(page.get_by_test_id("wd-aifix-error")).to_contain_text("password")
    expect(password).to_have_value("")
    assert fake_api.requests == []

    password.fill(PASSWORD)
    password.press("Enter")
    expect(body).to_have_attribute("data-step", "proposal", timeout=30_000)
    expect(page.get_by_test_id("wd-aifix-password")).to_have_count(0)
    expect(page.get_by_test_id("wd-aifix-explanation")).to_have_text(EXPLANATION)
    diff = page.get_by_test_id("wd-aifix-diff")
    expect(diff.locator('[data-kind="added"]')).to_contain_text(
        ['+total = prices.get("last", prices["close"]) * 3']
    )
    expect(diff.locator('[data-kind="removed"]').first).to_contain_text('-if "last" not in')
    (sent,) = fake_api.requests
    assert sent.body == previewed.encode()
    assert_no_secret(sent.body)
    screenshots(dialog, page, "aifix-diff")

    page.get_by_test_id("wd-aifix-accept").click()
    expect(dialog).to_have_count(0)
    expect(cell.locator(".jp-InputArea-editor")).to_contain_text("prices.get(")
    assert cell_source(page) == FIXED

    # One Undo gives back exactly the source that failed.
    page.locator(".lm-MenuBar-itemLabel", has_text="Edit").click()
    page.locator(
        ".lm-Menu-item:not(.lm-mod-disabled) .lm-Menu-itemLabel", has_text="Undo"
    ).first.click()
    expect(cell.locator(".jp-InputArea-editor")).to_contain_text("raise KeyError")
    assert cell_source(page) == BROKEN


def test_a_user_fixes_a_crashed_bot_from_its_card_and_publishes_version_2(
    aifix_bots_lab: LabServer, page: Page, fake_api: FakeAnthropic
) -> None:
    fake_api.default = tool_use(BOT_FIXED, "Fall back to the close price.")
    write_notebook(aifix_bots_lab, "pricer.ipynb", BOT_BROKEN)
    promote(aifix_bots_lab, "pricer.ipynb", BOT_NAME)
    call(aifix_bots_lab, "POST", f"bots/{BOT_NAME}/start")
    open_sidebar(page, aifix_bots_lab.url())
    bot = bot_item(page, BOT_NAME)
    expect(bot).to_have_attribute("data-state", "crashed", timeout=KERNEL_TIMEOUT_MS)

    bot.get_by_test_id("wd-bots-fix").click()
    body = page.get_by_test_id("wd-aifix-dialog")
    expect(body).to_have_attribute("data-step", "preview", timeout=30_000)
    expect(page.get_by_test_id("wd-aifix-message")).to_contain_text('print(prices["last"])')
    page.get_by_test_id("wd-aifix-password").fill(PASSWORD)
    page.get_by_test_id("wd-aifix-send").click()
    expect(body).to_have_attribute("data-step", "proposal", timeout=30_000)
    (sent,) = fake_api.requests
    assert_no_secret(sent.body)

    page.get_by_test_id("wd-aifix-accept").click()
    publish = page.get_by_test_id("wd-aifix-publish")
    expect(publish).to_have_text("Fix and publish v2")
    page.get_by_test_id("wd-aifix-publish-password").fill(PASSWORD)
    publish.click()
    expect(page.get_by_test_id("wd-aifix-applied")).to_have_text(
        f'Published version 2 of "{BOT_NAME}".', timeout=60_000
    )
    page.get_by_test_id("wd-aifix-close").click()
    expect(body).to_have_count(0)
    described = call(aifix_bots_lab, "GET", f"bots/{BOT_NAME}")
    assert described["notebook_version"] == 2
