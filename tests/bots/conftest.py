"""Bot fixtures: a real vault, real uv venvs sharing one session cache, real runners."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import nbformat
import pytest

from watchdog_lab.bots.models import BotState, RestartPolicy
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.vault import KdfParams, RateLimitPolicy, Vault

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


def write_notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    nbformat.write(nb, str(path))
    return path


def wait_for(predicate: Callable[[], object], timeout: float = 60.0, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or predicate}")


def wait_state(manager: BotManager, name: str, *states: BotState, timeout: float = 90.0) -> None:
    wait_for(lambda: manager.describe(name).state in states, timeout, f"{name} in {states}")


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
