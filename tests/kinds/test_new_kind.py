"""A new kind is one new module: the vault, the SDK and the CLI take it with no other change.

The module below is written into the kinds package (a folder added to its path in this
process; an overlay of the installed package for the CLI's own process) and nothing else is
edited: the vault validates with its rules, connections of the kind offer its helper, and
the CLI lists it and adds connections of it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import watchdog_lab
from watchdog_lab import kinds
from watchdog_lab.sdk import Connection, ConnectionConfigError, ConnectionKindError
from watchdog_lab.vault import (
    CreateConnection,
    InvalidConnection,
    KdfParams,
    RateLimitPolicy,
    Vault,
)

from .conftest import extra_kind_folder

PASSWORD = "correct horse battery"
TOKEN = "tx_5d1c0ffee5d1c0ffee5d1c0ffee"
TINY_KIND = '''
"""Tiny exchange: a token and a region."""

from .base import FieldSpec, Helper, KindSpec
from .errors import CredentialsError, InvalidFields


def check(fields):
    if not fields["token"].startswith("tx_"):
        raise InvalidFields("Field 'token' must start with 'tx_' (copy it whole).")
    return fields


def endpoint(conn):
    if conn["region"] == "moon":
        raise CredentialsError(f"Tiny connection {conn.name!r} is in no real region.")
    return f"https://{conn['region']}.tiny.invalid"


KIND = KindSpec(
    "tinyex",
    (
        FieldSpec("token", "secret"),
        FieldSpec("region", "public", choices=("eu", "us"), default="eu"),
    ),
    description="Tiny exchange: token + region",
    check=check,
    helpers={"endpoint": Helper(endpoint, value=True)},
)
'''


@pytest.fixture
def tiny(tmp_path: Path) -> Iterator[None]:
    with extra_kind_folder(tmp_path) as folder:
        (folder / "tinyex.py").write_text(TINY_KIND)
        yield


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[Vault]:
    with Vault(
        tmp_path / "home",
        kdf=KdfParams(time_cost=1, memory_kib=8 * 1024, parallelism=1),
        rate_limit=RateLimitPolicy(free_attempts=100),
    ) as opened:
        opened.create(PASSWORD)
        yield opened


@pytest.mark.usefixtures("tiny")
def test_the_vault_checks_a_new_kind_with_the_rules_of_its_module(vault: Vault) -> None:
    def add(**fields: str) -> object:
        return vault.add_connection(CreateConnection(name="Tiny", kind="tinyex", fields=fields))

    with pytest.raises(InvalidConnection, match="must start with 'tx_'"):
        add(token="nope")
    with pytest.raises(InvalidConnection, match="must be one of eu, us"):
        add(token=TOKEN, region="mars")
    with pytest.raises(InvalidConnection, match="has no field 'secret'"):
        add(token=TOKEN, secret="x")
    described = add(token=TOKEN)
    assert described.fields == {"token": "***", "region": "eu"}  # type: ignore[attr-defined]
    assert [name for name, _, _ in vault.iter_secrets()] == ["Tiny"]  # region is public


@pytest.mark.usefixtures("tiny")
def test_connections_of_a_new_kind_offer_its_helpers_in_the_sdk() -> None:
    conn = Connection("Tiny", "tinyex", {"token": TOKEN, "region": "us"}, {"region": "public"})
    assert conn.endpoint == "https://us.tiny.invalid"
    assert "endpoint" in dir(conn)
    with pytest.raises(ConnectionConfigError, match="in no real region"):
        Connection("Tiny", "tinyex", {"token": TOKEN, "region": "moon"}).endpoint  # noqa: B018
    other = Connection("K", "kalshi", {"api_key_id": "k"})
    assert not hasattr(other, "endpoint")
    with pytest.raises(ConnectionKindError, match="'tinyex' connections only"):
        other.endpoint  # noqa: B018


def _package_overlay(root: Path) -> Path:
    """``root/watchdog_lab``: the installed package by links, its kinds folder plus one file."""
    package = Path(watchdog_lab.__file__).parent
    overlay = root / "watchdog_lab"
    overlay.mkdir(parents=True)
    for entry in package.iterdir():
        if entry.name not in {"kinds", "__pycache__"}:
            (overlay / entry.name).symlink_to(entry)
    (overlay / "kinds").mkdir()
    for entry in (package / "kinds").glob("*.py"):
        (overlay / "kinds" / entry.name).symlink_to(entry)
    (overlay / "kinds" / "tinyex.py").write_text(TINY_KIND)
    return root


def test_the_cli_lists_a_new_kind_and_adds_connections_of_it(tmp_path: Path) -> None:
    site = _package_overlay(tmp_path / "site")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WATCHDOG_LAB_", "PYTHON"))}
    env |= {
        "PYTHONPATH": str(site),
        "WATCHDOG_LAB_HOME": str(tmp_path / "home"),
        "WATCHDOG_LAB_PASSWORD": PASSWORD,
    }

    def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "watchdog_lab.cli", *args],
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,  # not the source tree, which `python -m` would import first
            timeout=60,
            check=False,
        )

    listed = cli("connections", "kinds", "--json")
    assert listed.returncode == 0, listed.stderr
    tiny = {k["kind"]: k for k in json.loads(listed.stdout)["kinds"]}["tinyex"]
    assert tiny["description"] == "Tiny exchange: token + region"
    assert [(f["name"], f["visibility"]) for f in tiny["fields"]] == [
        ("token", "secret"),
        ("region", "public"),
    ]
    assert "tinyex" in cli("connections", "add", "--help").stdout

    init = cli("init", "--kdf-time-cost", "1", "--kdf-memory-mib", "8", "--kdf-parallelism", "1")
    assert init.returncode == 0, init.stderr
    doc = {"kind": "tinyex", "fields": {"token": "nope"}}
    refused = cli("connections", "add", "Tiny", "--from-json", "-", stdin=json.dumps(doc))
    assert refused.returncode != 0 and "must start with 'tx_'" in refused.stderr
    doc["fields"]["token"] = TOKEN
    added = cli("connections", "add", "Tiny", "--from-json", "-", "--json", stdin=json.dumps(doc))
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["fields"] == {"token": "***", "region": "eu"}
    assert TOKEN not in added.stdout + added.stderr


def test_without_the_module_the_kind_does_not_exist() -> None:
    kinds.refresh()
    assert "tinyex" not in kinds.KINDS
