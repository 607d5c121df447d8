"""What leaves: the failing cell and its error, redacted against every value in the vault,
and nothing else. Checked on the bytes our fake Messages API received from the real client."""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import quote

import pytest
from pydantic import ValidationError

from watchdog_lab.aifix import AIFix, FailingCell, FixSettings, PayloadTooLarge
from watchdog_lab.aifix.payload import build_payload, canonical_json
from watchdog_lab.redact import Redactor
from watchdog_lab.vault import Vault

from .conftest import (
    API_KEY,
    EXCHANGE_PASSPHRASE,
    EXCHANGE_SECRET,
    FRAME,
    KALSHI_KEY_ID,
    SOURCE,
    failing_cell,
)
from .fake_anthropic import FakeAnthropic

WINDOW = 16  # any copy this long of a secret's spelling counts as a leak


def spellings(secret: str) -> list[str]:
    """The secret as a traceback might carry it, encoded here independently of the product."""
    raw = secret.encode()
    return [
        secret,
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        raw.hex(),
        quote(secret, safe=""),
        json.dumps(secret)[1:-1],
    ]


def pem_body(pem: str) -> list[str]:
    """The PEM's base64 lines but the first, whose start is the DER header every RSA key
    shares (public, and left by the redactor: what follows it is shorter than a window)."""
    return [line for line in pem.splitlines() if line and not line.startswith("-----")][1:]


def leaked(text: str, spelling: str) -> bool:
    if len(spelling) < WINDOW:
        return spelling in text
    return any(spelling[i : i + WINDOW] in text for i in range(len(spelling) - WINDOW + 1))


def sent_text(fake_api: FakeAnthropic) -> str:
    """The recorded body, and its user message decoded from JSON (escaping could hide a copy)."""
    (request,) = fake_api.requests
    content = request.json()["messages"][0]["content"]
    return request.body.decode() + "\n" + content


def send(aifix: AIFix, cell: FailingCell) -> None:
    aifix.send(cell, sha256=aifix.preview(cell).sha256)


def test_no_vault_value_leaves_in_any_encoding(
    aifix: AIFix, fake_api: FakeAnthropic, rsa_pem: str
) -> None:
    secrets = [API_KEY, KALSHI_KEY_ID, EXCHANGE_SECRET, EXCHANGE_PASSPHRASE]
    planted = [s for secret in secrets for s in spellings(secret)] + pem_body(rsa_pem)[:3]
    cell = failing_cell(
        source=SOURCE + f"headers = {{'key': '{EXCHANGE_SECRET}'}}\n",
        evalue=f"bad key {API_KEY}",
        traceback=[FRAME, *(f"    value = {s!s}" for s in planted), "KeyError: 'last'"],
    )
    send(aifix, cell)
    text = sent_text(fake_api)
    assert FRAME in text and "total = prices['last'] * quantity" in text
    for spelling in [*planted, *pem_body(rsa_pem)]:
        assert not leaked(text, spelling), spelling[:8]
    assert "[REDACTED:exchange.secret]" in text and "[REDACTED:Kalshi.private_key_pem]" in text


def test_a_pem_in_a_repr_with_escaped_newlines_does_not_leave(
    aifix: AIFix, fake_api: FakeAnthropic, rsa_pem: str
) -> None:
    send(aifix, failing_cell(traceback=[FRAME, f"ValueError: {rsa_pem!r}"]))
    text = sent_text(fake_api)
    assert not any(leaked(text, line) for line in pem_body(rsa_pem))


def test_only_the_failing_cell_is_in_the_request(aifix: AIFix, fake_api: FakeAnthropic) -> None:
    """A face hands over one cell; the model refuses anything more (another cell, outputs)."""
    with pytest.raises(ValidationError):
        FailingCell.model_validate(
            {**failing_cell().model_dump(), "cells": ["other_cell_source()"]}
        )
    send(aifix, failing_cell())
    body = fake_api.requests[0].json()
    assert set(body) == {"model", "max_tokens", "system", "tools", "tool_choice", "messages"}
    assert len(body["messages"]) == 1


def test_the_notebook_name_stays_home(aifix: AIFix, fake_api: FakeAnthropic) -> None:
    send(aifix, failing_cell(name="secret-project/alpha.ipynb", cell_index=7))
    assert "secret-project" not in sent_text(fake_api)


def test_the_body_sent_is_the_previewed_bytes(aifix: AIFix, fake_api: FakeAnthropic) -> None:
    preview = aifix.preview(failing_cell())
    aifix.send(failing_cell(), sha256=preview.sha256)
    (request,) = fake_api.requests
    assert request.body == preview.body.encode()
    assert hashlib.sha256(request.body).hexdigest() == preview.sha256
    assert request.headers["Content-Type"] == "application/json"


def test_the_same_cell_gives_the_same_bytes(aifix: AIFix) -> None:
    assert aifix.preview(failing_cell()) == aifix.preview(failing_cell())
    body = json.loads(aifix.preview(failing_cell()).body)
    assert aifix.preview(failing_cell()).body.encode() == canonical_json(body)


def test_terminal_escapes_are_stripped(aifix: AIFix) -> None:
    body = aifix.preview(failing_cell()).body
    content = json.loads(body)["messages"][0]["content"]
    assert "\x1b" not in content and "[0;31m" not in content
    assert "KeyError: 'last'" in content


def test_a_secret_split_by_an_escape_sequence_is_still_redacted(
    aifix: AIFix, fake_api: FakeAnthropic
) -> None:
    """Escapes are removed before redaction: pieces shorter than a window, joined by colour
    codes, would each be too short to match."""
    pieces = [EXCHANGE_SECRET[:11], EXCHANGE_SECRET[11:22], EXCHANGE_SECRET[22:]]
    split = "\x1b[1;31m".join(pieces)
    send(aifix, failing_cell(traceback=[FRAME, f"Error: {split}"]))
    text = sent_text(fake_api)
    assert not any(piece in text for piece in pieces)


def test_a_long_traceback_is_cut_in_the_middle_behind_a_marker(aifix: AIFix) -> None:
    frames = [f'  File "/lib/deep.py", line {n}, in level_{n}' for n in range(3000)]
    preview = aifix.preview(failing_cell(traceback=[FRAME, *frames, "RecursionError: deep"]))
    content = json.loads(preview.body)["messages"][0]["content"]
    assert preview.traceback_cut
    assert FRAME in content and "RecursionError: deep" in content
    assert "level_1500" not in content
    assert "lines (" in content and "cut from the middle by WatchDog Lab" in content


def test_only_the_imported_packages_versions_are_sent(aifix: AIFix) -> None:
    cell = failing_cell(
        source="import numpy as np\nfrom pandas.api import types\n%pip install x\nnp.zeros(-1)\n",
        versions={"numpy": "1.26.4", "pandas": "2.2.2", "requests": "2.32.3"},
    )
    content = json.loads(aifix.preview(cell).body)["messages"][0]["content"]
    assert "numpy 1.26.4" in content and "pandas 2.2.2" in content
    assert "requests" not in content
    assert "<language>python 3.11.7</language>" in content


def test_a_payload_over_the_cap_is_refused_before_sending(
    vault: Vault, fake_api: FakeAnthropic
) -> None:
    small = AIFix(vault, FixSettings(base_url=fake_api.url, max_payload_bytes=4096))
    big = failing_cell(source="x = 1\n" * 2000)
    with pytest.raises(PayloadTooLarge) as refused:
        small.preview(big)
    assert refused.value.limit == 4096 and refused.value.size > 4096
    assert "ai_max_payload_bytes" in str(refused.value)
    with pytest.raises(PayloadTooLarge):
        small.send(big, sha256="0" * 64)
    assert fake_api.requests == []


def test_the_redaction_count_is_reported(aifix: AIFix) -> None:
    preview = aifix.preview(failing_cell(evalue=f"{EXCHANGE_SECRET} and {API_KEY}"))
    assert preview.redactions == 2
    assert aifix.preview(failing_cell()).redactions == 0


def test_build_payload_redacts_with_the_pattern_catalogue() -> None:
    """Even a key the vault does not hold is caught when its format is known."""
    unknown = "sk-ant-api03-" + "Zq9" * 30 + "AA"
    payload = build_payload(
        failing_cell(evalue=f"key={unknown}"), Redactor(), model="m", max_bytes=1 << 20
    )
    assert unknown[:30] not in payload.body.decode()
