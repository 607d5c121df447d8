"""Landlock for real: the bindings against this kernel, and a plain child confined by the exec
wrapper with the plan a bot kernel gets (Landlock alone, no private mount view)."""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from watchdog_lab.bots import landlock
from watchdog_lab.bots.confine import Level, build_plan
from watchdog_lab.bots.landlock import AccessFs, LandlockError, Ruleset
from watchdog_lab.bots.models import BotConfig
from watchdog_lab.bots.sandbox_plan import SandboxPlan

from .sandboxing import (
    BotTree,
    landlock_abi_or_skip,
    make_bot_tree,
    run_attempts,
    run_confined,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Landlock is Linux")


@pytest.fixture(scope="module")
def abi() -> int:
    return landlock_abi_or_skip()


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory, abi: int) -> Iterator[BotTree]:
    yield from make_bot_tree(tmp_path_factory.mktemp("landlock"))


@pytest.fixture(scope="module")
def plan(tree: BotTree, abi: int, tcp_server: tuple[int, list[bytes]]) -> SandboxPlan:
    config = BotConfig(
        id=tree.paths.bot_id,
        name="A",
        kernel_name="k",
        rlimits={"nofile": 321},
        connect_ports=[tcp_server[0]],
    )
    return build_plan(tree.paths, config, tree.runtime_dir, Level("landlock", abi=abi))


def _serve() -> Iterator[tuple[int, list[bytes]]]:
    server = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                received.append(conn.recv(16))

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1], received
    server.close()


@pytest.fixture(scope="module")
def tcp_server() -> Iterator[tuple[int, list[bytes]]]:
    """Listens on a port the bot's configuration allows."""
    yield from _serve()


@pytest.fixture(scope="module")
def other_tcp_server() -> Iterator[tuple[int, list[bytes]]]:
    """Listens on a port the bot's configuration does not allow (as a local kernel does)."""
    yield from _serve()


@pytest.fixture(scope="module")
def confined_sleeper(plan: SandboxPlan, tree: BotTree) -> Iterator[int]:
    """Another confined process (its own domain, like another bot's kernel) with a secret
    in its environment."""
    wrapper = [sys.executable, "-I", "-m", "watchdog_lab.bots.launch", "--policy", plan.to_json()]
    proc = subprocess.Popen(
        [*wrapper, "--", tree.python, "-c", "import time; time.sleep(60)"],
        cwd=tree.paths.state,
        env={"SLEEPER_SECRET": "s3cr3t-of-the-other-bot"},
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # wait until it is the venv python, not the wrapper
        if Path(f"/proc/{proc.pid}/cmdline").read_bytes().startswith(tree.python.encode()):
            break
        time.sleep(0.02)
    yield proc.pid
    proc.kill()
    proc.wait()


@pytest.fixture(scope="module")
def outcome(
    plan: SandboxPlan,
    tree: BotTree,
    tcp_server: tuple[int, list[bytes]],
    other_tcp_server: tuple[int, list[bytes]],
    confined_sleeper: int,
) -> dict[str, object]:
    port, _ = tcp_server
    other_port, _ = other_tcp_server
    venv_file = tree.paths.venv / "pyvenv.cfg"
    attempts = {
        "read_other_bot": f"open({str(tree.other_secret)!r}).read()",
        "read_vault": f"open({str(tree.vault_file)!r}, 'rb').read()",
        "read_home_file": (f"open({str(tree.home_file)!r}).read()" if tree.home_file else "1/0"),
        "list_home": f"os.listdir({str(tree.paths.home)!r})",
        "write_venv": f"open({str(venv_file)!r}, 'a').write('x')",
        "create_in_venv": f"open({str(tree.paths.venv / 'new.py')!r}, 'w')",
        "link_venv_into_state": f"os.link({str(venv_file)!r}, 'linked.cfg')",
        "write_state": "open('written.txt', 'w').write('ok') and None",
        "write_tmp": f"open({str(tree.paths.tmp / 'scratch')!r}, 'w').write('ok') and None",
        "make_socket_in_runtime_dir": (
            f"socket.socket(socket.AF_UNIX).bind({str(tree.runtime_dir / 's')!r})"
        ),
        "exec_venv_python": (
            f"subprocess.run([{tree.python!r}, '-c', 'print(42)'], capture_output=True,"
            " text=True, check=True).stdout.strip()"
        ),
        "exec_from_state": "subprocess.run(['./tool'], check=True)",
        "tcp_connect": f"socket.create_connection(('127.0.0.1', {port})).sendall(b'hello')",
        "tcp_connect_other_port": (
            f"socket.create_connection(('127.0.0.1', {other_port})).sendall(b'hello')"
        ),
        "mptcp_connect_other_port": (
            f"socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262).connect(('127.0.0.1', "
            f"{other_port}))"
        ),
        "io_uring_setup_errno": (
            "(lambda libc: (libc.syscall(425, 1, None), __import__('ctypes').get_errno())[1])("
            "__import__('ctypes').CDLL(None, use_errno=True))"
        ),
        "tcp_bind": "socket.socket().bind(('127.0.0.1', 0))",
        "environ_of_unconfined_parent": f"open('/proc/{os.getpid()}/environ').read()",
        "environ_of_other_domain": f"open('/proc/{confined_sleeper}/environ').read()",
        "signal_unconfined_parent": f"os.kill({os.getpid()}, 0)",
        "signal_other_domain": f"os.kill({confined_sleeper}, 0)",
        "read_etc_shadow": "open('/etc/shadow').read()",
        "read_system_file": "len(open('/etc/os-release').read()) > 0",
        "nofile_limit": "resource.getrlimit(resource.RLIMIT_NOFILE)",
        "core_limit": "resource.getrlimit(resource.RLIMIT_CORE)",
        "capabilities": (
            "[l.split()[1] for l in open('/proc/self/status') if l.startswith('CapEff')][0]"
        ),
        "no_new_privs": (
            "[l.split()[1] for l in open('/proc/self/status') if l.startswith('NoNewPrivs')][0]"
        ),
    }
    tool = tree.paths.state / "tool"
    tool.write_text("#!/bin/sh\nexit 0\n")
    tool.chmod(0o700)
    return run_attempts(plan, tree, attempts)


# ------------------------------------------------------------------ bindings


def test_a_ruleset_handles_every_right_this_kernel_knows_and_no_more(abi: int) -> None:
    with Ruleset(abi, landlock.fs_rights(abi)):
        pass
    beyond = AccessFs(int(landlock.fs_rights(abi)) << 1 & ~int(landlock.fs_rights(abi)))
    with pytest.raises(LandlockError) as info:
        Ruleset(abi, landlock.fs_rights(abi) | beyond)
    assert info.value.errno == errno.EINVAL


def test_abi_version_is_what_the_kernel_reports(abi: int) -> None:
    assert landlock.abi_version() == abi


def test_a_rule_on_a_file_keeps_only_file_rights(abi: int) -> None:
    every = landlock.fs_rights(abi)
    with Ruleset(abi, every) as ruleset:
        assert ruleset.allow_path("/dev/null", every)  # directory rights would be EINVAL


def test_a_rule_on_a_missing_path_adds_nothing(abi: int, tmp_path: Path) -> None:
    with Ruleset(abi, landlock.fs_rights(abi)) as ruleset:
        assert ruleset.allow_path(tmp_path / "missing", AccessFs.READ_FILE) is False


# ------------------------------------------------------------------ wrapper


def test_reading_another_bots_state_is_denied(outcome: dict[str, object]) -> None:
    assert outcome["read_other_bot"] == "PermissionError"


def test_reading_the_vault_file_is_denied(outcome: dict[str, object]) -> None:
    assert outcome["read_vault"] == "PermissionError"
    assert outcome["list_home"] == "PermissionError"


def test_reading_a_file_in_the_users_home_is_denied(
    outcome: dict[str, object], tree: BotTree
) -> None:
    if tree.home_file is None:
        pytest.skip("the user's home folder is not writable, so no file could be placed there")
    assert outcome["read_home_file"] == "PermissionError"


def test_the_venv_is_read_only(outcome: dict[str, object], tree: BotTree) -> None:
    assert outcome["write_venv"] == "PermissionError"
    assert outcome["create_in_venv"] == "PermissionError"
    assert not (tree.paths.venv / "new.py").exists()


def test_a_venv_file_cannot_be_hardlinked_into_writable_state(
    outcome: dict[str, object], tree: BotTree
) -> None:
    # A link in state/ would make a file of the shared uv cache writable through it.
    assert outcome["link_venv_into_state"] in ("PermissionError", "OSError")
    assert not (tree.paths.state / "linked.cfg").exists()


def test_state_tmp_and_the_socket_folder_are_writable(
    outcome: dict[str, object], tree: BotTree
) -> None:
    assert outcome["write_state"] == "allowed"
    assert outcome["write_tmp"] == "allowed"
    assert outcome["make_socket_in_runtime_dir"] == "allowed"
    assert (tree.paths.state / "written.txt").read_text() == "ok"


def test_the_venv_python_can_be_executed(outcome: dict[str, object]) -> None:
    assert outcome["exec_venv_python"] == ["allowed", "42"]


def test_nothing_written_by_the_bot_can_be_executed(outcome: dict[str, object]) -> None:
    assert outcome["exec_from_state"] == "PermissionError"


def test_tcp_connect_works_to_allowed_ports_only_and_tcp_bind_is_denied(
    outcome: dict[str, object],
    tcp_server: tuple[int, list[bytes]],
    other_tcp_server: tuple[int, list[bytes]],
    abi: int,
) -> None:
    assert outcome["tcp_connect"] == "allowed"
    assert b"hello" in tcp_server[1]
    assert outcome["tcp_bind"] == "PermissionError"
    if abi < 4:
        pytest.skip("Landlock has no network rules before ABI 4")
    assert outcome["tcp_connect_other_port"] == "PermissionError"
    assert not other_tcp_server[1]


def test_multipath_tcp_and_io_uring_give_no_way_around_the_port_rules(
    outcome: dict[str, object], other_tcp_server: tuple[int, list[bytes]], abi: int
) -> None:
    if abi < 4:
        pytest.skip("Landlock has no network rules before ABI 4")
    # Landlock does not see MPTCP sockets, which fall back to TCP: the seccomp filter refuses
    # them (EPROTONOSUPPORT), and io_uring, which creates sockets without socket(2) (ENOSYS).
    assert outcome["mptcp_connect_other_port"] == "OSError"
    assert outcome["io_uring_setup_errno"] == ["allowed", errno.ENOSYS]
    assert not other_tcp_server[1]


def test_environ_of_processes_outside_the_domain_is_unreadable(
    outcome: dict[str, object],
) -> None:
    assert outcome["environ_of_unconfined_parent"] == "PermissionError"
    assert outcome["environ_of_other_domain"] == "PermissionError"


def test_processes_outside_the_domain_cannot_be_signalled(
    outcome: dict[str, object], abi: int, plan: SandboxPlan
) -> None:
    if abi < 6:
        pytest.skip(f"signal scoping needs Landlock ABI 6, this kernel has {abi}")
    # In a PID namespace of its own, the kernel cannot even name the process that started it.
    outside = "ProcessLookupError" if plan.pid_namespace else "PermissionError"
    assert outcome["signal_unconfined_parent"] == outside
    assert outcome["signal_other_domain"] == outside


def test_the_runner_side_can_still_signal_a_confined_process(
    plan: SandboxPlan, tree: BotTree
) -> None:
    wrapper = [sys.executable, "-I", "-m", "watchdog_lab.bots.launch", "--policy", plan.to_json()]
    proc = subprocess.Popen(
        [*wrapper, "--", tree.python, "-c", "import time; time.sleep(60)"],
        cwd=tree.paths.state,
        env={},
    )
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(10) == -signal.SIGTERM


def test_etc_is_opened_file_by_file(outcome: dict[str, object]) -> None:
    assert outcome["read_system_file"] == ["allowed", True]
    assert outcome["read_etc_shadow"] in ("PermissionError", "FileNotFoundError")


def test_the_kernel_holds_no_capabilities(outcome: dict[str, object]) -> None:
    assert outcome["capabilities"] == ["allowed", "0000000000000000"]


def test_no_later_exec_can_gain_privileges(outcome: dict[str, object]) -> None:
    assert outcome["no_new_privs"] == ["allowed", "1"]


def test_configured_rlimits_and_the_core_dump_ban_reach_the_child(
    outcome: dict[str, object],
) -> None:
    assert outcome["nofile_limit"] == ["allowed", [321, 321]]
    assert outcome["core_limit"] == ["allowed", [0, 0]]


def test_a_failing_sandbox_never_starts_the_command(tree: BotTree) -> None:
    broken = SandboxPlan(level="landlock", write=("/nonexistent-but-fine",), rlimits={"bad": 1})
    done = run_confined(broken, [tree.python, "-c", "print('ran')"], cwd=tree.paths.state)
    assert done.returncode == 126
    assert "ran" not in done.stdout
    assert "sandbox could not be set up" in done.stderr
