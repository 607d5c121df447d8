"""The ccxt family: one module for every exchange ccxt knows, by its ccxt id."""

from __future__ import annotations

import pytest

from watchdog_lab.kinds import InvalidFields, UnknownKind, resolve_kind
from watchdog_lab.kinds.ccxt import CREDENTIALS


def test_a_member_takes_ccxt_credential_names_all_optional() -> None:
    spec = resolve_kind("ccxt:kraken")
    assert [f.name for f in spec.fields] == [*CREDENTIALS, "environment", "tls_pins"]
    assert not any(f.required for f in spec.fields)
    assert spec.validate({"apiKey": "A" * 20, "secret": "S" * 40}) == {
        "apiKey": "A" * 20,
        "secret": "S" * 40,
    }


def test_a_member_refuses_names_ccxt_does_not_use() -> None:
    with pytest.raises(InvalidFields, match="has no field 'apikey'"):
        resolve_kind("ccxt:kraken").validate({"apikey": "k"})


@pytest.mark.parametrize("member", ["", "b", "Binance", "bin/ance", "x" * 41])
def test_an_exchange_id_that_is_not_a_lowercase_ccxt_id_is_refused(member: str) -> None:
    with pytest.raises(UnknownKind, match="Invalid ccxt exchange id"):
        resolve_kind(f"ccxt:{member}")


def test_environment_is_live_or_sandbox_and_pins_are_stored_normalised() -> None:
    spec = resolve_kind("ccxt:binance")
    with pytest.raises(InvalidFields, match="must be one of live, sandbox"):
        spec.validate({"apiKey": "A" * 20, "environment": "testnet"})
    pin = "sha256//" + "A" * 43 + "="
    stored = spec.validate({"apiKey": "A" * 20, "tls_pins": f" {pin} ;{pin}"})
    assert stored["tls_pins"] == "sha256/" + "A" * 43 + "="
    assert spec.visibility("tls_pins") == spec.visibility("environment") == "public"
