"""``%wd fix`` in real kernels of a real test server, against our own Messages API on 127.0.0.1.

The server's ``c.WatchdogLab.ai_base_url`` points the real ``anthropic`` client at the fake
API, which records every request body. The vault holds an ``anthropic`` connection and the
'Kalshi' connection whose secret the failing cell puts into its error: the tests read what the
kernel showed (every iopub message and stdin prompt) and what the API received, and look for
that secret in each spelling an encoder of our own (not the redactor's) gives it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from tests.aifix.fake_anthropic import FakeAnthropic, tool_use
from tests.server.conftest import server_config
from tests.server.kernels import GRANT_NOTEBOOK as NOTEBOOK
from tests.server.kernels import GRANT_PASSWORD as PASSWORD
from tests.server.kernels import GRANT_SECRET as SECRET
from watchdog_lab.sdk.broker import KERNEL_TOKEN_VAR, TOKEN_HEADER
from watchdog_lab.vault import CreateConnection
from watchdog_lab.vault.audit import Event

from .test_magics import loaded, refusal

API_KEY = "sk-ant-api03-Hq4Lm7Wx2Zc9Vb5Nt8Rk3Pj6Yd1Fg0Sa" + "Ue4Io7Qw2Er5Ty8Ui1Op3As6Df9Gh2Jk"

# The failing cell: the secret reaches the error at run time (it is not in the source).
FAILING = """\
key = wd.connection("Kalshi")["api_secret"]
def place_order(quantity):
    raise PermissionError(f"exchange refused key {key} for {quantity} contracts")
place_order(3)
"""
FIXED = "print('order placed')\n"
SHA256 = re.compile(r"sha256 ([0-9a-f]{64})")


def spellings(secret: str) -> list[str]:
    """The secret as it could leave a process, encoded here independently of the redactor."""
    raw = secret.encode()
    return [
        secret,
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        binascii.hexlify(raw).decode(),
        binascii.hexlify(raw).decode().upper(),
        json.dumps(secret)[1:-1],
    ]


def assert_no_secret(text: str) -> None:
    for secret in (SECRET, API_KEY, PASSWORD):
        for spelling in spellings(secret):
            assert spelling not in text


@pytest.fixture
def fake_api() -> Iterator[FakeAnthropic]:
    server = FakeAnthropic().start()
    server.default = tool_use(FIXED, "The exchange refused the key; the order is skipped.")
    yield server
    server.stop()


@pytest.fixture
def jp_server_config(watchdog_home: Path, fake_api: FakeAnthropic) -> Config:
    """The test server, its AI Fix pointed at the fake Messages API (no retries)."""
    return server_config(watchdog_home, ai_base_url=fake_api.url, ai_max_retries=0, ai_timeout=20.0)


@pytest.fixture
def claude(kalshi: str, watchdog_app: Any) -> str:
    """The unlocked vault of ``kalshi``, plus an ``anthropic`` connection; its id."""
    return watchdog_app.vault.add_connection(
        CreateConnection(name="claude", kind="anthropic", fields={"api_key": API_KEY})
    ).id


async def failed(kernels: Any, code: str = FAILING) -> Any:
    """A notebook kernel with the extension loaded, Kalshi granted, and ``code`` run (it
    must raise)."""
    kernel = await loaded(kernels)
    (await kernel.run("%wd connect Kalshi", stdin=[PASSWORD])).check()
    out = await kernel.run(code)
    assert out.error is not None, out.stdout
    return kernel


async def run(kernel: Any, code: str, stdin: list[str] | None = None) -> tuple[Any, list[dict]]:
    """``kernel.run``, and the payloads of its execute reply (``set_next_input`` travels
    there, not on iopub)."""
    replies: list[dict[str, Any]] = []
    original = kernel.client.execute_interactive

    async def keep_reply(*args: Any, **kwargs: Any) -> dict[str, Any]:
        reply = await original(*args, **kwargs)
        replies.append(reply)
        return reply  # type: ignore[no-any-return]

    kernel.client.execute_interactive = keep_reply
    try:
        out = await kernel.run(code, stdin=stdin)
    finally:
        del kernel.client.execute_interactive
    return out, replies[0]["content"].get("payload", [])


def displayed(out: Any, mime: str) -> str:
    """Every ``mime`` representation the kernel displayed."""
    return "\n".join(
        m["content"]["data"][mime]
        for m in out.messages
        if m["header"]["msg_type"] == "display_data" and mime in m["content"]["data"]
    )


def inserted(payloads: list[dict[str, Any]]) -> list[str]:
    return [p["text"] for p in payloads if p.get("source") == "set_next_input"]


async def test_preview_shows_the_cell_and_traceback_without_any_secret(
    kernels, claude, fake_api
) -> None:
    kernel = await failed(kernels)
    out = (await kernel.run("%wd fix --preview")).check()
    shown = displayed(out, "text/plain")
    assert 'raise PermissionError(f"exchange refused key {key} for {quantity} contracts")' in shown
    assert "place_order(3)" in shown
    assert "PermissionError: exchange refused key [REDACTED:" in shown
    assert "place_order" in displayed(out, "text/html")
    assert SHA256.search(shown)
    assert_no_secret(out.everything)


async def test_preview_sends_nothing_and_asks_for_no_password(kernels, claude, fake_api) -> None:
    kernel = await failed(kernels)
    out = (await kernel.run("%wd fix --preview", stdin=[])).check()
    assert out.stdin_prompts == []
    assert fake_api.requests == []


async def test_fix_sends_exactly_the_previewed_payload_once(kernels, claude, fake_api) -> None:
    kernel = await failed(kernels)
    preview = (await kernel.run("%wd fix --preview")).check()
    (previewed,) = set(SHA256.findall(displayed(preview, "text/plain")))
    out, _ = await run(kernel, "%wd fix", stdin=[PASSWORD, "n"])
    out.check()
    (request,) = fake_api.requests
    assert hashlib.sha256(request.body).hexdigest() == previewed
    assert "place_order(3)" in request.json()["messages"][0]["content"]
    assert_no_secret(request.body.decode())


async def test_the_password_prompt_says_the_payload_goes_to_anthropic(
    kernels, claude, fake_api
) -> None:
    kernel = await failed(kernels)
    out, _ = await run(kernel, "%wd fix", stdin=[PASSWORD, "n"])
    password_prompt, insert_prompt = out.stdin_prompts
    assert password_prompt["content"]["password"] is True
    assert "to Anthropic" in password_prompt["content"]["prompt"]
    assert insert_prompt["content"]["password"] is False
    assert "Insert the fixed cell below?" in insert_prompt["content"]["prompt"]


async def test_the_proposal_is_shown_as_escaped_html(kernels, claude, fake_api) -> None:
    fake_api.answer(
        tool_use(
            "html = '<script>alert(1)</script>'\n",
            "Quote <img src=x onerror=alert(2)> & move on.",
        )
    )
    kernel = await failed(kernels)
    out, _ = await run(kernel, "%wd fix", stdin=[PASSWORD, "n"])
    page = displayed(out.check(), "text/html")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(2)&gt; &amp; move on." in page
    assert "<script" not in page and "<img" not in page
    plain = displayed(out, "text/plain")
    assert "+html = '<script>alert(1)</script>'" in plain  # the diff, in the text fallback
    assert "-place_order(3)" in plain


async def test_yes_inserts_the_fixed_cell_below(kernels, claude, fake_api) -> None:
    kernel = await failed(kernels)
    out, payloads = await run(kernel, "%wd fix", stdin=[PASSWORD, "y"])
    out.check()
    assert inserted(payloads) == [FIXED]
    (payload,) = payloads
    assert payload["replace"] is False


async def test_no_inserts_nothing(kernels, claude, fake_api) -> None:
    kernel = await failed(kernels)
    out, payloads = await run(kernel, "%wd fix", stdin=[PASSWORD, "n"])
    assert "Not inserted" in out.check().stdout
    assert inserted(payloads) == []


async def test_insert_option_inserts_without_asking(kernels, claude, fake_api) -> None:
    kernel = await failed(kernels)
    out, payloads = await run(kernel, "%wd fix --insert", stdin=[PASSWORD])
    out.check()
    assert len(out.stdin_prompts) == 1  # the password only
    assert inserted(payloads) == [FIXED]


async def test_a_wrong_password_is_refused_and_nothing_is_sent(kernels, claude, fake_api) -> None:
    kernel = await failed(kernels)
    out, payloads = await run(kernel, "%wd fix", stdin=["not the vault password"])
    assert "Wrong vault password" in refusal(out)
    assert fake_api.requests == []
    assert inserted(payloads) == []


async def test_no_password_sends_nothing(kernels, claude, fake_api) -> None:
    kernel = await failed(kernels)
    out = await kernel.run("%wd fix", stdin=[""])
    assert "nothing was sent" in refusal(out)
    assert fake_api.requests == []


async def test_the_password_never_appears_in_outputs_or_history(kernels, claude, fake_api) -> None:
    kernel = await failed(kernels)
    out, _ = await run(kernel, "%wd fix --insert", stdin=[PASSWORD])
    out.check()
    history = await kernel.value(
        "[list(map(str, entry)) for entry in "
        "get_ipython().history_manager.get_range(raw=True, output=True)]"
    )
    namespace = await kernel.value(
        "[repr(v) for v in get_ipython().user_ns.values() if isinstance(v, (str, list, dict))]"
    )
    assert "%wd fix --insert" in json.dumps(history)  # the history is really there
    for text in (out.everything, json.dumps(history), json.dumps(namespace)):
        assert PASSWORD not in text


async def test_the_server_log_holds_no_password_payload_or_reply(
    kernels, claude, fake_api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    kernel = await failed(kernels)
    await kernel.run("%wd fix", stdin=["wrong password 7c1e9d"])
    (await kernel.run("%wd fix", stdin=[PASSWORD, "n"])).check()
    assert "broker/ai-fix" in caplog.text  # the server's request log was captured
    assert len(fake_api.requests) == 1
    for leaked in ("wrong password 7c1e9d", "place_order", "order placed"):
        assert leaked not in caplog.text
    assert_no_secret(caplog.text)


async def test_a_reply_that_changes_nothing_is_said_plainly(kernels, claude, fake_api) -> None:
    kernel = await failed(kernels, "raise ValueError('no data')\n")
    fake_api.answer(tool_use("raise ValueError('no data')\n", "The data source is empty."))
    out, payloads = await run(kernel, "%wd fix", stdin=[PASSWORD])
    text = out.check().stdout
    assert "No fix to offer: the proposed cell is the same as the failing one." in text
    assert "The data source is empty." in text
    assert inserted(payloads) == []
    assert len(out.stdin_prompts) == 1  # nothing to insert, so no question


async def test_an_api_refusal_is_one_clear_line(kernels, claude, fake_api) -> None:
    from tests.aifix.fake_anthropic import error

    fake_api.answer(error(401, "authentication_error", "invalid x-api-key"))
    kernel = await failed(kernels)
    out = await kernel.run("%wd fix", stdin=[PASSWORD])
    message = refusal(out)
    assert "Anthropic refused the API key of connection 'claude' (HTTP 401)" in message
    assert len(message.strip().splitlines()) == 1


async def test_without_an_anthropic_connection_the_refusal_says_how_to_add_one(
    kernels, kalshi, fake_api
) -> None:
    kernel = await failed(kernels)
    out = await kernel.run("%wd fix", stdin=[PASSWORD])
    assert "No connection of kind 'anthropic'" in refusal(out)
    assert fake_api.requests == []


async def test_with_two_anthropic_connections_one_is_named(
    kernels, claude, fake_api, watchdog_app
) -> None:
    other_key = "sk-ant-api03-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp" + "Oo9Nn8Mm7Ll6Kk5Jj4Ii3Hh2Gg1Ff0Ee"
    watchdog_app.vault.add_connection(
        CreateConnection(name="claude-team", kind="anthropic", fields={"api_key": other_key})
    )
    kernel = await failed(kernels)
    ambiguous = await kernel.run("%wd fix", stdin=[PASSWORD])
    assert "name the one to use" in refusal(ambiguous)
    (await kernel.run('%wd fix --connection "claude-team"', stdin=[PASSWORD, "n"])).check()
    (request,) = fake_api.requests
    sent = {name.lower(): value for name, value in request.headers.items()}
    # The SDK's credential header: ``x-api-key`` in older releases, a bearer token in 2.x.
    assert other_key in (
        sent.get("x-api-key"),
        sent.get("authorization", "").removeprefix("Bearer "),
    )


async def test_an_unknown_option_shows_the_usage(kernels, claude, fake_api) -> None:
    kernel = await failed(kernels)
    assert "Usage: %wd fix" in refusal(await kernel.run("%wd fix --yes"))


async def test_while_the_vault_is_locked_the_preview_says_so(
    kernels, claude, fake_api, watchdog_app
) -> None:
    kernel = await failed(kernels)
    watchdog_app.vault.lock()
    assert "The vault is locked" in refusal(await kernel.run("%wd fix --preview"))


async def test_without_a_vault_the_preview_says_how_to_create_one(kernels, fake_api) -> None:
    kernel = await loaded(kernels)
    assert (await kernel.run("1 / 0")).error is not None
    assert "Create one first" in refusal(await kernel.run("%wd fix --preview"))


async def test_a_send_while_locked_is_refused_with_nothing_sent(
    kernels, claude, fake_api, api, watchdog_app
) -> None:
    kernel = await loaded(kernels)
    cell = {"source": "1/0", "ename": "ZeroDivisionError"}
    preview = await kernel_route(api, kernel, "ai-fix/preview", {"cell": cell})
    watchdog_app.vault.lock()
    body = {"cell": cell, "sha256": preview.json["sha256"], "password": PASSWORD}
    answer = await kernel_route(api, kernel, "ai-fix", body)
    assert answer.code == 423
    assert "AI Fix redacts every value the vault holds" in answer.json["message"]
    assert fake_api.requests == []


async def test_a_secret_in_the_source_comes_back_as_its_marker_and_is_said(
    kernels, claude, fake_api
) -> None:
    fake_api.answer(tool_use("key = '[REDACTED:Kalshi.api_secret]'\nprint(key)\n"))
    kernel = await failed(kernels, f"key = {SECRET!r}\nraise KeyError(key)\n")
    out, payloads = await run(kernel, "%wd fix --insert", stdin=[PASSWORD])
    assert "The cell held a secret" in displayed(out.check(), "text/plain")
    (fixed,) = inserted(payloads)
    assert "[REDACTED:Kalshi.api_secret]" in fixed
    assert_no_secret(out.everything + fixed)


async def test_a_huge_error_message_still_fits_the_broker(kernels, claude, fake_api) -> None:
    """Four million characters in the message (and so in the traceback): the kernel cuts
    them to what the broker accepts, and the server cuts again to what it sends."""
    kernel = await failed(kernels, "raise ValueError('ab' * 2_000_000)\n")
    out = (await kernel.run("%wd fix --preview")).check()
    assert "cut from the middle by WatchDog Lab" in displayed(out, "text/plain")


async def test_an_error_message_that_is_not_valid_unicode_is_sent(
    kernels, claude, fake_api
) -> None:
    kernel = await loaded(kernels)
    # Even ipykernel cannot show this error (it cannot encode it): the cell just fails.
    assert (await kernel.run("raise ValueError('prix \\ud800 \\u20ac')")).status == "error"
    out = (await kernel.run("%wd fix --preview")).check()
    assert "ValueError: prix ? \\u20ac" in displayed(out, "text/plain")


async def test_without_a_failing_cell_there_is_nothing_to_fix(kernels, claude, fake_api) -> None:
    kernel = await loaded(kernels)
    (await kernel.run("x = 1")).check()
    assert "No failing cell to fix" in refusal(await kernel.run("%wd fix --preview"))


async def test_a_mistyped_magic_does_not_replace_the_failing_cell(
    kernels, claude, fake_api
) -> None:
    kernel = await failed(kernels)
    refusal(await kernel.run("%load_ext"))  # IPython's own UsageError: no module named
    out = (await kernel.run("%wd fix --preview")).check()
    assert "place_order(3)" in displayed(out, "text/plain")


async def test_a_failing_wd_command_is_not_taken_for_the_cell_to_fix(
    kernels, claude, fake_api
) -> None:
    kernel = await failed(kernels)
    broken = "from watchdog_lab.sdk.broker import BrokerClient\nBrokerClient.grants = None"
    (await kernel.run(broken)).check()
    assert (await kernel.run("%wd status")).error is not None  # a TypeError, not a UsageError
    out = (await kernel.run("%wd fix --preview")).check()
    assert "place_order(3)" in displayed(out, "text/plain")


async def test_an_interrupted_fix_shows_no_password_even_in_verbose_tracebacks(
    kernels, claude, fake_api, jp_serverapp
) -> None:
    fake_api.answer(replace(tool_use(FIXED), delay=3.0))
    kernel = await failed(kernels)
    (await kernel.run("%xmode Verbose")).check()

    async def interrupt_while_waiting() -> None:
        while not fake_api.requests:
            await asyncio.sleep(0.05)
        await jp_serverapp.kernel_manager.interrupt_kernel(kernel.id)

    interrupting = asyncio.ensure_future(interrupt_while_waiting())
    out, payloads = await run(kernel, "%wd fix --insert", stdin=[PASSWORD])
    await interrupting
    assert "Interrupted" in refusal(out)
    assert PASSWORD not in out.everything
    assert inserted(payloads) == []


async def test_the_last_of_several_failing_cells_is_fixed(kernels, claude, fake_api) -> None:
    kernel = await failed(kernels)
    assert (await kernel.run("1 / 0")).error is not None
    (await kernel.run("y = 2")).check()
    out = (await kernel.run("%wd fix --preview")).check()
    shown = displayed(out, "text/plain")
    assert "ZeroDivisionError" in shown
    assert "place_order" not in shown


async def test_a_syntax_error_cell_can_be_fixed(kernels, claude, fake_api) -> None:
    kernel = await loaded(kernels)
    assert (await kernel.run("def broken(:\n    pass\n")).error is not None
    out = (await kernel.run("%wd fix --preview")).check()
    shown = displayed(out, "text/plain")
    assert "def broken(:" in shown
    assert "SyntaxError" in shown


async def test_a_cell_that_failed_before_the_extension_loaded_is_found(
    kernels, claude, fake_api
) -> None:
    kernel = await kernels.start(NOTEBOOK)
    assert (await kernel.run("prices = {}\nprices['last']\n")).error is not None
    (await kernel.run("%load_ext watchdog_lab")).check()
    out = (await kernel.run("%wd fix --preview")).check()
    shown = displayed(out, "text/plain")
    assert "prices['last']" in shown
    assert "KeyError" in shown


async def test_the_audit_names_the_kernels_notebook(
    kernels, claude, fake_api, watchdog_app
) -> None:
    kernel = await failed(kernels)
    (await kernel.run("%wd fix", stdin=[PASSWORD, "n"])).check()
    (entry,) = [
        e for e in watchdog_app.vault.audit_log() if e.event == Event.AI_FIX_REQUESTED.value
    ]
    assert entry.detail["name"] == f"{NOTEBOOK} (kernel {kernel.id})"
    assert entry.detail["outcome"] == "fixed"


async def kernel_route(api: Any, kernel: Any, route: str, body: dict[str, Any]) -> Any:
    """A kernel route called with ``kernel``'s own token, as its SDK would."""
    token = (await kernel.environ())[KERNEL_TOKEN_VAR]
    return await api.post(f"broker/{route}", body, headers={TOKEN_HEADER: token}, auth=False)


async def test_a_kernel_cannot_choose_what_the_audit_names(kernels, claude, fake_api, api) -> None:
    kernel = await loaded(kernels)
    cell = {"source": "1/0", "ename": "ZeroDivisionError", "name": "momentum", "target": "bot"}
    answer = await kernel_route(api, kernel, "ai-fix/preview", {"cell": cell})
    assert answer.code == 422
    assert answer.json["reason"] == "invalid_body"


async def test_the_send_route_needs_the_password(kernels, claude, fake_api, api) -> None:
    kernel = await loaded(kernels)
    cell = {"source": "1/0", "ename": "ZeroDivisionError"}
    preview = await kernel_route(api, kernel, "ai-fix/preview", {"cell": cell})
    assert preview.code == 200
    answer = await kernel_route(
        api, kernel, "ai-fix", {"cell": cell, "sha256": preview.json["sha256"]}
    )
    assert answer.code == 422
    assert "'password'" in answer.json["message"]
    assert fake_api.requests == []


async def test_a_changed_cell_is_not_sent_under_the_previewed_hash(
    kernels, claude, fake_api, api
) -> None:
    kernel = await loaded(kernels)
    cell = {"source": "1/0", "ename": "ZeroDivisionError"}
    preview = await kernel_route(api, kernel, "ai-fix/preview", {"cell": cell})
    changed = {**cell, "source": "import os\n1/0"}
    answer = await kernel_route(
        api,
        kernel,
        "ai-fix",
        {"cell": changed, "sha256": preview.json["sha256"], "password": PASSWORD},
    )
    assert answer.code == 409
    assert answer.json["reason"] == "ai_payload_changed"
    assert fake_api.requests == []
