"""A bot whose kernel runs on a real Enterprise Gateway: its runner stays here, its connections
travel only over the kernel's channel, and its output comes back redacted.

One continuous bot serves the module (a gateway and a bot venv cost seconds); the tests read
what it left, in order, the kernel kill and the stop last.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from watchdog_lab.bots.gateway import GatewaySettings
from watchdog_lab.bots.models import BotMode, BotState, PromoteBot, RestartPolicy
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.vault import CreateConnection, KdfParams, RateLimitPolicy, Vault

from ..support import wait_for, write_notebook
from .conftest import KERNEL_NAME, RunningGateway

PASSWORD = "gateway test password"
BOT = "Remote"
SECRET = "sk-live-OnlyOverTheChannel-0123456789abcdef"
MARKER = re.compile(r"ON-GATEWAY pid=(\d+) kernel=([0-9a-f-]+)")

FIRST = """
import os
import watchdog_lab as wd
c = wd.connection("Ex")
print(f"ON-GATEWAY pid={os.getpid()} kernel={os.environ.get('KERNEL_ID')}", flush=True)
print("wd.bot:", wd.bot.name if wd.bot else None, flush=True)
print("raw secret:", c["key"], flush=True)
os.write(1, ("fd secret: " + c["key"] + "\\n").encode())
"""
LOOP = """
import time
while True:
    time.sleep(0.2)
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gwhome") / "h"


@pytest.fixture(scope="module")
def manager(gateway: RunningGateway, home: Path) -> Iterator[BotManager]:
    vault = Vault(home, kdf=KdfParams(1, 8192, 1), rate_limit=RateLimitPolicy(free_attempts=99))
    vault.create(PASSWORD)
    vault.add_connection(
        CreateConnection(
            name="gateway",
            kind="gateway",
            fields={"token": gateway.token, "ca_pem": gateway.ca_pem},
        )
    )
    vault.add_connection(CreateConnection(name="Ex", kind="generic", fields={"key": SECRET}))
    manager = BotManager(
        vault,
        uv_cache=home.parent / "uv-cache",
        restart=RestartPolicy(backoff_initial=0.2, backoff_max=1.0, max_failures=4),
        gateway=GatewaySettings(gateway.url, "gateway", KERNEL_NAME),
    )
    yield manager
    for bot in manager.list():
        manager.stop(bot.id, timeout=15)
    vault.close()


@pytest.fixture(scope="module")
def bot(manager: BotManager, home: Path) -> str:
    notebook = write_notebook(home.parent / "remote.ipynb", FIRST, LOOP)
    manager.promote(
        PromoteBot(
            notebook=str(notebook),
            name=BOT,
            connections=["Ex"],
            mode=BotMode.CONTINUOUS,
            start=True,
        )
    )
    wait_for(lambda: _markers(manager), 120, "the bot's first cell on the gateway")
    return BOT


def _log(manager: BotManager) -> str:
    return _log_of(manager, BOT)


def _log_of(manager: BotManager, name: str) -> str:
    return "\n".join(record.text for record in manager.logs(name))


def _markers(manager: BotManager) -> list[tuple[int, str]]:
    return [(int(pid), kernel) for pid, kernel in MARKER.findall(_log(manager))]


def _proc(pid: int, name: str) -> bytes:
    return Path(f"/proc/{pid}/{name}").read_bytes()


def _parent(pid: int) -> int:
    return int(_proc(pid, "stat").decode().rsplit(")", 1)[1].split()[1])


def test_bot_output_streams_back_from_the_gateway_redacted_in_bots_logs(
    bot: str, home: Path
) -> None:
    cli = subprocess.run(
        [sys.executable, "-m", "watchdog_lab.cli", "bots", "logs", bot, "-n", "1000"],
        capture_output=True,
        text=True,
        env={"WATCHDOG_LAB_HOME": str(home), "PATH": "/usr/bin:/bin"},
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
    assert cli.returncode == 0, cli.stderr
    assert "ON-GATEWAY pid=" in cli.stdout
    assert f"wd.bot: {bot}" in cli.stdout  # the kernel knows which bot it runs
    # print() and a write to descriptor 1 both came back, each redacted.
    assert "raw secret: [REDACTED:Ex.key]" in cli.stdout
    assert "fd secret: [REDACTED:Ex.key]" in cli.stdout
    assert SECRET not in cli.stdout + cli.stderr


def test_kernel_runs_as_a_child_of_the_gateway(
    bot: str, manager: BotManager, gateway: RunningGateway
) -> None:
    pid, kernel_id = _markers(manager)[0]
    assert _parent(pid) == gateway.pid
    assert any(k["id"] == kernel_id for k in gateway.kernels())
    assert manager.describe(bot).status.sandbox == "by the gateway"


def test_gateway_token_is_in_neither_the_gateway_process_environ_nor_argv(
    bot: str, manager: BotManager, gateway: RunningGateway
) -> None:
    token = gateway.token.encode()
    assert token not in _proc(gateway.pid, "environ")
    assert token not in _proc(gateway.pid, "cmdline")
    pid, _ = _markers(manager)[0]  # nor in its kernel's, which bot code can read
    assert token not in _proc(pid, "environ")
    assert token not in _proc(pid, "cmdline")


def test_granted_secret_is_in_neither_the_kernel_environ_argv_nor_ipython_history(
    bot: str, manager: BotManager, gateway: RunningGateway
) -> None:
    pid, _ = _markers(manager)[0]
    environ = _proc(pid, "environ")
    assert b"KERNEL_WATCHDOG_LAB_BOT_NAME=" + BOT.encode() in environ  # what the gateway sent
    assert SECRET.encode() not in environ
    assert SECRET.encode() not in _proc(pid, "cmdline")
    history = gateway.ipython_dir / "profile_default" / "history.sqlite"
    with sqlite3.connect(history) as db:
        sources = "\n".join(row[0] for row in db.execute("SELECT source FROM history"))
    assert "ON-GATEWAY" in sources  # history is on: the notebook's cells are in it
    assert SECRET not in sources
    assert SECRET.encode() not in history.read_bytes()


def test_neither_secret_nor_token_reaches_the_gateway_log(
    bot: str, gateway: RunningGateway
) -> None:
    log = gateway.log_text()
    assert "Kernel args: {'env': {'KERNEL_WATCHDOG_LAB_BOT_ID'" in log  # it logs what it got
    assert "/channels" in log  # and every request
    assert SECRET not in log
    assert gateway.token not in log


def test_neither_secret_nor_token_reaches_the_runner_log(
    bot: str, manager: BotManager, gateway: RunningGateway
) -> None:
    paths = manager.paths(bot)
    for text in (paths.runner_log.read_text(), paths.log_file.read_text()):
        assert SECRET not in text
        assert gateway.token not in text
    assert "kernels run on the gateway" in paths.log_file.read_text()


def test_killed_kernel_is_replaced_on_the_gateway_and_handed_its_connections_again(
    bot: str, manager: BotManager, gateway: RunningGateway
) -> None:
    first_pid, first_kernel = _markers(manager)[0]
    os.kill(first_pid, signal.SIGKILL)
    second = wait_for(
        lambda: [m for m in _markers(manager) if m[0] != first_pid], 120, "a second kernel"
    )
    assert isinstance(second, list)
    pid, kernel_id = second[0]
    assert kernel_id != first_kernel
    assert _parent(pid) == gateway.pid
    log = _log(manager)
    assert "kernel died" in log
    assert log.count("raw secret: [REDACTED:Ex.key]") >= 2  # wd.connection worked again
    # The killed kernel's id is gone from the gateway: the runner deleted it.
    wait_for(lambda: first_kernel not in {k["id"] for k in gateway.kernels()}, 30, "the old kernel")


def test_kernel_a_killed_runner_left_on_the_gateway_is_deleted_by_the_next_runner(
    bot: str, manager: BotManager, gateway: RunningGateway
) -> None:
    orphan = _markers(manager)[-1]
    runner_pid = manager.describe(bot).status.pid
    assert runner_pid
    os.kill(runner_pid, signal.SIGKILL)  # no chance to delete its kernel
    wait_for(lambda: manager.describe(bot).state is BotState.CRASHED, 30, "the runner gone")
    assert orphan[1] in {k["id"] for k in gateway.kernels()}  # still there, still running
    manager.start(bot)
    wait_for(lambda: orphan[1] not in {k["id"] for k in gateway.kernels()}, 60, "the orphan")
    wait_for(lambda: _markers(manager)[-1] != orphan, 120, "the next runner's kernel")
    assert f"deleted kernel {orphan[1]}" in _log(manager)


def test_stopped_bot_leaves_no_kernel_on_the_gateway(
    bot: str, manager: BotManager, gateway: RunningGateway
) -> None:
    manager.stop(bot, timeout=15)
    assert manager.describe(bot).state is BotState.STOPPED
    wait_for(lambda: gateway.kernels() == [], 30, "no kernel left on the gateway")


def test_bot_without_connections_waits_for_unlock_since_its_runner_needs_the_token(
    manager: BotManager, home: Path
) -> None:
    notebook = write_notebook(home.parent / "plain.ipynb", "print('plain run')")
    described = manager.promote(PromoteBot(notebook=str(notebook), name="Plain"))
    manager.registry.set_desired(described.id, "running")
    manager.vault.lock()
    try:
        assert manager.reconcile()["Plain"] == BotState.WAITING_FOR_UNLOCK.value
        assert "gateway's token" in (manager.describe("Plain").status.reason or "")
    finally:
        manager.vault.unlock(PASSWORD)
    assert manager.reconcile()["Plain"] == "restarted"
    wait_for(lambda: "plain run" in _log_of(manager, "Plain"), 120, "the run on the gateway")


def test_cli_start_of_a_bot_without_connections_asks_for_the_password_the_token_needs(
    manager: BotManager, gateway: RunningGateway, home: Path
) -> None:
    config = home.parent / "jupyter-config"
    config.mkdir(exist_ok=True)
    (config / "jupyter_watchdog_lab_config.py").write_text(
        f"c.WatchdogLab.gateway_url = {gateway.url!r}\n"
        f"c.WatchdogLab.gateway_kernel_name = {KERNEL_NAME!r}\n"
    )
    runs = _log_of(manager, "Plain").count("plain run")
    cli = subprocess.run(
        [sys.executable, "-m", "watchdog_lab.cli", "bots", "start", "Plain"],
        capture_output=True,
        text=True,
        env={
            "WATCHDOG_LAB_HOME": str(home),
            "WATCHDOG_LAB_PASSWORD": PASSWORD,
            "JUPYTER_CONFIG_DIR": str(config),
            "PATH": "/usr/bin:/bin",
        },
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    assert cli.returncode == 0, cli.stderr
    wait_for(
        lambda: _log_of(manager, "Plain").count("plain run") > runs, 120, "a run on the gateway"
    )
