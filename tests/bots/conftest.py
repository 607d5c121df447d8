"""Bot fixtures: a real vault, real uv venvs sharing one session cache, real runners."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from watchdog_lab.bots.models import BotState, RestartPolicy
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.vault import KdfParams, RateLimitPolicy, Vault

from ..support import process_exists, wait_for, write_notebook

__all__ = ["PASSWORD", "kill", "process_exists", "wait_for", "wait_state", "write_notebook"]

PASSWORD = "bot test password"


@pytest.fixture(scope="session")
def uv_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for every build of the session (same filesystem as the venvs: hardlinks)."""
    path = tmp_path_factory.getbasetemp() / "uv-cache"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def bot_home(tmp_path: Path) -> Path:
    # Short: IPC socket paths live under the home and Unix sockets allow ~100 bytes.
    return tmp_path / "h"


@pytest.fixture
def vault(bot_home: Path) -> Iterator[Vault]:
    v = Vault(bot_home, kdf=KdfParams(1, 8192, 1), rate_limit=RateLimitPolicy(free_attempts=99))
    v.create(PASSWORD)
    yield v
    v.close()


@pytest.fixture
def manager(vault: Vault, uv_cache: Path) -> Iterator[BotManager]:
    m = BotManager(
        vault,
        uv_cache=uv_cache,
        restart=RestartPolicy(backoff_initial=0.2, backoff_max=1.0, max_failures=4),
    )
    yield m
    for bot in m.list():  # never leave a runner behind a test
        m.stop(bot.id, timeout=10)


def wait_state(manager: BotManager, name: str, *states: BotState, timeout: float = 90.0) -> None:
    wait_for(lambda: manager.describe(name).state in states, timeout, f"{name} in {states}")


def kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
