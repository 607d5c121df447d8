"""``connections kinds``: what each kind holds, from the registry, with no vault needed."""

from __future__ import annotations

from .conftest import Cli


def test_kinds_are_listed_with_their_fields_without_a_vault_or_password(cli: Cli) -> None:
    listed = cli.ok("connections", "kinds", password=None)
    rows = {line.split()[0]: line for line in listed.out.splitlines()[1:]}
    assert set(rows) == {"anthropic", "ccxt:<exchange", "gateway", "generic", "kalshi", "postgres"}
    assert "private_key_pem (secret, required)" in rows["kalshi"]
    assert "environment (public, demo|prod, default demo)" in rows["kalshi"]
    assert "walletAddress (public)" in rows["ccxt:<exchange"]
    assert not cli.home.exists()


def test_kinds_as_json_carry_every_field_property(cli: Cli) -> None:
    kinds = {k["kind"]: k for k in cli.ok("connections", "kinds", "--json").json()["kinds"]}
    assert kinds["ccxt:<exchange id>"]["family"] is True
    assert kinds["generic"]["open"] is True and kinds["generic"]["fields"] == []
    key = next(f for f in kinds["kalshi"]["fields"] if f["name"] == "private_key_pem")
    assert key == {
        "name": "private_key_pem",
        "visibility": "secret",
        "required": True,
        "choices": [],
        "default": None,
        "description": "the RSA private key file Kalshi gave you (PEM)",
        "from_file": True,
    }
