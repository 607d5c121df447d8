"""Promote and run real bots: uv venvs, kernels, detached runners, restarts, stops."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from watchdog_lab.bots.errors import PackagesRefused
from watchdog_lab.bots.kernelspec import kernelspec_dir, names_bot_provisioner
from watchdog_lab.bots.layout import BotPaths
from watchdog_lab.bots.models import BotMode, BotState, PromoteBot
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.vault import CreateConnection, Vault

from ..support import rsa_pem
from .conftest import kill, process_exists, wait_for, wait_state, write_notebook


def test_promote_builds_an_own_venv_and_runs_the_notebook_in_it(
    manager: BotManager, vault: Vault, tmp_path: Path
) -> None:
    nb = write_notebook(
        tmp_path / "strategy.ipynb",
        "import sys, iniconfig\nprint('prefix', sys.prefix)\nprint('dep', iniconfig.__name__)",
    )
    steps: list[str] = []
    bot = manager.promote(PromoteBot(notebook=str(nb), name="Dep Bot", start=True), steps.append)
    assert "checking dependencies" in steps and "writing kernelspec" in steps
    wait_state(manager, "Dep Bot", BotState.STOPPED)
    paths = BotPaths(vault.home, bot.id)
    texts = [r.text for r in manager.logs("Dep Bot")]
    assert any(t.startswith("installed new package iniconfig==") for t in texts)
    stdout = "".join(r.text for r in manager.logs("Dep Bot") if r.stream == "stdout")
    assert stdout == f"prefix {paths.venv}\ndep iniconfig\n"
    assert manager.describe("Dep Bot").status.reason == "finished"
    events = [e for e in vault.audit_log() if e.event == "bot.package_installed"]
    assert events and events[0].detail["package"] == "iniconfig"  # type: ignore[index]
    assert list(paths.runs.glob("*.ipynb")), "the executed notebook is kept"
    for folder in (paths.root, paths.state, paths.logs, paths.runs, paths.notebooks):
        assert folder.stat().st_mode & 0o777 == 0o700


def test_refused_packages_stop_promote_before_anything_is_installed(
    manager: BotManager, vault: Vault, tmp_path: Path
) -> None:
    nb = write_notebook(
        tmp_path / "bad.ipynb",
        "%pip install reqeusts\n%pip install https://evil.example/x.whl\nimport pip",
    )
    with pytest.raises(PackagesRefused) as info:
        manager.promote(PromoteBot(notebook=str(nb), name="Bad"))
    message = str(info.value)
    assert "reqeusts" in message and "did you mean 'requests'" in message
    assert "pip" in message and "evil.example" in message
    assert manager.list() == []
    assert not (vault.home / "bots").exists() or not any((vault.home / "bots").iterdir())


def test_a_bot_that_leaks_its_secret_every_way_leaves_no_trace_on_disk(
    manager: BotManager, vault: Vault, tmp_path: Path
) -> None:
    pem = rsa_pem()
    key_id = "a95b1c2d-7e3f-4a11-9c2b-3d4e5f6a7b8c"
    vault.add_connection(
        CreateConnection(
            name="Kalshi",
            kind="kalshi",
            fields={"api_key_id": key_id, "private_key_pem": pem, "environment": "demo"},
        )
    )
    nb = write_notebook(
        tmp_path / "leaky.ipynb",
        textwrap.dedent(
            """
            import base64, sys, logging
            import watchdog_lab as wd
            c = wd.connection("Kalshi")
            print(c.private_key_pem, c.api_key_id)
            print(repr(c), c)
            print(base64.b64encode(c.private_key_pem.encode()).decode(), file=sys.stderr)
            wd.log.info("key %s", c.private_key_pem)
            logging.getLogger().error("root %s", c.api_key_id)
            c.api_key_id
            """
        ),
        "raise RuntimeError(wd.connection('Kalshi').private_key_pem)",
    )
    manager.promote(PromoteBot(notebook=str(nb), name="Leaky", connections=["Kalshi"], start=True))
    wait_for(lambda: manager.describe("Leaky").status.restarts >= 1, 90, "a failed run")
    manager.stop("Leaky")
    body = "".join(pem.strip().splitlines()[1:-1])
    needles = [key_id, body[:60], base64.b64encode(pem.encode()).decode()[:60]]
    needles += [line for line in pem.strip().splitlines()[1:-1] if len(line) >= 16]
    texts = [r.text for r in manager.logs("Leaky")]
    assert any("[REDACTED:Kalshi.private_key_pem]" in t for t in texts)
    assert any("[REDACTED:Kalshi.api_key_id]" in t for t in texts)
    for path in vault.home.rglob("*"):
        if not path.is_file() or path.name.startswith("vault.db") or "venv" in path.parts:
            continue
        data = path.read_bytes()
        for needle in needles:
            assert needle.encode() not in data, f"{needle[:12]}... found in {path}"
    raw = b"".join(p.read_bytes() for p in vault.home.glob("vault.db*"))
    for needle in needles:
        assert needle.encode() not in raw
    error = manager.describe("Leaky").status.last_error
    assert error is not None and error.ename == "RuntimeError"
    assert "[REDACTED:Kalshi.private_key_pem]" in error.evalue


def test_killed_kernel_is_restarted_and_no_log_line_is_lost_or_repeated(
    manager: BotManager, tmp_path: Path
) -> None:
    nb = write_notebook(
        tmp_path / "loop.ipynb",
        "import itertools, time\nfor i in itertools.count():\n    print('tick', i, flush=True)\n"
        "    time.sleep(0.02)",
    )
    manager.promote(PromoteBot(notebook=str(nb), name="Loop", mode=BotMode.CONTINUOUS, start=True))
    for round_ in range(4):  # the fixture allows 4 failures: the 4th is a crash loop

        def running(expected: int = round_) -> object:
            s = manager.describe("Loop").status
            return s.state is BotState.RUNNING and s.kernel_pid and s.restarts == expected and s

        status = wait_for(running, 60, f"kernel of round {round_}")
        time.sleep(0.5)
        kill(status.kernel_pid)  # type: ignore[union-attr]
    wait_state(manager, "Loop", BotState.CRASHED, timeout=60)
    described = manager.describe("Loop")
    assert described.status.restarts == 3 and "crash loop" in (described.status.reason or "")
    seqs = [r.seq for r in manager.logs("Loop")]
    assert seqs == list(range(1, len(seqs) + 1))
    restarting = [r.text for r in manager.logs("Loop") if "restarting in" in r.text]
    assert len(restarting) == 3
    assert [t.split("restarting in ")[1] for t in restarting] == ["0.2s", "0.4s", "0.8s"]


def test_the_runner_outlives_the_process_that_started_it_and_stop_leaves_nothing(
    manager: BotManager, vault: Vault, tmp_path: Path
) -> None:
    nb = write_notebook(tmp_path / "forever.ipynb", "import time\nwhile True:\n    time.sleep(0.1)")
    bot = manager.promote(PromoteBot(notebook=str(nb), name="Forever", mode=BotMode.CONTINUOUS))
    script = textwrap.dedent(
        f"""
        from watchdog_lab.vault import Vault, KdfParams
        from watchdog_lab.bots.supervisor import BotManager
        v = Vault({str(vault.home)!r}, kdf=KdfParams(1, 8192, 1))
        BotManager(v).start("Forever")
        """
    )
    starter = subprocess.run([sys.executable, "-c", script], timeout=60)
    assert starter.returncode == 0
    wait_state(manager, "Forever", BotState.RUNNING)
    status = manager.describe("Forever").status
    assert process_exists(status.pid) and process_exists(status.kernel_pid)  # type: ignore[arg-type]
    manager.stop("Forever")
    assert manager.describe("Forever").state is BotState.STOPPED
    assert not process_exists(status.pid)  # type: ignore[arg-type]
    assert not process_exists(status.kernel_pid)  # type: ignore[arg-type]
    leftovers = subprocess.run(
        ["pgrep", "-f", bot.id], capture_output=True, text=True
    ).stdout.split()
    assert leftovers == []


def test_reconcile_adopts_live_runners_restarts_dead_ones_and_waits_for_unlock(
    manager: BotManager, vault: Vault, tmp_path: Path
) -> None:
    from .conftest import PASSWORD

    vault.add_connection(CreateConnection(name="Ex", kind="generic", fields={"t": "x" * 20}))
    nb = write_notebook(tmp_path / "spin.ipynb", "import time\nwhile True:\n    time.sleep(0.1)")
    for name, grants in (("Alive", []), ("Dead", []), ("Needs", ["Ex"])):
        manager.promote(
            PromoteBot(
                notebook=str(nb), name=name, connections=grants, mode=BotMode.CONTINUOUS, start=True
            )
        )
    for name in ("Alive", "Dead", "Needs"):
        wait_state(manager, name, BotState.RUNNING)
    alive_pid = manager.describe("Alive").status.pid
    for name in ("Dead", "Needs"):  # as if the machine had rebooted under them
        status = manager.describe(name).status
        kill(status.pid)  # type: ignore[arg-type]
        kill(status.kernel_pid)  # type: ignore[arg-type]
        wait_for(lambda n=name: manager.describe(n).state is BotState.CRASHED, 30)
    vault.lock()
    assert manager.reconcile() == {
        "Alive": "adopted",
        "Dead": "restarted",
        "Needs": "waiting-for-unlock",
    }
    assert manager.describe("Alive").status.pid == alive_pid
    wait_state(manager, "Dead", BotState.RUNNING)
    assert manager.describe("Needs").state is BotState.WAITING_FOR_UNLOCK
    vault.unlock(PASSWORD)
    assert manager.reconcile()["Needs"] == "restarted"
    wait_state(manager, "Needs", BotState.RUNNING)


def test_a_second_runner_for_the_same_bot_refuses_to_start(
    manager: BotManager, tmp_path: Path
) -> None:
    from watchdog_lab.bots.errors import BotStartFailed

    nb = write_notebook(tmp_path / "spin.ipynb", "import time\nwhile True:\n    time.sleep(0.1)")
    manager.promote(PromoteBot(notebook=str(nb), name="Solo", mode=BotMode.CONTINUOUS, start=True))
    wait_state(manager, "Solo", BotState.RUNNING)
    first = manager.describe("Solo").status.pid
    record = manager.registry.get("Solo")
    with pytest.raises(BotStartFailed, match="another runner already runs this bot"):
        manager.spawn(record, [])  # as a second supervisor (CLI beside a server) would
    assert manager.describe("Solo").status.pid == first
    assert manager.describe("Solo").state is BotState.RUNNING


def test_granted_secrets_reach_the_kernel_environment_only_never_argv_or_the_runner_env(
    manager: BotManager, vault: Vault, tmp_path: Path
) -> None:
    secret = "sk-live-RunnerPipeOnly-0123456789abcdef"
    vault.add_connection(CreateConnection(name="Ex", kind="generic", fields={"token": secret}))
    nb = write_notebook(
        tmp_path / "hold.ipynb",
        "import time, watchdog_lab as wd\nwd.connection('Ex')\nwhile True:\n    time.sleep(0.1)",
    )
    manager.promote(
        PromoteBot(
            notebook=str(nb),
            name="Holder",
            connections=["Ex"],
            mode=BotMode.CONTINUOUS,
            start=True,
        )
    )
    wait_state(manager, "Holder", BotState.RUNNING)
    status = manager.describe("Holder").status

    def proc(pid: int | None, name: str) -> bytes:
        return Path(f"/proc/{pid}/{name}").read_bytes()

    assert secret.encode() not in proc(status.pid, "cmdline")
    assert secret.encode() not in proc(status.pid, "environ")  # handed over on stdin
    assert secret.encode() not in proc(status.kernel_pid, "cmdline")
    # The kernel gets them on an inherited pipe: its environment names the descriptor only...
    from watchdog_lab.sdk.injection import FD_ENV_VAR

    kernel_env = proc(status.kernel_pid, "environ")
    assert FD_ENV_VAR.encode() in kernel_env and secret.encode() not in kernel_env
    # ...and nowhere in the environment of the process that started the bot.
    assert all(secret not in value for value in os.environ.values())


def test_reconcile_gives_a_spec_written_before_the_bot_provisioner_the_bot_sandbox(
    manager: BotManager, vault: Vault, tmp_path: Path
) -> None:
    nb = write_notebook(tmp_path / "plain.ipynb", "print(1)")
    bot = manager.promote(PromoteBot(notebook=str(nb), name="Old spec"))
    spec_file = kernelspec_dir(vault.home, bot.id) / "kernel.json"
    original = json.loads(spec_file.read_text())
    old = json.loads(spec_file.read_text())
    del old["metadata"]["kernel_provisioner"]  # as an older version wrote it
    spec_file.write_text(json.dumps(old))
    assert not names_bot_provisioner(spec_file.parent)
    manager.reconcile()
    assert json.loads(spec_file.read_text()) == original
