"""Which level a bot gets, what its plan allows, and the launcher prefix the runner uses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from watchdog_lab.bots import confine, sandbox
from watchdog_lab.bots.bubblewrap import bwrap_argv
from watchdog_lab.bots.confine import (
    Level,
    SandboxUnavailable,
    build_plan,
    describe_level,
    interpreter_prefixes,
    launcher_prefix,
    sandbox_notice,
)
from watchdog_lab.bots.layout import BotPaths
from watchdog_lab.bots.models import BotConfig
from watchdog_lab.bots.mounts import is_within
from watchdog_lab.bots.sandbox_plan import SandboxPlan

from .sandboxing import (
    OTHER_ID,
    BotTree,
    bubblewrap_or_skip,
    make_bot_tree,
    run_attempts,
)

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandboxes")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotTree]:
    yield from make_bot_tree(tmp_path_factory.mktemp("confine"))


def _config(tree: BotTree, **kw: object) -> BotConfig:
    return BotConfig(id=tree.paths.bot_id, name="A", kernel_name="k", **kw)  # type: ignore[arg-type]


@pytest.fixture
def fresh_levels() -> Iterator[None]:
    confine.choose_level.cache_clear()
    yield
    confine.choose_level.cache_clear()


@pytest.fixture
def no_landlock(monkeypatch: pytest.MonkeyPatch, fresh_levels: None) -> None:
    """A machine whose kernel lacks Landlock (detection is faked, the policy is under test)."""
    monkeypatch.setattr(sandbox, "landlock_abi", lambda: (None, "kernel built without Landlock"))


def _support(bwrap_works: bool) -> sandbox.SandboxSupport:
    return sandbox.SandboxSupport(
        best="bubblewrap" if bwrap_works else "unsandboxed",
        landlock_abi=None,
        landlock_note="kernel built without Landlock",
        no_new_privs=True,
        bubblewrap="/usr/bin/bwrap" if bwrap_works else None,
        bubblewrap_works=bwrap_works,
        user_namespaces=bwrap_works,
    )


# ------------------------------------------------------------------ levels


@linux_only
def test_best_is_landlock_with_the_kernels_abi_where_landlock_exists(fresh_levels: None) -> None:
    abi, _ = sandbox.landlock_abi()
    if abi is None:
        pytest.skip("no Landlock on this kernel")
    assert describe_level("best").startswith(f"landlock (ABI {abi})")
    assert sandbox_notice("best") is None


def test_best_falls_back_to_bubblewrap_then_to_a_loud_unsandboxed(
    no_landlock: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox, "detect", lambda **_: _support(True))
    assert describe_level("best") == "bubblewrap"
    confine.choose_level.cache_clear()
    monkeypatch.setattr(sandbox, "detect", lambda **_: _support(False))
    assert describe_level("best") == "unsandboxed"
    notice = sandbox_notice("best")
    assert notice is not None and notice.startswith("WARNING") and "UNSANDBOXED" in notice
    assert "vault" in notice


@pytest.mark.parametrize("mode", ["require", "landlock", "bubblewrap"])
def test_a_mode_that_demands_a_sandbox_refuses_instead_of_running_unsandboxed(
    mode: str, no_landlock: None, monkeypatch: pytest.MonkeyPatch, tree: BotTree
) -> None:
    monkeypatch.setattr(sandbox, "detect", lambda **_: _support(False))
    assert describe_level(mode).startswith("refused: ")
    with pytest.raises(SandboxUnavailable, match="cannot be met"):
        sandbox_notice(mode)
    with pytest.raises(SandboxUnavailable):
        launcher_prefix(tree.paths, _config(tree, sandbox=mode), tree.runtime_dir)


def test_landlock_mode_does_not_settle_for_bubblewrap(
    no_landlock: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox, "detect", lambda **_: _support(True))
    assert describe_level("landlock").startswith("refused: ")
    assert describe_level("require") == "bubblewrap"


def test_none_runs_unsandboxed_with_the_warning(fresh_levels: None) -> None:
    assert describe_level("none") == "unsandboxed"
    notice = sandbox_notice("none")
    assert notice is not None and "turns the sandbox off" in notice


def test_an_unknown_mode_is_refused_and_names_the_valid_ones(fresh_levels: None) -> None:
    assert describe_level("strict").startswith("refused: unknown sandbox mode 'strict'")
    with pytest.raises(SandboxUnavailable, match="best, require"):
        sandbox_notice("strict")


def test_describe_names_the_private_mount_view() -> None:
    assert Level("landlock", abi=7, private_mounts=True).describe() == (
        "landlock (ABI 7) + private mounts"
    )
    assert Level("landlock", abi=4).describe() == "landlock (ABI 4)"


# ------------------------------------------------------------------ plan


def test_the_base_interpreter_prefix_is_found_from_the_venv(tree: BotTree) -> None:
    assert os.path.realpath(sys.base_prefix) in interpreter_prefixes(tree.paths.venv)


def test_the_plan_opens_nothing_of_the_home_but_the_bots_own_folders(tree: BotTree) -> None:
    plan = build_plan(tree.paths, _config(tree), tree.runtime_dir, Level("landlock", abi=7))
    home = str(tree.paths.home.resolve())
    root = str(tree.paths.root.resolve())
    under_home = [p for p in (*plan.read, *plan.execute, *plan.write) if is_within(p, home)]
    assert under_home and all(is_within(p, root) for p in under_home)
    assert str(tree.paths.venv.resolve()) in plan.execute
    assert not any(is_within(str(tree.paths.venv.resolve()), p) for p in plan.write)
    assert not any(OTHER_ID in p for p in (*plan.read, *plan.execute, *plan.write))
    assert "/etc" not in plan.read and "/etc/passwd" in plan.read
    assert str(tree.paths.state.resolve()) in plan.write
    assert str(tree.runtime_dir.resolve()) in plan.write


def test_a_bot_connects_only_to_its_configured_ports_and_binds_none(tree: BotTree) -> None:
    level = Level("landlock", abi=7, private_mounts=True)
    assert build_plan(tree.paths, _config(tree), tree.runtime_dir, level).connect_ports == (
        443,
        80,
    )
    config = _config(tree, connect_ports=[443, 8443])
    for each in (level, Level("bubblewrap")):
        plan = build_plan(tree.paths, config, tree.runtime_dir, each)
        assert plan.connect_ports == (443, 8443)
        assert plan.deny_tcp_bind and plan.bind_ports == ()
        assert plan.read_only_mounts, "a private view is read-only but the bot's own folders"
    with pytest.raises(ValueError, match="65535"):
        _config(tree, connect_ports=[70000])


def test_the_jupyter_runtime_folder_is_hidden_wherever_it_is(
    tree: BotTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Interactive kernels' connection files and IPC sockets, the server's URL and token.
    runtime = tmp_path / "jupyter-runtime"
    runtime.mkdir()
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    level = Level("landlock", abi=7, private_mounts=True)
    plan = build_plan(tree.paths, _config(tree), tree.runtime_dir, level)
    assert str(runtime) in plan.hide


def test_an_interpreter_whose_prefix_contains_the_home_is_refused(tmp_path: Path) -> None:
    paths = BotPaths(tmp_path / "h", "c" * 32)
    paths.create()
    paths.venv.mkdir()
    (paths.venv / "pyvenv.cfg").write_text(f"home = {tmp_path / 'bin'}\n")
    config = BotConfig(id=paths.bot_id, name="C", kernel_name="k")
    with pytest.raises(SandboxUnavailable, match="contains the WatchDog Lab home"):
        build_plan(paths, config, tmp_path, Level("landlock", abi=7))


def test_a_home_reached_through_a_symlink_is_not_hidden_from_the_kernel(tmp_path: Path) -> None:
    # HOME, TMPDIR and the working folder name the link; hiding the folder holding the link
    # would leave the kernel with paths that lead nowhere.
    (tmp_path / "real").mkdir()
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "real")
    paths = BotPaths(link, "d" * 32)
    paths.create()
    config = BotConfig(id=paths.bot_id, name="D", kernel_name="k")
    level = Level("landlock", abi=7, private_mounts=True)
    plan = build_plan(paths, config, tmp_path / "rt", level)
    assert plan.hide, "other folders are still hidden"
    assert not any(is_within(str(link), folder) for folder in plan.hide)


def test_invalid_rlimits_stop_the_launch_with_the_reason(tree: BotTree) -> None:
    config = _config(tree, rlimits={"core": 1})
    with pytest.raises(SandboxUnavailable, match="Core dumps stay disabled"):
        build_plan(tree.paths, config, tree.runtime_dir, Level("landlock", abi=7))


def test_the_plan_asks_for_a_pid_namespace_capped_by_the_bots_pids_limit(
    tree: BotTree, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(confine, "pid_namespace_support", lambda: (True, True))
    level = Level("landlock", abi=7)
    plan = build_plan(tree.paths, _config(tree, rlimits={"pids": 300}), tree.runtime_dir, level)
    assert (plan.pid_namespace, plan.max_tasks) == (True, 300)
    assert "pids" not in plan.rlimits, "a namespace's cap, not a resource limit of one process"
    lifted = build_plan(tree.paths, _config(tree, rlimits={"pids": -1}), tree.runtime_dir, level)
    assert (lifted.pid_namespace, lifted.max_tasks) == (True, None)


def test_bubblewrap_plans_leave_the_namespace_to_bubblewrap(
    tree: BotTree, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(confine, "pid_namespace_support", lambda: (True, True))
    monkeypatch.setattr(sandbox, "detect", lambda: _support(True))
    plan = build_plan(tree.paths, _config(tree), tree.runtime_dir, Level("bubblewrap"))
    assert not plan.pid_namespace, "bubblewrap runs its own (--unshare-pid)"
    assert "--unshare-pid" in bwrap_argv(plan, str(tree.paths.state))


# ------------------------------------------------------------------ prefix


def test_the_prefix_runs_the_kernel_command_under_the_wrapper(tree: BotTree) -> None:
    prefix = launcher_prefix(tree.paths, _config(tree, sandbox="none"), tree.runtime_dir)
    assert prefix[-1] == "--"
    plan = SandboxPlan.from_json(prefix[prefix.index("--policy") + 1])
    assert plan.level == "none"
    script = "import json, resource; print(json.dumps(resource.getrlimit(resource.RLIMIT_CORE)))"
    done = subprocess.run(
        [*prefix, tree.python, "-c", script],
        cwd=tree.paths.state,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout) == [0, 0]


# ------------------------------------------------------------------ bubblewrap


@linux_only
def test_bubblewrap_gives_the_same_map_in_its_own_view(tree: BotTree) -> None:
    bubblewrap_or_skip()
    plan = build_plan(tree.paths, _config(tree), tree.runtime_dir, Level("bubblewrap"))
    venv_file = tree.paths.venv / "pyvenv.cfg"
    outcome = run_attempts(
        plan,
        tree,
        {
            "read_other_bot": f"open({str(tree.other_secret)!r}).read()",
            "read_vault": f"open({str(tree.vault_file)!r}, 'rb').read()",
            "write_venv": f"open({str(venv_file)!r}, 'a').write('x')",
            "write_state": "open('bwrap.txt', 'w').write('ok') and None",
            "environ_of_parent": f"open('/proc/{os.getpid()}/environ').read()",
            "exec_venv_python": (
                f"subprocess.run([{tree.python!r}, '-c', 'print(7)'], capture_output=True,"
                " text=True, check=True).stdout.strip()"
            ),
            "parent_pid_variable": "os.environ.get('JPY_PARENT_PID')",
            "capabilities": (
                "[l.split()[1] for l in open('/proc/self/status') if l.startswith('CapEff')][0]"
            ),
        },
        env={"PATH": "/usr/bin:/bin", "JPY_PARENT_PID": str(os.getpid())},
    )
    assert outcome["read_other_bot"] == "FileNotFoundError"
    assert outcome["read_vault"] == "FileNotFoundError"
    assert outcome["write_venv"] in ("OSError", "PermissionError")  # read-only bind: EROFS
    assert outcome["write_state"] == "allowed"
    assert (tree.paths.state / "bwrap.txt").read_text() == "ok"
    assert outcome["environ_of_parent"] in ("FileNotFoundError", "PermissionError")
    assert outcome["exec_venv_python"] == ["allowed", "7"]
    assert outcome["parent_pid_variable"] == ["allowed", "1"]  # ipykernel: no parent poller
    assert outcome["capabilities"] == ["allowed", "0000000000000000"]


@linux_only
def test_an_interrupt_sent_to_the_group_reaches_the_kernel_inside_bubblewrap(
    tree: BotTree,
) -> None:
    bubblewrap_or_skip()
    plan = build_plan(tree.paths, _config(tree), tree.runtime_dir, Level("bubblewrap"))
    kernel = (
        "import os, signal, time\n"
        "signal.signal(signal.SIGINT, lambda *_: (os.write(1, b'interrupted\\n'), os._exit(3)))\n"
        "print('ready', flush=True)\n"
        "time.sleep(30)\n"
    )
    wrapper = [sys.executable, "-I", "-m", "watchdog_lab.bots.launch", "--policy", plan.to_json()]
    proc = subprocess.Popen(
        [*wrapper, "--", tree.python, "-c", kernel],
        cwd=tree.paths.state,
        env={"PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # as jupyter_client starts kernels
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.stdout.readline() == "interrupted\n"
    assert proc.wait(10) == 3, "bubblewrap passes on the kernel's own exit status"
