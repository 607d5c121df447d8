"""A stolen vault.db: nothing but counts and sizes."""

from __future__ import annotations

import base64
from pathlib import Path

from watchdog_lab.vault import CreateConnection, Vault

from .conftest import KEY_ID, PASSWORD, kalshi


def _all_bytes(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(home.iterdir()) if p.is_file())


def test_stolen_files_hold_no_connection_name_kind_field_or_value(
    vault: Vault, home: Path, rsa_pem: str
) -> None:
    vault.add_connection(kalshi(rsa_pem, name="MyKalshiAccount"))
    vault.add_connection(
        CreateConnection(
            name="BinanceTradingDesk",
            kind="ccxt:binance",
            fields={"apiKey": "BINANCEAPIKEY123456", "secret": "binance-secret-value-987"},
        )
    )
    vault.lock()
    raw = _all_bytes(home)
    pem_body = "".join(rsa_pem.strip().splitlines()[1:-1])
    needles = [
        "MyKalshiAccount", "mykalshiaccount", "BinanceTradingDesk", "kalshi", "ccxt", "binance",
        "api_key_id", "private_key_pem", "apiKey", "environment", "demo", KEY_ID,
        "BINANCEAPIKEY123456", "binance-secret-value-987", "PRIVATE KEY", pem_body[:40],
        pem_body[-40:], PASSWORD,
    ]  # fmt: skip
    for needle in needles:
        for form in (
            needle.encode(),
            needle.encode("utf-16-le"),
            base64.b64encode(needle.encode()),
        ):
            assert form not in raw, needle
    # Sanity: the check would see plaintext if it were there.
    assert b"vault_header" in raw
