"""A bot's runner killed with ``kill -9`` while the server runs: the server starts it again.

The runner is the one process that keeps a bot alive; nothing restarts it from inside. The
server watches the runners of the bots that should run (``RunnerWatch``, pidfds) and asks for a
reconcile the moment one ends unasked. A new runner has the bot (its kernel then starts as at
any start), the log goes on without a gap or a repeated sequence number, and the killed
runner's kernel is gone with it (no second copy of the bot runs). How fast is measured by
``benchmarks/bench_recovery.py``, not asserted here.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from watchdog_lab.bots.logs import iter_records
from watchdog_lab.bots.status import is_alive

from ..server.botapi import LOOP_FOREVER, describe, promote, wait_bot, write_notebook
from ..server.conftest import (
    api,
    bot_uv_cache,
    bots_server_config,
    stop_bots,
    watchdog_app,
    watchdog_home,
)

__all__ = [
    "api",
    "bot_uv_cache",
    "bots_server_config",
    "stop_bots",
    "watchdog_app",
    "watchdog_home",
]

#: Long enough for the watch to have acted several times over on a quiet machine.
SETTLE_SECONDS = 2.0

pytestmark = pytest.mark.usefixtures("stop_bots")


@pytest.fixture
def jp_server_config(bots_server_config: Config) -> Config:
    return bots_server_config


@pytest.fixture
def home(watchdog_home: Path) -> Path:
    return watchdog_home


def _alive(status: dict[str, Any], pid: str = "pid", start: str = "pid_start") -> bool:
    return is_alive(status[pid], status[start])


def _seqs(home: Path, bot_id: str) -> list[int]:
    return [r.seq for r in iter_records(home / "bots" / bot_id / "logs" / "bot.jsonl")]


async def test_a_runner_killed_with_sigkill_is_replaced_and_its_log_continues(
    api, watchdog_app, home: Path, jp_root_dir: Path
) -> None:
    from watchdog_lab.vault import Vault

    from ..server.conftest import FAST_KDF

    with Vault(home, kdf=FAST_KDF) as vault:
        vault.create("correct horse battery staple")
    write_notebook(jp_root_dir / "loop.ipynb", LOOP_FOREVER)
    bot = await promote(api, notebook="loop.ipynb", name="Phoenix", mode="continuous", start=True)
    first = (await wait_bot(api, "Phoenix", lambda b: b["state"] == "running"))["status"]
    await wait_bot(api, "Phoenix", lambda b: b["status"]["last_seq"] > 5, what="some ticks")
    assert watchdog_app.runner_watch_seconds > 0  # the watch is on by default

    os.kill(first["pid"], signal.SIGKILL)

    def back(b: dict[str, Any]) -> bool:
        status = b["status"]
        new_runner = status["pid"] not in (None, first["pid"]) and _alive(status)
        return new_runner and b["state"] in ("starting", "running")

    await wait_bot(api, "Phoenix", back, timeout=30, what="a new runner")
    # Then its kernel: a start like any other (a second or two, more on a loaded machine).
    again = await wait_bot(api, "Phoenix", lambda b: b["state"] == "running", what="running")
    assert not _alive(first, "kernel_pid", "kernel_pid_start"), "the old kernel still runs"

    # The new runner's log goes on from the killed one's last record: no gap, no repeat.
    await wait_bot(
        api,
        "Phoenix",
        lambda b: b["status"]["last_seq"] > again["status"]["last_seq"] + 5,
        what="ticks after the restart",
    )
    seqs = _seqs(home, bot["id"])
    assert seqs == list(range(1, len(seqs) + 1))
    texts = [r.text for r in iter_records(home / "bots" / bot["id"] / "logs" / "bot.jsonl")]
    assert sum(t.startswith("runner started") for t in texts) == 2


async def test_a_runner_stopped_on_request_is_not_started_again(
    api, watchdog_app, home: Path, jp_root_dir: Path
) -> None:
    from watchdog_lab.vault import Vault

    from ..server.conftest import FAST_KDF

    with Vault(home, kdf=FAST_KDF) as vault:
        vault.create("correct horse battery staple")
    write_notebook(jp_root_dir / "loop.ipynb", LOOP_FOREVER)
    await promote(api, notebook="loop.ipynb", name="Resting", mode="continuous", start=True)
    running = (await wait_bot(api, "Resting", lambda b: b["state"] == "running"))["status"]
    response = await api.post("bots/Resting/stop")
    assert response.code == 200, response.text
    await asyncio.sleep(SETTLE_SECONDS)
    now = await describe(api, "Resting")
    assert now["state"] == "stopped"
    assert not _alive(running)


async def test_a_runner_killed_again_and_again_ends_crashed_not_restarted_forever(
    api, watchdog_app, home: Path, jp_root_dir: Path
) -> None:
    from watchdog_lab.vault import Vault

    from ..server.conftest import FAST_KDF

    with Vault(home, kdf=FAST_KDF) as vault:
        vault.create("correct horse battery staple")
    write_notebook(jp_root_dir / "loop.ipynb", LOOP_FOREVER)
    await promote(api, notebook="loop.ipynb", name="Doomed", mode="continuous", start=True)
    # Each of the first restart_max_failures kills is restarted; the next one is not.
    for _ in range(watchdog_app.restart_max_failures + 1):
        status = (await wait_bot(api, "Doomed", lambda b: b["state"] == "running"))["status"]
        os.kill(status["pid"], signal.SIGKILL)
        await wait_bot(api, "Doomed", lambda b, s=status: b["status"]["pid"] != s["pid"])
    crashed = await wait_bot(api, "Doomed", lambda b: b["state"] == "crashed", what="crashed")
    assert crashed["status"]["reason"].startswith("crash loop: its runner ended")
    await asyncio.sleep(SETTLE_SECONDS)
    assert (await describe(api, "Doomed"))["state"] == "crashed"


@pytest.mark.parametrize(
    ("value", "accepted"), [(0, True), (0.1, True), (0.01, False), (-1, False)]
)
def test_the_runner_watch_takes_off_or_a_sane_interval_never_a_busy_poll(
    value: float, accepted: bool
) -> None:
    from watchdog_lab.errors import InvalidSetting
    from watchdog_lab.settings import load_settings

    config = Config({"WatchdogLab": {"runner_watch_seconds": value}})
    if accepted:
        assert load_settings(config).runner_watch_seconds == value
        return
    with pytest.raises(InvalidSetting, match=r"c\.WatchdogLab\.runner_watch_seconds.*outside 0\.1"):
        load_settings(config)
