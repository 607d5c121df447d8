"""Server-extension fixtures: a real Jupyter server with WatchDog Lab enabled on a temp home."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from jupyter_server.serverapp import ServerApp
from traitlets.config import Config

from watchdog_lab.server.app import WatchdogLab
from watchdog_lab.vault import KdfParams, Vault

#: Real Argon2id, at a cost small enough for tests.
FAST_KDF = KdfParams(time_cost=1, memory_kib=8 * 1024, parallelism=1)


@pytest.fixture
def watchdog_home(tmp_path: Path) -> Path:
    return tmp_path / "watchdog-home"


@pytest.fixture
def jp_server_config(watchdog_home: Path) -> Config:
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"watchdog_lab": True}},
            "WatchdogLab": {"home": str(watchdog_home)},
        }
    )


@pytest.fixture
def watchdog_app(jp_serverapp: ServerApp) -> WatchdogLab:
    """The extension instance the running test server loaded."""
    apps = jp_serverapp.extension_manager.extension_apps["watchdog_lab"]
    (app,) = apps
    assert isinstance(app, WatchdogLab)
    return app


@pytest.fixture
def make_vault(watchdog_home: Path) -> Iterator[Callable[[str], Vault]]:
    """Create the vault from outside the server, as another process (the CLI) would."""
    opened: list[Vault] = []

    def create(password: str) -> Vault:
        vault = Vault(watchdog_home, kdf=FAST_KDF)
        vault.create(password)
        opened.append(vault)
        return vault

    yield create
    for vault in opened:
        vault.close()
