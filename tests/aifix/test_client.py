"""The real ``anthropic`` client against our fake Messages API: every failure a user can meet
becomes its own error, with a message to act on; the key travels only in its header."""

from __future__ import annotations

import logging
import socket
import time

import pytest

from watchdog_lab.aifix import (
    AIFix,
    FixSettings,
    FixTimeout,
    KeyRefused,
    MalformedReply,
    NetworkUnreachable,
    RateLimited,
    RequestRefused,
    ServerError,
)
from watchdog_lab.aifix.client import MessagesClient, retry_after
from watchdog_lab.vault import Vault

from .conftest import API_KEY, SOURCE, failing_cell
from .fake_anthropic import Answer, FakeAnthropic, error, text_only, tool_use


def send(aifix: AIFix):  # type: ignore[no-untyped-def]
    cell = failing_cell()
    return aifix.send(cell, sha256=aifix.preview(cell).sha256)


def with_settings(vault: Vault, fake_api: FakeAnthropic, **changes: object) -> AIFix:
    fields: dict = {"base_url": fake_api.url, "max_retries": 0, "timeout": 5.0, **changes}
    return AIFix(vault, FixSettings(**fields))


def test_a_tool_call_reply_becomes_the_proposal(aifix: AIFix, fake_api: FakeAnthropic) -> None:
    fixed = SOURCE.replace("prices['last']", "prices.get('last', 0)")
    fake_api.answer(tool_use(fixed, "The key may be missing.", usage=(812, 97)))
    result = send(aifix)
    assert result.fixed_source == fixed and result.explanation == "The key may be missing."
    assert (result.input_tokens, result.output_tokens) == (812, 97)


def test_the_request_forces_the_propose_fix_tool(aifix: AIFix, fake_api: FakeAnthropic) -> None:
    send(aifix)
    body = fake_api.requests[0].json()
    assert fake_api.requests[0].path == "/v1/messages"
    assert body["tool_choice"] == {"type": "tool", "name": "propose_fix"}
    (tool,) = body["tools"]
    assert tool["name"] == "propose_fix"
    assert set(tool["input_schema"]["required"]) == {"fixed_source", "explanation"}
    assert body["model"] == "claude-sonnet-5-5"


def test_the_model_is_the_setting(vault: Vault, fake_api: FakeAnthropic) -> None:
    send(with_settings(vault, fake_api, model="claude-haiku-5-5"))
    assert fake_api.requests[0].json()["model"] == "claude-haiku-5-5"


def test_the_api_key_travels_only_in_the_sdk_auth_header(
    aifix: AIFix, fake_api: FakeAnthropic
) -> None:
    send(aifix)
    (request,) = fake_api.requests
    assert API_KEY.encode() not in request.body and API_KEY not in request.path
    carrying = {k.lower(): v for k, v in request.headers.items() if API_KEY in v}
    # The SDK's credential header: ``x-api-key`` in older releases, a bearer token in 2.x.
    assert carrying in ({"x-api-key": API_KEY}, {"authorization": f"Bearer {API_KEY}"})
    assert MessagesClient.PLACEHOLDER_KEY not in str(request.headers)


def test_anthropic_base_url_is_honoured_when_no_setting_names_one(
    vault: Vault, fake_api: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_api.url)
    send(with_settings(vault, fake_api, base_url=""))
    assert len(fake_api.requests) == 1


def test_a_refused_key_is_key_refused(aifix: AIFix, fake_api: FakeAnthropic) -> None:
    for status, kind in ((401, "authentication_error"), (403, "permission_error")):
        fake_api.answer(error(status, kind, f"invalid x-api-key {API_KEY}"))
        with pytest.raises(KeyRefused) as refused:
            send(aifix)
        assert refused.value.status == status
        assert "'claude'" in str(refused.value) and API_KEY not in str(refused.value)


def test_a_rate_limit_after_the_retries_says_how_long_to_wait(
    vault: Vault, fake_api: FakeAnthropic
) -> None:
    fake_api.answer(*[error(429, "rate_limit_error", retry_after="0.2")] * 2)
    with pytest.raises(RateLimited) as limited:
        send(with_settings(vault, fake_api, max_retries=1))
    assert len(fake_api.requests) == 2  # the SDK retried once, waiting as told
    assert limited.value.retry_after == pytest.approx(0.2)
    assert "Try again in 1 s" in str(limited.value) and "2 attempts" in str(limited.value)


def test_a_rate_limit_then_success_is_retried(vault: Vault, fake_api: FakeAnthropic) -> None:
    fake_api.answer(error(429, "rate_limit_error", retry_after="0.1"), tool_use("x = 1\n"))
    assert send(with_settings(vault, fake_api, max_retries=2)).fixed_source == "x = 1\n"
    assert len(fake_api.requests) == 2


@pytest.mark.timeout(60)
def test_a_wait_longer_than_the_timeout_is_reported_not_slept(
    vault: Vault, fake_api: FakeAnthropic
) -> None:
    fake_api.answer(error(429, "rate_limit_error", retry_after="3600"))
    started = time.monotonic()
    with pytest.raises(RateLimited) as limited:
        send(with_settings(vault, fake_api, max_retries=3, timeout=5.0))
    assert time.monotonic() - started < 5
    assert len(fake_api.requests) == 1
    assert "Try again in 3600 s" in str(limited.value)


def test_a_server_error_after_the_retries_is_server_error(
    vault: Vault, fake_api: FakeAnthropic
) -> None:
    fake_api.answer(*[error(500, "api_error")] * 2)
    with pytest.raises(ServerError) as failed:
        send(with_settings(vault, fake_api, max_retries=1))
    assert failed.value.status == 500 and len(fake_api.requests) == 2
    assert "2 attempts" in str(failed.value)


def test_an_overloaded_api_is_a_server_error(aifix: AIFix, fake_api: FakeAnthropic) -> None:
    fake_api.answer(error(529, "overloaded_error"))
    with pytest.raises(ServerError):
        send(aifix)


def test_another_refusal_names_the_api_error_type_only(
    aifix: AIFix, fake_api: FakeAnthropic
) -> None:
    fake_api.answer(error(404, "not_found_error", f"model: {SOURCE}"))
    with pytest.raises(RequestRefused) as refused:
        send(aifix)
    assert "not_found_error" in str(refused.value) and "prices" not in str(refused.value)


def test_a_closed_port_is_network_unreachable(vault: Vault) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    aifix = AIFix(vault, FixSettings(base_url=f"http://127.0.0.1:{port}", max_retries=0))
    with pytest.raises(NetworkUnreachable) as unreachable:
        send(aifix)
    assert f"127.0.0.1:{port}" in str(unreachable.value)


def test_a_slow_reply_is_a_timeout(vault: Vault, fake_api: FakeAnthropic) -> None:
    fake_api.answer(Answer(delay=10, body=tool_use("x = 1\n").body))
    started = time.monotonic()
    with pytest.raises(FixTimeout) as timed_out:
        send(with_settings(vault, fake_api, timeout=0.5))
    assert time.monotonic() - started < 5
    assert "0.5 s" in str(timed_out.value) and "ai_timeout" in str(timed_out.value)


@pytest.mark.parametrize(
    "answer",
    [
        Answer(body=b"<html>gateway says hi</html>"),
        Answer(body=b'{"unexpected": true}'),
        text_only("Here is the fix: ..."),
        tool_use("x = 1\n", name="another_tool"),
        tool_use(["not", "text"]),
        tool_use("x = (1\n", stop_reason="max_tokens"),
    ],
    ids=["not-json", "not-a-message", "prose", "wrong-tool", "wrong-types", "cut-off"],
)
def test_a_reply_without_a_usable_tool_call_is_malformed(
    aifix: AIFix, fake_api: FakeAnthropic, answer: Answer
) -> None:
    fake_api.answer(answer)
    with pytest.raises(MalformedReply):
        send(aifix)


def test_the_sdk_logs_neither_the_payload_nor_the_reply(
    aifix: AIFix, fake_api: FakeAnthropic, caplog: pytest.LogCaptureFixture
) -> None:
    logging.getLogger("anthropic").setLevel(logging.DEBUG)  # as ANTHROPIC_LOG=debug would
    reply_marker = "reply_only_marker_93kd"
    fake_api.answer(tool_use(f"{reply_marker} = 1\n", f"explained {reply_marker}"))
    with caplog.at_level(logging.DEBUG):
        send(aifix)
    logged = "\n".join(
        record.getMessage() + str(record.args) + str(record.exc_info) for record in caplog.records
    )
    assert "load_prices" not in logged and reply_marker not in logged
    assert API_KEY not in logged
    assert any("AI Fix request" in record.getMessage() for record in caplog.records)


def test_retry_after_reads_seconds_milliseconds_and_dates() -> None:
    assert retry_after({"retry-after": "7"}) == 7
    assert retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after({"retry-after": "Thu, 01 Jan 2037 00:00:00 GMT"}) > 3600
    assert retry_after({}) is None and retry_after({"retry-after": "soon"}) is None
