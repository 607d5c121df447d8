"""A bot that needs its connections loses its runner while the vault is locked.

Its keys lived only in the killed runner's memory; no one can decrypt them again until the
user unlocks. So the bot waits, visibly (REST, ``bots list``; the sidebar and a JupyterLab
notification read the same state, see tests/ui/test_waiting_story.py), for as long as it
takes, without being started, counted as failing or marked crashed, and it starts on unlock
with its log going on where it stopped.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from watchdog_lab.bots.logs import iter_records
from watchdog_lab.bots.status import is_alive
from watchdog_lab.vault import CreateConnection

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

PASSWORD = "correct horse battery staple"
SECRET = "tok-" + "Wq3Zr8Kd" * 4
#: The watch checks often here, so that the waiting spans many of its checks.
WATCH_SECONDS = 0.2
#: How long the test leaves the bot waiting before it unlocks.
WAIT_SECONDS = 3.0

pytestmark = pytest.mark.usefixtures("stop_bots")


@pytest.fixture
def jp_server_config(bots_server_config: Config) -> Config:
    bots_server_config.WatchdogLab.runner_watch_seconds = WATCH_SECONDS
    return bots_server_config


def _runner_processes(bot_id: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"watchdog_lab.bots.runner" in cmdline and bot_id.encode() in cmdline:
            found.append(int(entry.name))
    return found


def _bots_list(home: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHDOG_LAB_")}
    env["WATCHDOG_LAB_HOME"] = str(home)
    done = subprocess.run(
        [sys.executable, "-m", "watchdog_lab.cli", "bots", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_a_bot_with_connections_waits_for_unlock_without_crash_looping_and_starts_on_unlock(
    api, watchdog_app, watchdog_home: Path, jp_root_dir: Path
) -> None:
    assert (await api.post("vault", {"password": PASSWORD})).code in (200, 201)
    watchdog_app.vault.add_connection(
        CreateConnection(name="Desk", kind="generic", fields={"token": SECRET})
    )
    write_notebook(jp_root_dir / "loop.ipynb", LOOP_FOREVER)
    bot = await promote(
        api,
        notebook="loop.ipynb",
        name="Patient",
        connections=["Desk"],
        password=PASSWORD,
        mode="continuous",
        start=True,
    )
    first = (await wait_bot(api, "Patient", lambda b: b["state"] == "running"))["status"]
    assert (await api.post("vault/lock")).code == 200

    os.kill(first["pid"], signal.SIGKILL)
    waiting = await wait_bot(
        api, "Patient", lambda b: b["state"] == "waiting-for-unlock", timeout=10, what="waiting"
    )
    assert "unlock" in waiting["status"]["reason"]
    assert not is_alive(first["kernel_pid"], first["kernel_pid_start"])
    row = next(line for line in _bots_list(watchdog_home).splitlines() if "Patient" in line)
    assert "waiting-for-unlock" in row.split()

    # Many checks of the watch later: still waiting, nothing started, nothing counted.
    await asyncio.sleep(WAIT_SECONDS)
    still: dict[str, Any] = await describe(api, "Patient")
    assert still["state"] == "waiting-for-unlock"
    assert still["status"]["restarts"] == waiting["status"]["restarts"]
    assert _runner_processes(bot["id"]) == []

    unlocked_at = time.monotonic()
    assert (await api.post("vault/unlock", {"password": PASSWORD})).code == 200
    running = await wait_bot(api, "Patient", lambda b: b["state"] == "running", what="started")
    assert time.monotonic() - unlocked_at < 30
    assert running["status"]["pid"] not in (None, first["pid"])
    await wait_bot(
        api,
        "Patient",
        lambda b: b["status"]["last_seq"] > running["status"]["last_seq"] + 3,
        what="ticks after unlock",
    )
    records = list(iter_records(watchdog_home / "bots" / bot["id"] / "logs" / "bot.jsonl"))
    assert [r.seq for r in records] == list(range(1, len(records) + 1))
    assert sum(r.text.startswith("runner started") for r in records) == 2
    assert all(SECRET not in r.text for r in records)
