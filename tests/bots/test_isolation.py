"""Acceptance: two real bots, promoted and run through BotManager. Bot A's notebook goes after
bot B (its state, its kernel's environment, its processes), the vault, and its own venv, and
gets nothing; B's secret never shows up in A's log."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from watchdog_lab.bots.layout import BotPaths
from watchdog_lab.bots.limits import default_data_limit
from watchdog_lab.bots.models import BotMode, BotState, PromoteBot, RestartPolicy
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.vault import CreateConnection, Vault

from .conftest import wait_for, wait_state, write_notebook
from .sandboxing import bot_outcomes, bubblewrap_or_skip, landlock_abi_or_skip

B_SECRET = "b-api-secret-7f3c9e1d5a2b4c6e8f0a1b3c5d7e9f11"
B_STATE_MARKER = "B-STATE-MARKER-5c1e"
NOFILE = 777


def _manager(vault: Vault, uv_cache: Path, **kw: object) -> Iterator[BotManager]:
    manager = BotManager(
        vault,
        uv_cache=uv_cache,
        rlimits={"nofile": NOFILE},
        restart=RestartPolicy(backoff_initial=0.2, backoff_max=1.0, max_failures=2),
        **kw,  # type: ignore[arg-type]
    )
    yield manager
    for bot in manager.list():
        manager.stop(bot.id, timeout=10)


@pytest.fixture
def confined_manager(vault: Vault, uv_cache: Path) -> Iterator[BotManager]:
    landlock_abi_or_skip()
    yield from _manager(vault, uv_cache)


def _parameterised_notebook(path: Path, parameters: str, body: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    cell = nbformat.v4.new_code_cell(parameters)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(textwrap.dedent(body))]
    nbformat.write(nb, str(path))
    return path


ATTACKER = """
import os, resource, sys

def attempt(label, action):
    try:
        result = action()
    except Exception as exc:
        print(f"{label}: {type(exc).__name__}", flush=True)
    else:
        print(f"{label}: allowed {result!r}", flush=True)

attempt("b_state", lambda: open(b_state_file).read())
attempt("b_environ", lambda: open(f"/proc/{b_kernel_pid}/environ").read())
attempt("vault", lambda: open(vault_file, "rb").read())
attempt("own_venv", lambda: open(os.path.join(sys.prefix, "pyvenv.cfg"), "a").write("tampered"))
attempt("signal_b_kernel", lambda: os.kill(b_kernel_pid, 0))
attempt("signal_b_runner", lambda: os.kill(b_runner_pid, 0))
attempt("own_state", lambda: open("mine.txt", "w").write("ok"))
print("nofile:", resource.getrlimit(resource.RLIMIT_NOFILE)[0], flush=True)
print("data:", resource.getrlimit(resource.RLIMIT_DATA)[0], flush=True)
"""


def test_a_bot_reaches_nothing_of_another_bot_nor_the_vault_nor_its_own_venv(
    confined_manager: BotManager, vault: Vault, tmp_path: Path
) -> None:
    manager = confined_manager
    vault.add_connection(
        CreateConnection(name="Exchange B", kind="generic", fields={"api_secret": B_SECRET})
    )
    victim = write_notebook(
        tmp_path / "b.ipynb",
        "import time, watchdog_lab as wd\nkey = wd.connection('Exchange B')\n"
        f"open('positions.json', 'w').write({B_STATE_MARKER!r})\n"
        "while True:\n    time.sleep(0.2)",
    )
    b = manager.promote(
        PromoteBot(
            notebook=str(victim),
            name="B",
            connections=["Exchange B"],
            mode=BotMode.CONTINUOUS,
            start=True,
        )
    )
    b_state_file = BotPaths(vault.home, b.id).state / "positions.json"
    wait_for(b_state_file.exists, 60, "B's state file")
    b_status = manager.describe("B").status
    assert b_status.state is BotState.RUNNING and b_status.kernel_pid and b_status.pid
    vault_file = vault.home / "vault.db"
    assert vault_file.exists()

    attacker = _parameterised_notebook(
        tmp_path / "a.ipynb",
        "b_state_file = ''\nb_kernel_pid = 0\nb_runner_pid = 0\nvault_file = ''",
        ATTACKER,
    )
    a = manager.promote(
        PromoteBot(
            notebook=str(attacker),
            name="A",
            parameters={
                "b_state_file": str(b_state_file),
                "b_kernel_pid": b_status.kernel_pid,
                "b_runner_pid": b_status.pid,
                "vault_file": str(vault_file),
            },
            start=True,
        )
    )
    wait_state(manager, "A", BotState.STOPPED, BotState.CRASHED)
    level = manager.describe("A").status.sandbox or ""
    assert level.startswith("landlock (ABI ")
    # In the private mount view another bot's folder and the vault do not even exist.
    hidden = "FileNotFoundError" if "private mounts" in level else "PermissionError"
    outcome = bot_outcomes(manager, "A")
    assert outcome["b_state"] == hidden
    assert outcome["vault"] == hidden
    # Landlock keeps A from tracing B; a private /proc does not even list B.
    unlisted = "FileNotFoundError" if "private /proc" in level else "PermissionError"
    assert outcome["b_environ"] == unlisted
    # A read-only mount in the private view (EROFS) answers before Landlock (EACCES).
    assert outcome["own_venv"] == ("OSError" if "private mounts" in level else "PermissionError")
    assert outcome["own_state"] == "allowed 2", "the positive control: A runs and writes state"
    assert outcome["nofile"] == str(NOFILE)
    # A runaway allocation fails in the bot, not in the machine's OOM killer.
    assert outcome["data"] == str(default_data_limit())
    # In its own PID namespace, A cannot even name B's processes; else Landlock (ABI 6) scopes
    # A's signals to its own domain.
    contained = (manager.describe("A").status.containment or "").startswith("pid namespace")
    if contained:
        assert outcome["signal_b_kernel"] == "ProcessLookupError"
        assert outcome["signal_b_runner"] == "ProcessLookupError"
    elif int(level.split("ABI ")[1].split(")")[0]) >= 6:
        assert outcome["signal_b_kernel"] == "PermissionError"
        assert outcome["signal_b_runner"] == "PermissionError"
    assert manager.describe("B").state is BotState.RUNNING, "B is still alive and untouched"
    assert "tampered" not in (BotPaths(vault.home, a.id).venv / "pyvenv.cfg").read_text()
    a_log = "\n".join(r.text for r in manager.logs("A"))
    a_log += BotPaths(vault.home, a.id).runner_log.read_text(errors="replace")
    for needle in (B_SECRET, B_STATE_MARKER, "WATCHDOG_LAB_CONNECTIONS"):
        assert needle not in a_log


@pytest.fixture
def bubblewrap_manager(vault: Vault, uv_cache: Path) -> Iterator[BotManager]:
    bubblewrap_or_skip()
    yield from _manager(vault, uv_cache, sandbox_mode="bubblewrap")


def test_a_bot_runs_to_completion_inside_bubblewrap(
    bubblewrap_manager: BotManager, vault: Vault, tmp_path: Path
) -> None:
    nb = write_notebook(
        tmp_path / "wrapped.ipynb",
        "import os\ntry:\n    open(os.environ['WATCHDOG_LAB_BOT_DIR'] + '/../../vault.db')\n"
        "except OSError as exc:\n    print('vault:', type(exc).__name__)\n"
        "open('state.txt', 'w').write('ok')\nprint('done')",
    )
    bot = bubblewrap_manager.promote(PromoteBot(notebook=str(nb), name="Wrapped", start=True))
    wait_state(bubblewrap_manager, "Wrapped", BotState.STOPPED, BotState.CRASHED)
    described = bubblewrap_manager.describe("Wrapped")
    assert described.status.sandbox == "bubblewrap"
    assert described.status.reason == "finished"
    stdout = "".join(r.text for r in bubblewrap_manager.logs("Wrapped") if r.stream == "stdout")
    assert stdout == "vault: FileNotFoundError\ndone\n"
    assert (BotPaths(vault.home, bot.id).state / "state.txt").read_text() == "ok"


def test_a_bot_whose_sandbox_setting_cannot_be_met_never_runs(
    vault: Vault, uv_cache: Path, tmp_path: Path
) -> None:
    nb = write_notebook(tmp_path / "never.ipynb", "open('ran.txt', 'w').write('ran')")
    for manager in _manager(vault, uv_cache, sandbox_mode="strict"):
        bot = manager.promote(PromoteBot(notebook=str(nb), name="Never", start=True))
        wait_state(manager, "Never", BotState.CRASHED, BotState.STOPPED)
        status = manager.describe("Never").status
        assert status.state is BotState.CRASHED
        assert "unknown sandbox mode 'strict'" in (status.reason or "")
        assert (status.sandbox or "").startswith("refused: ")
        assert not (BotPaths(vault.home, bot.id).state / "ran.txt").exists()


def test_an_unsandboxed_bot_says_so_loudly_in_its_log(
    vault: Vault, uv_cache: Path, tmp_path: Path
) -> None:
    nb = write_notebook(tmp_path / "open.ipynb", "print('ran')")
    for manager in _manager(vault, uv_cache, sandbox_mode="none"):
        manager.promote(PromoteBot(notebook=str(nb), name="Open", start=True))
        wait_state(manager, "Open", BotState.STOPPED, BotState.CRASHED)
        assert manager.describe("Open").status.sandbox == "unsandboxed"
        texts = [r.text for r in manager.logs("Open")]
        warnings = [t for t in texts if t.startswith("WARNING: this bot runs UNSANDBOXED")]
        assert len(warnings) == 1
        assert texts.index(warnings[0]) < texts.index("ran\n"), "warned before it ran"
