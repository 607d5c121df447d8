"""Every process of a bot ends with the bot: its kernel's PID namespace, its task cap, signals
through the wrapper, and the containment shown to the user. Real wrappers, real bots."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from watchdog_lab.bots import confine
from watchdog_lab.bots.confine import (
    Containment,
    Level,
    build_plan,
    choose_level,
    describe_containment,
    pid_namespace_support,
)
from watchdog_lab.bots.containment import end_session
from watchdog_lab.bots.models import BotConfig, BotMode, BotState, PromoteBot
from watchdog_lab.bots.sandbox_plan import SandboxPlan, wrapper_command
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.doctor import gather

from ..support import skip_or_fail
from .conftest import wait_for, wait_state, write_notebook
from .sandboxing import BotTree, bubblewrap_or_skip, make_bot_tree

DAEMON_SECONDS = 600


def pid_namespace_or_skip() -> None:
    if not pid_namespace_support()[0]:
        skip_or_fail(
            "PID namespaces are not available here (neither root nor user namespaces)",
            "WATCHDOG_LAB_PIDNS_OPTIONAL",
        )


def marked(marker: str) -> list[int]:
    """Pids of every process on the machine whose command line holds ``marker``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(int(entry))
    return found


@pytest.fixture
def marker() -> Iterator[str]:
    """A unique word for a test's processes; whatever still carries it afterwards is killed,
    so that a failing test leaves nothing behind."""
    word = f"wdl-daemon-{uuid.uuid4().hex}"
    yield word
    for pid in marked(word):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def daemon_code(marker: str) -> str:
    """Python that starts a daemon the classic way: ``setsid`` (a new session), then a fork
    whose parent exits (re-parented, out of every group of the kernel)."""
    child = f"import os, time\nif os.fork():\n    os._exit(0)\ntime.sleep({DAEMON_SECONDS})\n"
    # Spelt in two halves: only the daemon's command line holds the marker, not the code of
    # the kernel (or of whatever started it) that carries this text.
    half = len(marker) // 2
    return (
        "import subprocess, sys\n"
        f"marker = {marker[:half]!r} + {marker[half:]!r}\n"
        f"subprocess.run(['setsid', sys.executable, '-c', {child!r}, marker], check=True,"
        " stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    )


# ------------------------------------------------------------- the wrapper


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotTree]:
    yield from make_bot_tree(tmp_path_factory.mktemp("containment"))


def _plan(tree: BotTree, **limits: int) -> SandboxPlan:
    config = BotConfig(id=tree.paths.bot_id, name="A", kernel_name="k", rlimits=limits)
    return build_plan(tree.paths, config, tree.runtime_dir, choose_level("best"))


def _start(plan: SandboxPlan, tree: BotTree, code: str) -> subprocess.Popen[str]:
    """The kernel ``code`` behind the wrapper, started as jupyter_client starts kernels."""
    return subprocess.Popen(
        [*wrapper_command(plan), tree.python, "-c", code],
        cwd=tree.paths.state,
        env={"PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def test_a_daemon_that_left_the_kernels_session_ends_with_the_kernel(
    tree: BotTree, marker: str
) -> None:
    pid_namespace_or_skip()
    code = daemon_code(marker) + "print('ready', flush=True)\nimport time\ntime.sleep(60)\n"
    proc = _start(_plan(tree), tree, code)
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    assert marked(marker), "the daemon runs"
    proc.terminate()  # what the runner does when a run is over
    proc.wait(10)
    wait_for(lambda: not marked(marker), 5, "the daemon to end with its kernel")


def test_under_bubblewrap_a_daemon_ends_with_the_kernel_too(tree: BotTree, marker: str) -> None:
    bubblewrap_or_skip()
    config = BotConfig(id=tree.paths.bot_id, name="A", kernel_name="k", sandbox="bubblewrap")
    plan = build_plan(tree.paths, config, tree.runtime_dir, Level("bubblewrap"))
    code = daemon_code(marker) + "print('ready', flush=True)\nimport time\ntime.sleep(60)\n"
    proc = _start(plan, tree, code)
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    assert marked(marker), "the daemon runs"
    proc.terminate()
    proc.wait(10)
    wait_for(lambda: not marked(marker), 5, "the daemon to end with bubblewrap's namespace")
    assert describe_containment("bubblewrap").startswith("pid namespace (bubblewrap")


def test_an_interrupt_sent_to_the_kernels_group_reaches_the_kernel_once(tree: BotTree) -> None:
    pid_namespace_or_skip()
    code = textwrap.dedent(
        """
        import os, signal, time
        seen = []
        signal.signal(signal.SIGINT, lambda *_: seen.append(1))
        print('ready', flush=True)
        while not seen:
            time.sleep(0.01)
        time.sleep(0.5)  # a second copy would arrive meanwhile
        print('interrupts', len(seen), flush=True)
        os._exit(3)
        """
    )
    proc = _start(_plan(tree), tree, code)
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    os.killpg(proc.pid, signal.SIGINT)  # jupyter_client's interrupt
    assert proc.stdout.readline() == "interrupts 1\n"
    assert proc.wait(10) == 3, "the wrapper exits with the kernel's own status"


def test_the_kernel_and_its_daemons_end_when_the_process_that_started_them_dies(
    tree: BotTree, marker: str
) -> None:
    pid_namespace_or_skip()
    started = tree.paths.state / f"{marker}.started"
    started.unlink(missing_ok=True)
    kernel = daemon_code(marker) + f"open({started.name!r}, 'w')\nimport time\ntime.sleep(60)\n"
    starter = (
        "import subprocess, sys, time\n"
        f"subprocess.Popen(sys.argv[1:], cwd={str(tree.paths.state)!r}, start_new_session=True)\n"
        "time.sleep(60)\n"
    )
    runner = subprocess.Popen(
        [
            sys.executable,
            "-c",
            starter,
            *wrapper_command(_plan(tree)),
            tree.python,
            "-c",
            kernel,
        ],
        env={"PATH": "/usr/bin:/bin"},
    )
    try:
        wait_for(lambda: started.exists() and marked(marker), 30, "the daemon to start")
    finally:
        runner.kill()  # a runner killed -9: nothing of its kernel may outlive it
        runner.wait()
    wait_for(lambda: not marked(marker), 5, "the kernel's processes to end with their runner")


def test_the_kernel_sees_only_its_own_processes(tree: BotTree) -> None:
    pid_namespace_or_skip()
    plan = _plan(tree)
    if not plan.private_proc:
        pytest.skip("no private /proc here (it needs a private mount view)")
    code = (
        "import os\nprint(os.getpid(), sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))"
    )
    proc = _start(plan, tree, code)
    out, _ = proc.communicate(timeout=30)
    # The namespace's init (pid 1) is not traceable by the kernel, so not listed either.
    assert out.strip() == "2 [2]", "the kernel alone"


def test_the_kernel_cannot_trace_the_namespaces_init(tree: BotTree) -> None:
    """Traced, the init could be made to clear its death signal and keep the namespace (and
    every daemon in it) alive after the wrapper is gone. Its ``environ`` needs the access a
    trace does (without Yama's say, which would refuse an ancestor anyway)."""
    pid_namespace_or_skip()
    code = textwrap.dedent(
        """
        import os
        try:
            open('/proc/1/environ', 'rb').read()
        except OSError as exc:
            print(os.getppid(), type(exc).__name__, flush=True)
        else:
            print(os.getppid(), 'readable', flush=True)
        """
    )
    out, _ = _start(_plan(tree), tree, code).communicate(timeout=30)
    assert out.split()[0] == "1", "the kernel's parent is the namespace's init"
    assert out.split()[1] in ("FileNotFoundError", "PermissionError"), out


def test_a_kernel_cannot_run_more_tasks_than_its_cap(tree: BotTree) -> None:
    pid_namespace_or_skip()
    if not pid_namespace_support()[1]:
        skip_or_fail("no per-namespace pid_max (Linux 6.14)", "WATCHDOG_LAB_PIDNS_OPTIONAL")
    cap = 64
    code = textwrap.dedent(
        """
        import threading, time
        # Linux hands out its 300 low pids once: past them, the cap holds exactly.
        for _ in range(310):
            t = threading.Thread(target=lambda: None)
            t.start()
            t.join()
        done = threading.Event()
        started = 0
        try:
            while started < 1000:
                threading.Thread(target=done.wait, daemon=True).start()
                started += 1
        except RuntimeError:
            pass
        done.set()
        print(started, flush=True)
        """
    )
    proc = _start(_plan(tree, pids=cap), tree, code)
    out, _ = proc.communicate(timeout=60)
    started = int(out.strip())
    # The init and the kernel's own thread count too.
    assert cap - 4 <= started <= cap, f"{started} threads under a cap of {cap} tasks"


# ------------------------------------------------------------ real bots


DAEMON_BOT = "import time\n{daemon}while True:\n    time.sleep(0.2)\n"


def _start_daemon_bot(manager: BotManager, tmp_path: Path, marker: str) -> str:
    nb = write_notebook(tmp_path / "daemon.ipynb", DAEMON_BOT.format(daemon=daemon_code(marker)))
    manager.promote(PromoteBot(notebook=str(nb), name="D", mode=BotMode.CONTINUOUS, start=True))
    wait_state(manager, "D", BotState.RUNNING)
    wait_for(lambda: marked(marker), 60, "the bot's daemon to start")
    return "D"


def test_a_daemon_a_bot_started_does_not_survive_bots_stop(
    manager: BotManager, tmp_path: Path, marker: str
) -> None:
    pid_namespace_or_skip()
    name = _start_daemon_bot(manager, tmp_path, marker)
    manager.stop(name)
    wait_for(lambda: not marked(marker), 5, "no process of the bot after stop")


def test_a_daemon_a_bot_started_does_not_survive_bots_delete(
    manager: BotManager, tmp_path: Path, marker: str
) -> None:
    pid_namespace_or_skip()
    name = _start_daemon_bot(manager, tmp_path, marker)
    manager.delete(name)
    wait_for(lambda: not marked(marker), 5, "no process of the bot after delete")


def test_a_bots_status_shows_its_containment(manager: BotManager, tmp_path: Path) -> None:
    nb = write_notebook(tmp_path / "once.ipynb", "print('hello')")
    manager.promote(PromoteBot(notebook=str(nb), name="C", start=True))
    wait_state(manager, "C", BotState.STOPPED, BotState.CRASHED)
    status = manager.describe("C").status
    assert status.containment == describe_containment("best")
    assert "containment " + status.containment in "\n".join(r.text for r in manager.logs("C"))


# ----------------------------------------------------- what the user sees


def test_the_containment_names_the_namespace_and_its_task_cap() -> None:
    pid_namespace_or_skip()
    expected = "pid namespace (at most 1024 tasks)"
    if not pid_namespace_support()[1]:
        expected = "pid namespace (no task cap: a per-namespace pid_max needs Linux 6.14 or later)"
    assert describe_containment("best") == expected
    assert describe_containment("best", {"pids": -1}).startswith("pid namespace (no task cap")


def test_without_a_pid_namespace_the_weaker_containment_says_what_escapes_it(
    monkeypatch: pytest.MonkeyPatch, tree: BotTree
) -> None:
    monkeypatch.setattr(confine, "pid_namespace_support", lambda: (False, False))
    described = describe_containment("best")
    assert described.startswith("process group only (")
    assert "a process that starts a session of its own outlives the bot" in described
    assert not _plan(tree).pid_namespace, "the plan does not ask for what is not there"


def test_doctor_reports_the_bots_containment_and_warns_when_it_is_weak(tmp_path: Path) -> None:
    assert gather(tmp_path / "h").bot_containment == describe_containment("best")
    weak = Containment("process-group", reason="no PID namespace here")
    report = gather(tmp_path / "h", bot_containment=weak)
    assert report.bot_containment.startswith("process group only (no PID namespace here)")
    assert any(report.bot_containment in warning for warning in report.warnings)


def test_the_session_sweep_ends_what_kept_a_dead_kernels_session_and_nothing_else(
    marker: str,
) -> None:
    """The containment where no PID namespace exists: what stayed in the kernel's session."""
    child = f"import time\ntime.sleep({DAEMON_SECONDS})\n"
    half = len(marker) // 2
    leader_code = (
        "import subprocess, sys\n"
        f"marker = {marker[:half]!r} + {marker[half:]!r}\n"
        f"subprocess.Popen([sys.executable, '-c', {child!r}, marker + '-kept'])\n"
        f"subprocess.Popen(['setsid', sys.executable, '-c', {child!r}, marker + '-left'])\n"
    )
    leader = subprocess.Popen([sys.executable, "-c", leader_code], start_new_session=True)
    leader.wait(10)  # the "kernel" is gone, its children are not
    wait_for(lambda: len(marked(marker)) == 2, 10, "both children")
    assert end_session(leader.pid, None) == 1
    wait_for(lambda: not marked(marker + "-kept"), 5, "the child that kept the session to end")
    assert marked(marker + "-left"), "a process in a session of its own is out of the sweep's reach"
