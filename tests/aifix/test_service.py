"""``AIFix``: what the user saw is what is sent, each send is audited without its payload, and
a reply that changes nothing or does not parse is no fix."""

from __future__ import annotations

import json

import pytest

from watchdog_lab.aifix import (
    AIFix,
    AmbiguousConnection,
    CreateFix,
    FixOutcome,
    NoConnection,
    NoFix,
    PayloadChanged,
    VaultLocked,
)
from watchdog_lab.vault import CreateConnection, Vault

from .conftest import API_KEY, EXCHANGE_SECRET, PASSWORD, SOURCE, failing_cell
from .fake_anthropic import FakeAnthropic, tool_use

FIXED = SOURCE.replace("prices['last']", "prices.get('last', 0.0)")


def ai_events(vault: Vault) -> list[dict]:
    return [e.detail or {} for e in vault.audit_log() if e.event == "ai_fix.requested"]


def test_a_changed_cell_is_refused_and_nothing_is_sent(
    aifix: AIFix, fake_api: FakeAnthropic
) -> None:
    approved = aifix.preview(failing_cell()).sha256
    with pytest.raises(PayloadChanged):
        aifix.send(failing_cell(source=SOURCE + "extra = 1\n"), sha256=approved)
    assert fake_api.requests == []


def test_a_new_vault_value_changes_the_payload_and_refuses_the_old_approval(
    aifix: AIFix, vault: Vault, fake_api: FakeAnthropic
) -> None:
    """The redactor follows the vault: a value added after the preview is redacted, so the
    approved payload (which showed it) is not the one that would go."""
    cell = failing_cell(evalue="token=ghq-late-added-secret-7731x")
    approved = aifix.preview(cell)
    assert "ghq-late-added-secret-7731x" in approved.body
    vault.add_connection(
        CreateConnection(
            name="late", kind="generic", fields={"token": "ghq-late-added-secret-7731x"}
        )
    )
    with pytest.raises(PayloadChanged):
        aifix.send(cell, sha256=approved.sha256)
    assert fake_api.requests == []
    assert "ghq-late-added-secret-7731x" not in aifix.preview(cell).body


def test_create_sends_what_its_sha256_names(aifix: AIFix, fake_api: FakeAnthropic) -> None:
    fake_api.answer(tool_use(FIXED, "Use a default."))
    preview = aifix.preview(failing_cell())
    result = aifix.create(CreateFix(cell=failing_cell(), sha256=preview.sha256))
    assert result.outcome is FixOutcome.FIXED and result.sha256 == preview.sha256
    assert not result.source_redacted
    assert len(fake_api.requests) == 1


def test_every_send_is_audited_with_the_hash_never_the_payload(
    aifix: AIFix, vault: Vault, fake_api: FakeAnthropic
) -> None:
    fake_api.answer(tool_use(FIXED, "Use a default for reply_text_marker."))
    preview = aifix.preview(failing_cell())
    aifix.send(failing_cell(), sha256=preview.sha256)
    (event,) = ai_events(vault)
    assert event["sha256"] == preview.sha256
    assert event["outcome"] == "fixed" and event["model"] == "claude-sonnet-5-5"
    assert (event["input_tokens"], event["output_tokens"]) == (321, 54)
    assert event["target"] == "notebook" and event["name"] == "strategies/momentum.ipynb"
    stored = json.dumps(vault.audit_log()[0].model_dump())
    assert "load_prices" not in stored and "reply_text_marker" not in stored
    assert API_KEY not in stored


def test_a_failed_send_is_audited_with_its_outcome(
    aifix: AIFix, vault: Vault, fake_api: FakeAnthropic
) -> None:
    from .fake_anthropic import error

    fake_api.answer(error(401, "authentication_error"))
    with pytest.raises(Exception, match="refused the API key"):
        aifix.send(failing_cell(), sha256=aifix.preview(failing_cell()).sha256)
    assert ai_events(vault)[0]["outcome"] == "key_refused"


def test_a_refused_approval_is_audited(aifix: AIFix, vault: Vault) -> None:
    with pytest.raises(PayloadChanged):
        aifix.send(failing_cell(), sha256="0" * 64)
    assert ai_events(vault)[0]["outcome"] == "payload_changed"


def test_the_same_cell_back_is_no_fix(aifix: AIFix, fake_api: FakeAnthropic) -> None:
    fake_api.answer(tool_use(SOURCE + "\n\n", "Looks fine to me."))
    result = aifix.send(failing_cell(), sha256=aifix.preview(failing_cell()).sha256)
    assert result.outcome is FixOutcome.NO_FIX and result.fixed_source is None
    assert result.diff == "" and "same" in (result.no_fix_reason or "")
    with pytest.raises(NoFix):
        result.require_fix()


def test_a_cell_that_does_not_parse_is_no_fix(aifix: AIFix, fake_api: FakeAnthropic) -> None:
    fake_api.answer(tool_use("total = prices.get('last'\n", "Fixed."))
    result = aifix.send(failing_cell(), sha256=aifix.preview(failing_cell()).sha256)
    assert result.outcome is FixOutcome.NO_FIX
    assert "not valid python" in (result.no_fix_reason or "")


def test_a_fix_is_a_unified_diff_of_the_cell_as_sent(aifix: AIFix, fake_api: FakeAnthropic) -> None:
    """The diff is against the redacted source: a secret literal in the cell never comes back
    to a face inside the diff."""
    source = f"key = '{EXCHANGE_SECRET}'\n" + SOURCE
    fixed = "key = '[REDACTED:exchange.secret]'\n" + FIXED
    fake_api.answer(tool_use(fixed, "Use a default."))
    cell = failing_cell(source=source)
    result = aifix.send(cell, sha256=aifix.preview(cell).sha256)
    assert result.require_fix() == fixed and result.source_redacted
    assert result.diff.startswith("--- a/cell\n+++ b/cell\n")
    assert "-total = prices['last'] * quantity" in result.diff
    assert "+total = prices.get('last', 0.0) * quantity" in result.diff
    assert EXCHANGE_SECRET not in result.diff and " key = '[REDACTED:" in result.diff


def test_what_the_model_writes_is_redacted_too(aifix: AIFix, fake_api: FakeAnthropic) -> None:
    fake_api.answer(tool_use(f"key = '{EXCHANGE_SECRET}'\n", f"Use {EXCHANGE_SECRET}."))
    result = aifix.send(failing_cell(), sha256=aifix.preview(failing_cell()).sha256)
    assert EXCHANGE_SECRET not in result.model_dump_json()


def test_no_anthropic_connection(vault: Vault, aifix: AIFix, fake_api: FakeAnthropic) -> None:
    vault.remove_connection("claude")
    with pytest.raises(NoConnection, match="kind 'anthropic'"):
        aifix.send(failing_cell(), sha256=aifix.preview(failing_cell()).sha256)
    assert fake_api.requests == []


def test_several_anthropic_connections_must_be_named(
    vault: Vault, aifix: AIFix, fake_api: FakeAnthropic
) -> None:
    vault.add_connection(
        CreateConnection(name="claude-work", kind="anthropic", fields={"api_key": "sk-ant-w" * 6})
    )
    sha = aifix.preview(failing_cell()).sha256
    with pytest.raises(AmbiguousConnection, match="'claude', 'claude-work'"):
        aifix.send(failing_cell(), sha256=sha)
    aifix.send(failing_cell(), sha256=sha, connection="claude-work")
    assert "sk-ant-w" in str(fake_api.requests[0].headers)
    with pytest.raises(NoConnection):
        aifix.send(failing_cell(), sha256=sha, connection="exchange")  # not an anthropic one


def test_a_locked_vault_sends_nothing(aifix: AIFix, vault: Vault, fake_api: FakeAnthropic) -> None:
    sha = aifix.preview(failing_cell()).sha256
    vault.lock()
    with pytest.raises(VaultLocked, match="Unlock it first"):
        aifix.preview(failing_cell())
    with pytest.raises(VaultLocked):
        aifix.send(failing_cell(), sha256=sha)
    assert fake_api.requests == []
    vault.unlock(PASSWORD)
    assert aifix.preview(failing_cell()).sha256 == sha
