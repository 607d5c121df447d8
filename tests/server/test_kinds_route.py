"""``GET /watchdog-lab/kinds``: the kinds registry, as the sidebar's connection form needs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


async def test_kinds_are_listed_with_their_fields_before_any_vault_exists(api) -> None:  # type: ignore[no-untyped-def]
    response = await api.get("kinds")
    assert response.code == 200, response.text
    kinds = {kind["kind"]: kind for kind in response.json["kinds"]}
    assert {"kalshi", "anthropic", "generic", "ccxt:<exchange id>"} <= set(kinds)
    kalshi = {field["name"]: field for field in kinds["kalshi"]["fields"]}
    assert kalshi["private_key_pem"]["visibility"] == "secret"
    assert kalshi["private_key_pem"]["from_file"] is True
    assert kalshi["environment"]["choices"] == ["demo", "prod"]
    assert kinds["generic"]["open"] is True and kinds["ccxt:<exchange id>"]["family"] is True


async def test_the_route_and_the_cli_describe_the_kinds_identically(  # type: ignore[no-untyped-def]
    api, tmp_path: Path
) -> None:
    response = await api.get("kinds")
    cli = subprocess.run(
        [sys.executable, "-m", "watchdog_lab.cli", "--home", str(tmp_path), "connections",
         "kinds", "--json"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert response.json == json.loads(cli.stdout)
