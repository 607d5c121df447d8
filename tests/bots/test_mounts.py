"""The private mount view: shared folders are empty for the kernel, its own paths are back in
place, and nothing of it leaks to the host's mount table."""

from __future__ import annotations

import os
import socket
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from watchdog_lab.bots.confine import Level, build_plan, private_view_support
from watchdog_lab.bots.models import BotConfig
from watchdog_lab.bots.mounts import outermost
from watchdog_lab.bots.sandbox_plan import SandboxPlan

from ..support import skip_or_fail
from .sandboxing import BotTree, landlock_abi_or_skip, make_bot_tree, run_attempts


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotTree]:
    if not sys.platform.startswith("linux") or not private_view_support()[0]:
        skip_or_fail(
            "mount namespaces are not usable by this user here", "WATCHDOG_LAB_MOUNTS_OPTIONAL"
        )
    yield from make_bot_tree(tmp_path_factory.mktemp("mounts"))


@pytest.fixture(scope="module")
def plan(tree: BotTree) -> SandboxPlan:
    abi = landlock_abi_or_skip()
    config = BotConfig(id=tree.paths.bot_id, name="A", kernel_name="k")
    proc = private_view_support()[1]
    level = Level("landlock", abi=abi, private_mounts=True, private_proc=proc)
    built = build_plan(tree.paths, config, tree.runtime_dir, level)
    assert built.hide, "the plan hides nothing"
    return built


@pytest.fixture(scope="module")
def foreign_socket() -> Iterator[Path]:
    """A Unix socket in the system temp folder, like another bot's kernel socket."""
    folder = Path(tempfile.mkdtemp(prefix="wdl-other-"))
    path = folder / "k1-1"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen()
    yield path
    server.close()
    path.unlink()
    folder.rmdir()


def _mounts() -> list[str]:
    return Path("/proc/self/mountinfo").read_text().splitlines()


@pytest.fixture(scope="module")
def outcome(plan: SandboxPlan, tree: BotTree, foreign_socket: Path) -> dict[str, object]:
    before = _mounts()
    venv_file = tree.paths.venv / "pyvenv.cfg"
    venv_mode = venv_file.stat().st_mode & 0o7777  # the same mode: harmless where allowed
    result = run_attempts(
        plan,
        tree,
        {
            "read_other_bot": f"open({str(tree.other_secret)!r}).read()",
            "stat_vault": f"os.stat({str(tree.vault_file)!r})",
            "connect_foreign_socket": (
                f"socket.socket(socket.AF_UNIX).connect({str(foreign_socket)!r})"
            ),
            "cwd": "os.getcwd()",
            "write_state": "open('in-view.txt', 'w').write('ok') and None",
            "bind_in_runtime_dir": (
                f"socket.socket(socket.AF_UNIX).bind({str(tree.runtime_dir / 'kernel')!r})"
            ),
            "exec_venv_python": (
                f"subprocess.run([{tree.python!r}, '-c', 'pass'], check=True) and None"
            ),
            "shared_memory": "open('/dev/shm/wdl-test', 'w').write('x') and None",
            "processes": "sorted(int(p) for p in os.listdir('/proc') if p.isdigit())",
            "own_pid": "os.getpid()",
            "cmdline_of_outsider": f"open('/proc/{os.getpid()}/cmdline').read()",
            "chmod_venv_file": f"os.chmod({str(venv_file)!r}, {venv_mode})",
            "utime_system_file": "os.utime('/usr/bin/env')",
            "chmod_dev_null": "os.chmod('/dev/null', 0o666)",
            "write_dev_null": "open('/dev/null', 'w').write('x') and None",
            "chmod_in_state": "open('mode.txt', 'w').close() or os.chmod('mode.txt', 0o600)",
            "chmod_in_runtime_dir": f"os.chmod({str(tree.runtime_dir)!r}, 0o700)",
        },
    )
    assert _mounts() == before, "the kernel's mounts showed up in the host's mount table"
    return result


def test_other_bots_and_the_vault_do_not_exist_in_the_view(outcome: dict[str, object]) -> None:
    assert outcome["read_other_bot"] == "FileNotFoundError"
    assert outcome["stat_vault"] == "FileNotFoundError"


def test_sockets_of_other_processes_in_the_temp_folder_are_unreachable(
    outcome: dict[str, object],
) -> None:
    # Landlock does not govern connecting to a Unix socket by path; the view removes the path.
    assert outcome["connect_foreign_socket"] == "FileNotFoundError"


def test_the_kernel_keeps_its_working_folder_and_own_paths(
    outcome: dict[str, object], tree: BotTree
) -> None:
    assert outcome["cwd"] == ["allowed", str(tree.paths.state.resolve())]
    assert outcome["write_state"] == "allowed"
    assert (tree.paths.state / "in-view.txt").read_text() == "ok"
    assert outcome["exec_venv_python"] == "allowed"


def test_a_socket_made_in_the_view_is_reachable_from_the_host(
    outcome: dict[str, object], tree: BotTree
) -> None:
    assert outcome["bind_in_runtime_dir"] == "allowed"
    assert stat.S_ISSOCK((tree.runtime_dir / "kernel").stat().st_mode)


def test_shared_memory_is_private_to_the_kernel(outcome: dict[str, object]) -> None:
    assert outcome["shared_memory"] == "allowed"
    assert not Path("/dev/shm/wdl-test").exists()


def test_the_private_proc_lists_only_the_kernels_own_processes(
    outcome: dict[str, object], plan: SandboxPlan
) -> None:
    if not plan.private_proc:
        skip_or_fail(
            "a private /proc needs root here (procfs belongs to the PID namespace)",
            "WATCHDOG_LAB_PRIVATE_PROC_OPTIONAL",
        )
    own = outcome["own_pid"]
    assert isinstance(own, list)
    assert outcome["processes"] == ["allowed", [own[1]]]
    # Without it, a bot could read every command line (tokens passed as arguments included).
    assert outcome["cmdline_of_outsider"] == "FileNotFoundError"


def test_metadata_changes_only_in_the_kernels_own_folders(outcome: dict[str, object]) -> None:
    # Landlock does not govern chmod/utime; the view's mounts are read-only (EROFS) but these.
    assert outcome["chmod_venv_file"] == "OSError"
    assert outcome["utime_system_file"] in ("OSError", "PermissionError")
    if os.geteuid() == 0:
        assert outcome["chmod_dev_null"] == "OSError"
    assert outcome["write_dev_null"] == "allowed", "devices stay usable on a read-only mount"
    assert outcome["chmod_in_state"] == "allowed"
    assert outcome["chmod_in_runtime_dir"] == "allowed"


def test_outermost_keeps_parents_and_drops_what_they_contain() -> None:
    assert outermost(["/srv/a/b", "/root", "/srv/a", "/srvx", "/root/.x"]) == [
        "/root",
        "/srvx",
        "/srv/a",
    ]
