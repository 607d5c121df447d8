"""Vault fixtures: a real SQLite vault in a temporary home with a cheap (but real) Argon2 cost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from watchdog_lab.vault import CreateConnection, KdfParams, RateLimitPolicy, Vault

from .. import support

FAST_KDF = KdfParams(time_cost=1, memory_kib=8 * 1024, parallelism=1)
PASSWORD = "correct horse battery"
KEY_ID = "a95b1c2d-7e3f-4a11-9c2b-3d4e5f6a7b8c"


@pytest.fixture(scope="session")
def rsa_pem() -> str:
    return support.rsa_pem()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "wd-home"


def open_vault(home: Path, **kwargs: object) -> Vault:
    kwargs.setdefault("kdf", FAST_KDF)
    kwargs.setdefault("rate_limit", RateLimitPolicy(free_attempts=100))
    return Vault(home, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def vault(home: Path) -> Iterator[Vault]:
    v = open_vault(home)
    v.create(PASSWORD)
    yield v
    v.close()


def kalshi(rsa_pem: str, name: str = "Kalshi") -> CreateConnection:
    return CreateConnection(
        name=name,
        kind="kalshi",
        fields={"api_key_id": KEY_ID, "private_key_pem": rsa_pem, "environment": "demo"},
    )


def generic(name: str, **fields: str) -> CreateConnection:
    return CreateConnection(name=name, kind="generic", fields=fields)
