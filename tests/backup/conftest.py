"""Backup fixtures: a real vault (cheap Argon2) with connections, and bots as promote leaves
them on disk (registry entry, sealed notebook versions, packages.lock, state/) over a small venv
made by hand, so that a restored bot's seal can be checked exactly as a start checks it."""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from watchdog_lab.backup import BackupManager
from watchdog_lab.bots.environment import environment_lock
from watchdog_lab.bots.kernelspec import kernel_name
from watchdog_lab.bots.layout import BotPaths
from watchdog_lab.bots.models import BotConfig
from watchdog_lab.bots.registry import BotRegistry
from watchdog_lab.bots.seal import lock_path, seal_version
from watchdog_lab.vault import CreateConnection, KdfParams, RateLimitPolicy, Vault

FAST_KDF = KdfParams(time_cost=1, memory_kib=8 * 1024, parallelism=1)
PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new passphrase"
#: Values that must never appear in a backup file in clear (nor encoded).
TOKEN = "tok_9f8e7d6c5b4a39281706f5e4d3c2b1a0"
SECRET = "sk_live_51HxQ2eZvKYlo2C8a7Hq3Jd0Ue"
CONNECTION_NAME = "Binance Main Account"
BOT_NAME = "momentum-trader"


def open_vault(home: Path) -> Vault:
    return Vault(home, kdf=FAST_KDF, rate_limit=RateLimitPolicy(free_attempts=100))


def fake_venv(venv: Path) -> None:
    """The files :func:`environment_lock` reads: what a start compares with the sealed lock."""
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    dist = site / "site-packages" / "demo_pkg-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Name: demo-pkg\nVersion: 1.0\n\n")
    (dist / "RECORD").write_text("demo_pkg/__init__.py,sha256=abc,0\n")
    (venv / "bin").mkdir()
    os.symlink(sys.executable, venv / "bin" / "python")
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")


@dataclass
class FakeBot:
    id: str
    name: str
    paths: BotPaths
    notebooks: dict[int, bytes]
    state: dict[str, bytes] = field(default_factory=dict)


def notebook_bytes(version: int) -> bytes:
    cell = {"cell_type": "code", "source": f"print({version})", "metadata": {}}
    cell.update(outputs=[], execution_count=None)
    notebook = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(notebook).encode()


def make_bot(vault: Vault, name: str, grants: list[str], big_state: int = 0) -> FakeBot:
    """A bot as promote and two published versions leave it: sealed, registered, with state."""
    bot_id = uuid.uuid4().hex
    paths = BotPaths(vault.home, bot_id)
    paths.create()
    fake_venv(paths.venv)
    lock = environment_lock(paths.venv)
    lock_path(paths).write_bytes(lock)
    notebooks = {v: notebook_bytes(v) for v in (1, 2)}
    for version, data in notebooks.items():
        paths.notebook(version).write_bytes(data)
        seal_version(vault, paths, version, data, lock)
    config = BotConfig(id=bot_id, name=name, kernel_name=kernel_name(bot_id), notebook_version=2)
    paths.config_file.write_text(config.model_dump_json())
    BotRegistry(vault.store).create(config, grants)
    state = {
        "positions.json": b'{"BTC": 0.5}',
        "models/weights/layer1.bin": os.urandom(4096),
        "z-last.bin": os.urandom(big_state or 1000),
    }
    for rel, data in state.items():
        target = paths.state / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    (paths.state / "empty-folder").mkdir()
    (paths.logs / "bot.jsonl").write_text('{"not": "backed up"}\n')
    return FakeBot(bot_id, name, paths, notebooks, state)


@dataclass
class Populated:
    home: Path
    vault: Vault
    manager: BackupManager
    bots: list[FakeBot]
    connections: dict[str, dict[str, str]]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "wd-home"


@pytest.fixture
def populated(home: Path) -> Iterator[Populated]:
    """An unlocked vault with three connections and two bots (one granted a connection)."""
    vault = open_vault(home)
    vault.create(PASSWORD)
    connections = {
        CONNECTION_NAME: {"token": TOKEN},
        "Stripe": {"token": SECRET},
        "Plain": {"token": "tok_plain_value_000111222333444"},
    }
    for name, fields in connections.items():
        vault.add_connection(CreateConnection(name=name, kind="generic", fields=fields))
    granted = vault.get_connection(CONNECTION_NAME).id
    bots = [make_bot(vault, BOT_NAME, [granted]), make_bot(vault, "second-bot", [])]
    yield Populated(home, vault, BackupManager(home), bots, connections)
    vault.close()


@pytest.fixture
def clocked(home: Path) -> Callable[[float], BackupManager]:
    """A manager whose clock reads the given time (retention tests)."""

    def make(now: float) -> BackupManager:
        return BackupManager(home, retention_days=30, clock=lambda: now)

    return make
