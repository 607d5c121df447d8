"""AI Fix over REST on a real server, talking to our own Messages API on 127.0.0.1 through
``c.WatchdogLab.ai_base_url`` with the real ``anthropic`` client.

One bot with a granted connection is promoted for the whole module (through the core, before
any server runs) and fails once with that connection's secret in its exception. Sending a
payload and publishing a fixed version of a bot with connections each need the vault password
in the request: without it, nothing reaches the API and nothing changes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from traitlets.config import Config

from watchdog_lab.aifix import errors as aifix_errors
from watchdog_lab.bots.models import PromoteBot
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.server.errors import to_api_error
from watchdog_lab.vault import CreateConnection, Vault

from ..aifix.fake_anthropic import Answer, FakeAnthropic, error, tool_use
from ..support import wait_for, write_notebook
from .botapi import bot_path, describe, wait_bot
from .conftest import FAST_KDF

PASSWORD = "correct horse battery staple"
NAME = "Fixable"
API_KEY = "sk-ant-api03-Rt5Yu8Io1Pa4Sd6Fg9Hj3Kl0ZxQw7Ze2" + "Mq8Wr1Ty4Ui7Op0As3Df6Gh9JkCv2Bn5"
SECRET = "tok-AiFixRoutes-" + "Zq8wXe3R" * 3
SETUP = "import watchdog_lab as wd\ntoken = wd.connection('Ex').token"
BROKEN = "raise RuntimeError('the exchange refused key ' + token)"
FIXED = "print('fixed', len(token))"
CELL_SOURCE = "import json\ntotal = prices['last'] * quantity\n"


def encodings(secret: str) -> list[str]:
    """The secret as a payload could carry it, each made by an encoder of its own."""
    raw = secret.encode()
    return [
        secret,
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode(),
        raw.hex(),
        raw.hex().upper(),
        quote(secret, safe=""),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
    ]


def assert_no_secret(text: str) -> None:
    for secret in (API_KEY, SECRET):
        for encoded in encodings(secret):
            assert encoded not in text, f"a secret ({encoded[:6]}...) is in the payload"


@pytest.fixture(scope="module")
def shared_home(tmp_path_factory: pytest.TempPathFactory, bot_uv_cache: Path) -> Iterator[Path]:
    """A home whose bot failed once in version 1 (then stopped), its vault locked."""
    home = tmp_path_factory.mktemp("aifix") / "h"
    notebook = write_notebook(home.parent / "fixable.ipynb", SETUP, BROKEN)
    with Vault(home, kdf=FAST_KDF) as vault:
        vault.create(PASSWORD)
        vault.add_connection(
            CreateConnection(name="claude", kind="anthropic", fields={"api_key": API_KEY})
        )
        vault.add_connection(CreateConnection(name="Ex", kind="generic", fields={"token": SECRET}))
        manager = BotManager(vault, uv_cache=bot_uv_cache)
        manager.promote(
            PromoteBot(notebook=str(notebook), name=NAME, connections=["Ex"], start=True)
        )
        try:
            wait_for(lambda: manager.describe(NAME).status.last_error, 120, "a failed run")
        finally:
            manager.stop(NAME, timeout=10)
    yield home
    with Vault(home, kdf=FAST_KDF) as vault:
        for bot in BotManager(vault).list():
            BotManager(vault).stop(bot.id, timeout=10)


@pytest.fixture
def watchdog_home(shared_home: Path) -> Path:
    return shared_home


@pytest.fixture
def fake_api() -> Iterator[FakeAnthropic]:
    server = FakeAnthropic().start()
    server.default = tool_use(FIXED, "The key was refused; print instead of raising.")
    yield server
    server.stop()


@pytest.fixture
def jp_server_config(bots_server_config: Config, fake_api: FakeAnthropic) -> Config:
    bots_server_config.WatchdogLab.ai_base_url = fake_api.url
    bots_server_config.WatchdogLab.ai_max_retries = 0
    bots_server_config.WatchdogLab.ai_timeout = 1.0
    return bots_server_config


@pytest.fixture
def unlocked(watchdog_app: Any) -> Vault:
    watchdog_app.vault.unlock(PASSWORD)
    vault: Vault = watchdog_app.vault
    return vault


def cell(**changes: Any) -> dict[str, Any]:
    """A notebook cell that raised, with the Anthropic key and the exchange token in its error."""
    body: dict[str, Any] = {
        "source": CELL_SOURCE,
        "ename": "KeyError",
        "evalue": f"'last' (key {API_KEY}, token {SECRET})",
        "traceback": ["\x1b[0;31mKeyError\x1b[0m: 'last'", f"  token={quote(SECRET, safe='')}"],
        "language": "python",
        "language_version": "3.12.1",
        "path": "strategies/momentum.ipynb",
        "cell_index": 3,
    }
    body.update(changes)
    return body


async def preview_cell(api: Any) -> dict[str, Any]:
    response = await api.post("ai-fix/preview", cell())
    assert response.code == 200, response.text
    return dict(response.json)


def sent_text(body: str) -> str:
    """The user message of a Messages API body: what the model reads."""
    return str(json.loads(body)["messages"][0]["content"])


def published_events(vault: Vault) -> list[Any]:
    return [e for e in vault.audit_log() if e.event == "bot.version_published"]


# ------------------------------------------------------------------ the status table


@pytest.mark.parametrize(
    ("error", "status", "reason"),
    [
        (aifix_errors.VaultLocked(), 423, "vault_locked"),
        (aifix_errors.NoConnection(), 409, "ai_no_connection"),
        (aifix_errors.AmbiguousConnection(["a", "b"]), 422, "ai_connection_ambiguous"),
        (aifix_errors.NoRecordedFailure("bot"), 404, "no_recorded_failure"),
        (aifix_errors.PayloadChanged(), 409, "ai_payload_changed"),
        (aifix_errors.PayloadTooLarge(10, 5), 413, "ai_payload_too_large"),
        (aifix_errors.RateLimited(None, 3), 429, "ai_rate_limited"),
        (aifix_errors.KeyRefused(403, "claude"), 502, "ai_key_refused"),
        (aifix_errors.RequestRefused(404, "not_found_error"), 502, "ai_request_refused"),
        (aifix_errors.ServerError(529, 3), 502, "ai_server_error"),
        (aifix_errors.NetworkUnreachable("api.anthropic.com"), 502, "ai_unreachable"),
        (aifix_errors.FixTimeout(5, 1), 504, "ai_timeout"),
        (aifix_errors.MalformedReply("no tool call"), 502, "ai_malformed_reply"),
        (aifix_errors.NoFix("same cell"), 422, "ai_no_fix"),
    ],
)
def test_each_ai_fix_failure_has_its_status_and_reason_never_401_or_403(
    error: BaseException, status: int, reason: str
) -> None:
    mapped = to_api_error(error)
    assert mapped is not None
    assert (mapped.status_code, mapped.reason_code) == (status, reason)
    assert mapped.message == str(error)
    assert "Retry-After" not in mapped.headers  # only a wait the API gave is passed on


# ------------------------------------------------------------------ notebook cells


async def test_a_cell_preview_needs_no_password_and_answers_the_exact_body_and_its_sha(
    api, unlocked, fake_api: FakeAnthropic
) -> None:
    payload = await preview_cell(api)
    assert payload["sha256"] == hashlib.sha256(payload["body"].encode()).hexdigest()
    assert payload["size"] == len(payload["body"].encode())
    assert "total = prices['last'] * quantity" in sent_text(payload["body"])
    assert_no_secret(payload["body"])
    assert fake_api.requests == []


async def test_sending_a_cell_without_the_password_is_refused_and_nothing_is_sent(
    api, unlocked, fake_api: FakeAnthropic
) -> None:
    payload = await preview_cell(api)
    response = await api.post("ai-fix", cell(sha256=payload["sha256"]))
    assert response.code == 422 and response.json["reason"] == "password_required"
    assert fake_api.requests == []


async def test_sending_a_cell_with_a_wrong_password_is_refused_and_nothing_is_sent(
    api, unlocked, fake_api: FakeAnthropic
) -> None:
    payload = await preview_cell(api)
    response = await api.post("ai-fix", cell(sha256=payload["sha256"], password="not it"))
    assert response.code == 422 and response.json["reason"] == "wrong_password"
    assert fake_api.requests == []


async def test_sending_a_cell_with_the_password_sends_the_previewed_body_and_answers_the_fix(
    api, unlocked, fake_api: FakeAnthropic
) -> None:
    payload = await preview_cell(api)
    response = await api.post("ai-fix", cell(sha256=payload["sha256"], password=PASSWORD))
    assert response.code == 200, response.text
    fix = response.json
    assert (fix["outcome"], fix["fixed_source"]) == ("fixed", FIXED)
    assert fix["sha256"] == payload["sha256"]
    assert "+print('fixed', len(token))" in fix["diff"]
    (sent,) = fake_api.requests
    assert sent.body == payload["body"].encode()
    carrying = {k.lower(): v for k, v in sent.headers.items() if API_KEY in v}
    assert carrying in ({"x-api-key": API_KEY}, {"authorization": f"Bearer {API_KEY}"})


async def test_a_deleted_connection_s_value_is_sent_redacted_as_the_preview_shows_it(
    api, unlocked, fake_api: FakeAnthropic
) -> None:
    # The server's redactor keeps knowing a deleted connection's values (its log must stay
    # clean); a preview shown through it must not hide a value that would then go in clear.
    gone = "tok-DeletedConn-" + "Vb7nM2kQ" * 3
    fields = {"token": gone}
    added = await api.post("connections", {"name": "Gone", "kind": "generic", "fields": fields})
    assert added.code == 201, added.text
    assert (await api.delete("connections/Gone", {"password": PASSWORD})).code == 204
    leaking = cell(evalue=f"'last' (old token {gone})")
    payload = (await api.post("ai-fix/preview", leaking)).json
    assert gone not in payload["body"]
    response = await api.post(
        "ai-fix", {**leaking, "sha256": payload["sha256"], "password": PASSWORD}
    )
    assert response.code == 200, response.text
    (sent,) = fake_api.requests
    assert sent.body == payload["body"].encode()
    for encoded in encodings(gone):
        assert encoded.encode() not in sent.body


async def test_a_preview_that_no_longer_matches_is_a_409_and_nothing_is_sent(
    api, unlocked, fake_api: FakeAnthropic
) -> None:
    payload = await preview_cell(api)
    changed = cell(source=CELL_SOURCE + "print(total)\n", sha256=payload["sha256"])
    response = await api.post("ai-fix", {**changed, "password": PASSWORD})
    assert response.code == 409 and response.json["reason"] == "ai_payload_changed"
    assert "preview again" in response.json["message"]
    assert fake_api.requests == []


async def test_anthropic_s_rate_limit_is_a_429_with_its_retry_after(
    api, unlocked, fake_api: FakeAnthropic
) -> None:
    fake_api.answer(error(429, "rate_limit_error", retry_after="7"))
    payload = await preview_cell(api)
    response = await api.post("ai-fix", cell(sha256=payload["sha256"], password=PASSWORD))
    assert response.code == 429 and response.json["reason"] == "ai_rate_limited"
    assert response.headers["Retry-After"] == "7"


async def test_a_refused_key_is_a_502_naming_the_connection_never_a_401(
    api, unlocked, fake_api: FakeAnthropic
) -> None:
    fake_api.answer(error(401, "authentication_error"))
    payload = await preview_cell(api)
    response = await api.post("ai-fix", cell(sha256=payload["sha256"], password=PASSWORD))
    assert response.code == 502 and response.json["reason"] == "ai_key_refused"
    assert "'claude'" in response.json["message"]
    assert_no_secret(response.text)


async def test_a_reply_slower_than_ai_timeout_is_a_504(
    api, unlocked, fake_api: FakeAnthropic
) -> None:
    fake_api.answer(Answer(body=tool_use(FIXED).body, delay=3.0))
    payload = await preview_cell(api)
    response = await api.post("ai-fix", cell(sha256=payload["sha256"], password=PASSWORD))
    assert response.code == 504 and response.json["reason"] == "ai_timeout"


async def test_an_unknown_anthropic_connection_is_a_409(api, unlocked) -> None:
    payload = await preview_cell(api)
    body = cell(sha256=payload["sha256"], password=PASSWORD, connection="nope")
    response = await api.post("ai-fix", body)
    assert response.code == 409 and response.json["reason"] == "ai_no_connection"


async def test_a_preview_while_the_vault_is_locked_is_a_423(api, watchdog_app) -> None:
    response = await api.post("ai-fix/preview", cell())
    assert response.code == 423 and response.json["reason"] == "vault_locked"


# ------------------------------------------------------------------------- bots


async def bot_preview(api: Any) -> dict[str, Any]:
    response = await api.get(bot_path(NAME, "ai-fix/preview"))
    assert response.code == 200, response.text
    return dict(response.json)


async def test_a_bot_preview_holds_its_failing_cell_and_no_secret_in_any_encoding(
    api, unlocked, fake_api: FakeAnthropic
) -> None:
    payload = await bot_preview(api)
    text = sent_text(payload["body"])
    assert "the exchange refused key" in text and "RuntimeError" in text
    assert "[REDACTED:Ex.token]" in text
    assert_no_secret(payload["body"])
    assert fake_api.requests == []


async def test_a_bot_fix_is_sent_only_with_the_password(
    api, unlocked, fake_api: FakeAnthropic
) -> None:
    payload = await bot_preview(api)
    refused = await api.post(bot_path(NAME, "ai-fix"), {"sha256": payload["sha256"]})
    assert refused.code == 422 and refused.json["reason"] == "password_required"
    assert fake_api.requests == []
    body = {"sha256": payload["sha256"], "password": PASSWORD}
    response = await api.post(bot_path(NAME, "ai-fix"), body)
    assert response.code == 200, response.text
    assert response.json["fixed_source"] == FIXED
    (sent,) = fake_api.requests
    assert sent.body == payload["body"].encode()
    assert_no_secret(sent.body.decode())


async def test_applying_a_fix_to_a_bot_with_connections_without_the_password_changes_nothing(
    api, unlocked
) -> None:
    before = len(published_events(unlocked))
    body = {"fixed_source": FIXED, "expected_version": 1}
    response = await api.post(bot_path(NAME, "ai-fix/apply"), body)
    assert response.code == 422 and response.json["reason"] == "password_required"
    assert (await describe(api, NAME))["notebook_version"] == 1
    assert len(published_events(unlocked)) == before


async def test_a_fix_applied_with_the_password_runs_as_version_2_and_rollback_returns_to_1(
    api, unlocked, fake_api: FakeAnthropic
) -> None:
    started = await api.post(bot_path(NAME, "start"))
    assert started.code == 200, started.text
    payload = await bot_preview(api)
    fix = await api.post(
        bot_path(NAME, "ai-fix"), {"sha256": payload["sha256"], "password": PASSWORD}
    )
    assert fix.code == 200, fix.text
    body = {
        "fixed_source": fix.json["fixed_source"],
        "expected_version": 1,
        "payload_sha256": payload["sha256"],
        "password": PASSWORD,
    }
    applied = await api.post(bot_path(NAME, "ai-fix/apply"), body)
    assert applied.code == 200, applied.text
    assert applied.json["notebook_version"] == 2
    bot = await wait_bot(
        api,
        NAME,
        lambda b: b["notebook_version"] == 2 and b["status"]["reason"] == "finished",
        timeout=120,
        what="a finished run of version 2",
    )
    assert bot["desired_state"] == "running"
    logs = await api.get(bot_path(NAME, "logs") + "?tail=200")
    texts = [r["text"] for r in logs.json["records"]]
    assert any("on notebook version 2" in t for t in texts)
    assert any("fixed" in t and str(len(SECRET)) in t for t in texts)
    (event,) = published_events(unlocked)[-1:]
    assert event.detail["payload_sha256"] == payload["sha256"]
    # Version 2 ran fine: the failure left on record is version 1's, not a cell of v2.
    nothing = await api.get(bot_path(NAME, "ai-fix/preview"))
    assert nothing.code == 404 and nothing.json["reason"] == "no_recorded_failure"

    rolled = await api.post(bot_path(NAME, "rollback"), {"password": PASSWORD})
    assert rolled.code == 200, rolled.text
    assert rolled.json["notebook_version"] == 1
    stopped = await api.post(bot_path(NAME, "stop"))
    assert stopped.code == 200, stopped.text
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (await describe(api, NAME))["state"] != "stopped":
        time.sleep(0.1)
