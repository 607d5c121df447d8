"""Reconcile wiring of the server (app start, unlock) and bots surviving a server restart.

The last test is the issue's acceptance test, on real ``jupyter server`` processes: restart the
server while two bots run; both keep running, are adopted, and their logs keep streaming.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from watchdog_lab.vault import CreateConnection, Vault

from ..support import wait_for
from .botapi import (
    LOOP_FOREVER,
    ServerProcess,
    bot_path,
    describe,
    http_json,
    open_stream,
    promote,
    start_server,
    wait_bot,
    write_notebook,
)
from .conftest import FAST_KDF

PASSWORD = "correct horse battery staple"
SECRET = "tok-" + "Yh7Pq2Lx" * 4

pytestmark = pytest.mark.usefixtures("stop_bots")


@pytest.fixture
def jp_server_config(bots_server_config: Config) -> Config:
    return bots_server_config


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def test_unlock_starts_the_bots_that_waited_for_their_connections(
    api, make_vault, watchdog_app, jp_root_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make_vault(PASSWORD)
    vault = watchdog_app.vault
    vault.unlock(PASSWORD)
    vault.add_connection(CreateConnection(name="Desk", kind="generic", fields={"token": SECRET}))
    write_notebook(jp_root_dir / "loop.ipynb", LOOP_FOREVER)
    await promote(
        api,
        notebook="loop.ipynb",
        name="Keys",
        connections=["Desk"],
        password=PASSWORD,
        mode="continuous",
        start=True,
    )
    status = (await wait_bot(api, "Keys", lambda b: b["state"] == "running"))["status"]
    vault.lock()
    for pid in (status["pid"], status["kernel_pid"]):  # as if the machine had rebooted
        os.kill(pid, signal.SIGKILL)
    await wait_bot(api, "Keys", lambda b: b["state"] != "running", what="the runner gone")
    waited = await asyncio.wrap_future(watchdog_app.bot_ops.reconcile_soon("a test"))
    assert waited == {"Keys": "waiting-for-unlock"}
    assert (await describe(api, "Keys"))["state"] == "waiting-for-unlock"
    caplog.set_level(logging.INFO)
    vault.unlock(PASSWORD)
    watchdog_app.on_unlock()
    running = await wait_bot(api, "Keys", lambda b: b["state"] == "running", what="restarted")
    assert running["status"]["pid"] != status["pid"]
    assert "reconciled bots after unlock: Keys: restarted" in caplog.text
    assert SECRET not in caplog.text


async def test_a_reconcile_waits_for_bot_operations_and_requests_meanwhile_coalesce(
    api, make_vault, watchdog_app, jp_root_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make_vault(PASSWORD)
    write_notebook(jp_root_dir / "a.ipynb", "print(1)")
    await promote(api, notebook="a.ipynb", name="Held")
    ops = watchdog_app.bot_ops
    entered, release = threading.Event(), threading.Event()

    def hold(manager: Any, bot_id: str) -> None:
        entered.set()
        release.wait(20)

    caplog.set_level(logging.INFO)
    held = asyncio.ensure_future(ops.on_bot("Held", hold))
    while not entered.is_set():
        await asyncio.sleep(0.01)
    first = ops.reconcile_soon("first")
    # Started (no longer queued): from here it waits for the operation on "Held".
    deadline = time.monotonic() + 20
    while ops._reconcile_queued is not None and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert ops._reconcile_queued is None, "the first reconcile never started"
    assert not first.done()
    second, third = ops.reconcile_soon("second"), ops.reconcile_soon("third")
    assert second is third and second is not first
    release.set()
    await held
    assert await asyncio.wrap_future(first) == {}
    assert await asyncio.wrap_future(second) == {}
    assert caplog.text.count("reconciled bots after") == 2
    assert "after third" not in caplog.text


async def test_two_simultaneous_starts_of_one_bot_start_one_runner(
    api, make_vault, jp_root_dir: Path
) -> None:
    make_vault(PASSWORD)
    write_notebook(jp_root_dir / "loop.ipynb", LOOP_FOREVER)
    bot = await promote(api, notebook="loop.ipynb", name="Once Only", mode="continuous")
    one, two = await asyncio.gather(
        api.post(bot_path("Once Only", "start")), api.post(bot_path("Once Only", "start"))
    )
    assert one.code == two.code == 200
    assert one.json["status"]["pid"] == two.json["status"]["pid"]
    runners = [
        p
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and _cmdline(p).count(bot["id"]) and "runner" in _cmdline(p)
    ]
    assert len(runners) == 1


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


# ------------------------------------------------------------------ the acceptance test


def _bot(server: ServerProcess, name: str) -> dict[str, Any]:
    code, body = http_json(server, "GET", bot_path(name))
    assert code == 200, body
    return body


def _promote_and_start(server: ServerProcess, name: str) -> dict[str, Any]:
    request = {"notebook": "loop.ipynb", "name": name, "mode": "continuous", "start": True}
    code, job = http_json(server, "POST", "bots", request)
    assert code == 202, job

    def finished() -> dict[str, Any] | None:
        _, current = http_json(server, "GET", f"bots/jobs/{job['id']}")
        return current if current["state"] != "running" else None

    final = wait_for(finished, 120, f"promote of {name}")
    assert final["state"] == "done", final["error"]
    return wait_for(lambda: (b := _bot(server, name))["state"] == "running" and b, 60, name)


async def _new_ticks(server: ServerProcess, name: str, after: int, since: float) -> list[int]:
    """Stream the bot's log from ``after``; the tick numbers of records written after ``since``
    (a few of them), checking sequence numbers never go back."""
    stream = await open_stream(
        server.api_url(bot_path(name, "logs", "stream")) + f"?after={after}", server.headers
    )
    try:
        assert stream.status == 200
        ticks: list[int] = []
        last = after
        while len(ticks) < 5:
            event = await stream.next_event(timeout=30)
            record = event.json()
            assert int(event.id) == record["seq"] > last
            last = record["seq"]
            if record["stream"] == "stdout" and record["ts"] > since:
                ticks.extend(int(line.split()[1]) for line in record["text"].splitlines())
        return ticks
    finally:
        await stream.close()


async def test_bots_keep_running_across_a_server_restart_are_adopted_and_keep_streaming(
    tmp_path: Path, watchdog_home: Path, bot_uv_cache: Path
) -> None:
    with Vault(watchdog_home, kdf=FAST_KDF) as vault:
        vault.create(PASSWORD)
    notebooks = tmp_path / "notebooks"
    write_notebook(notebooks / "loop.ipynb", LOOP_FOREVER)
    names = ("North", "South")

    first = start_server(tmp_path / "one", watchdog_home, notebooks, uv_cache=bot_uv_cache)
    try:
        before = {name: _promote_and_start(first, name)["status"] for name in names}
        last_seq: dict[str, int] = {}
        for name in names:
            _, page = http_json(first, "GET", bot_path(name, "logs") + "?tail=1")
            last_seq[name] = page["next_after"]
    finally:
        exit_code = first.terminate()
    assert exit_code == 0, first.log()[-3000:]
    for name in names:
        assert alive(before[name]["pid"]) and alive(before[name]["kernel_pid"]), name

    restarted_at = time.time()
    second = start_server(tmp_path / "two", watchdog_home, notebooks, uv_cache=bot_uv_cache)
    try:
        wait_for(lambda: "reconciled bots after server start" in second.log(), 60, "reconcile")
        assert "North: adopted, South: adopted" in second.log()
        _, listing = http_json(second, "GET", "bots")
        now = {bot["name"]: bot for bot in listing["bots"]}
        for name in names:
            assert now[name]["state"] == "running"
            assert now[name]["status"]["pid"] == before[name]["pid"]
            assert now[name]["status"]["kernel_pid"] == before[name]["kernel_pid"]
        for name in names:
            ticks = await _new_ticks(second, name, last_seq[name], restarted_at)
            assert ticks == list(range(ticks[0], ticks[0] + len(ticks))), (name, ticks)
    finally:
        assert second.terminate() == 0
