"""Interactive kernels the server starts are confined (watchdog_lab/provisioning/): no
WatchDog Lab home, no Jupyter runtime folder but their own connection file, a private
``/proc``, no server secret in the environment; the user's folders stay writable.

Every kernel here starts as JupyterLab starts one (REST or sessions API) on the stock
``python3`` kernelspec, which names no provisioner: the extension's default applies.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.serverapp import ServerApp
from traitlets import TraitError
from traitlets.config import Config

from tests.bots.sandboxing import landlock_abi_or_skip
from tests.server.conftest import server_config
from watchdog_lab.bots.layout import socket_root
from watchdog_lab.provisioning import describe_kernel_sandbox
from watchdog_lab.server.app import WatchdogLab

PASSWORD = "interactive kernels are untrusted"
SERVER_TOKEN_ENV = "sk-server-token-Zq81LmR4"

pytestmark = pytest.mark.usefixtures("confinable")


@pytest.fixture
def confinable() -> None:
    """Skip (fail in CI) where interactive kernels cannot be confined."""
    landlock_abi_or_skip()
    if not describe_kernel_sandbox("best").startswith("landlock"):
        pytest.skip(f"interactive kernels are not confined here: {describe_kernel_sandbox()}")


@pytest.fixture
def server_secret_env(monkeypatch: pytest.MonkeyPatch) -> str:
    """A server started with its token in the environment (``JUPYTER_TOKEN``, as Docker
    images and JupyterHub spawners do): kernels inherit the server's environment."""
    monkeypatch.setenv("JUPYTER_TOKEN", SERVER_TOKEN_ENV)
    return SERVER_TOKEN_ENV


async def attempt(kernel: Any, expression: str) -> Any:
    """``expression``'s JSON value in the kernel, or the name of the exception it raised."""
    setup = f"""
        import os, glob
        try:
            _r = {expression}
        except Exception as _e:
            _r = type(_e).__name__
        """
    return await kernel.value("_r", setup=setup)


async def test_the_watchdog_lab_home_is_empty_and_the_vault_unreadable(
    kernels: Any, make_vault: Any, watchdog_home: Path
) -> None:
    make_vault(PASSWORD)
    assert (watchdog_home / "vault.db").exists()
    kernel = await kernels.start()
    assert await attempt(kernel, f"os.listdir({str(watchdog_home)!r})") == []
    vault = str(watchdog_home / "vault.db")
    assert await attempt(kernel, f"open({vault!r}, 'rb').read(16).hex()") == "FileNotFoundError"
    assert await attempt(kernel, f"open({vault!r}, 'wb').close()") in (
        "OSError",
        "PermissionError",
    )


async def test_the_runtime_folder_shows_only_the_kernels_own_connection_file(
    kernels: Any, jp_serverapp: ServerApp
) -> None:
    jp_serverapp.write_server_info_file()  # jpserver-<pid>.json, with the token
    runtime = Path(jp_serverapp.runtime_dir)
    assert list(runtime.glob("jpserver-*.json"))
    other = await kernels.start()
    kernel = await kernels.start("notes/one.ipynb")
    own = jp_serverapp.kernel_manager.get_kernel(kernel.id).connection_file
    theirs = jp_serverapp.kernel_manager.get_kernel(other.id).connection_file
    assert Path(theirs).exists()
    assert await attempt(kernel, f"sorted(os.listdir({str(runtime)!r}))") == [Path(own).name]
    assert await attempt(kernel, f"open({own!r}).read().count('shell_port')") == 1
    assert await attempt(kernel, f"open({theirs!r}).read()") == "FileNotFoundError"


async def test_bots_kernel_sockets_are_out_of_reach(kernels: Any) -> None:
    # A bot's IPC channels carry its raw, unredacted output: they live under one folder that
    # interactive kernels do not see.
    root = socket_root()
    probe = Path(tempfile.mkdtemp(prefix="probe-", dir=root))
    try:
        (probe / "k1-iopub").touch()
        kernel = await kernels.start()
        assert await attempt(kernel, f"os.listdir({str(root)!r})") == []
        assert await attempt(kernel, f"os.listdir({str(probe)!r})") == "FileNotFoundError"
    finally:
        shutil.rmtree(probe)


async def test_the_server_process_is_not_in_the_kernels_proc(kernels: Any) -> None:
    server_pid = os.getpid()  # pytest-jupyter runs the server in this process
    kernel = await kernels.start()
    assert await attempt(kernel, f"str({server_pid}) in os.listdir('/proc')") is False
    assert await attempt(kernel, f"open('/proc/{server_pid}/cmdline').read()") in (
        "FileNotFoundError",
        "PermissionError",
    )
    kernel_pid = await attempt(kernel, "os.getpid()")
    assert await attempt(kernel, f"str({kernel_pid}) in os.listdir('/proc')") is True


async def test_the_server_token_is_not_in_the_kernels_environment(
    server_secret_env: str, kernels: Any
) -> None:
    kernel = await kernels.start()
    environ = await kernel.environ()
    assert "JUPYTER_TOKEN" not in environ
    assert server_secret_env not in repr(environ)
    assert environ.get("WATCHDOG_LAB_KERNEL_TOKEN")  # the broker's own token still arrives


async def test_the_root_folder_home_and_tmp_stay_writable(
    kernels: Any, jp_root_dir: Path, jp_home_dir: Path
) -> None:
    (jp_root_dir / "research").mkdir()
    kernel = await kernels.start("research/study.ipynb")  # runs in research/
    (await kernel.run("open('results.csv', 'w').write('a,b\\n')")).check()
    home = str(jp_home_dir)
    (await kernel.run(f"import os; os.makedirs({home!r} + '/.local/lib', exist_ok=True)")).check()
    (await kernel.run(f"open({home!r} + '/.local/lib/mine.py', 'w').write('x = 1')")).check()
    (await kernel.run("import tempfile; tempfile.NamedTemporaryFile().close()")).check()
    assert (jp_root_dir / "research" / "results.csv").read_text() == "a,b\n"
    assert (jp_home_dir / ".local" / "lib" / "mine.py").read_text() == "x = 1"


async def test_shell_commands_and_subprocesses_still_work(kernels: Any) -> None:
    kernel = await kernels.start()
    code = "!echo from-a-shell\nimport subprocess\nprint(subprocess.check_output(['echo', 'sub']))"
    out = (await kernel.run(code)).check()
    assert "from-a-shell" in out.stdout and "sub" in out.stdout


async def test_a_restarted_kernel_is_confined_again(
    kernels: Any, make_vault: Any, watchdog_home: Path
) -> None:
    make_vault(PASSWORD)
    kernel = await kernels.restart(await kernels.start())
    assert await attempt(kernel, f"os.listdir({str(watchdog_home)!r})") == []


class TestTurnedOff:
    """``c.WatchdogLab.kernel_sandbox = 'none'``: interactive kernels as Jupyter starts them."""

    @pytest.fixture
    def jp_server_config(self, watchdog_home: Path) -> Config:
        return server_config(watchdog_home, kernel_sandbox="none")

    async def test_kernels_are_unconfined(
        self, kernels: Any, make_vault: Any, watchdog_home: Path, jp_serverapp: ServerApp
    ) -> None:
        make_vault(PASSWORD)
        jp_serverapp.write_server_info_file()
        kernel = await kernels.start()
        assert "vault.db" in await attempt(kernel, f"os.listdir({str(watchdog_home)!r})")
        runtime = str(jp_serverapp.runtime_dir)
        assert await attempt(kernel, f"glob.glob({runtime!r} + '/jpserver-*.json')")
        assert await attempt(kernel, f"str({os.getpid()}) in os.listdir('/proc')") is True

    def test_the_server_reports_its_kernels_unconfined(
        self, jp_serverapp: ServerApp, watchdog_app: WatchdogLab
    ) -> None:
        from watchdog_lab.provisioning.setup import describe_server_kernels

        assert watchdog_app.kernel_sandbox == "none"
        level = describe_server_kernels(jp_serverapp, watchdog_app.kernel_sandbox)
        assert level.startswith("off")


@pytest.mark.parametrize("value", ["strict", "landlock", ""])
def test_an_unknown_kernel_sandbox_value_is_refused(value: str) -> None:
    with pytest.raises(TraitError, match="kernel_sandbox"):
        WatchdogLab(kernel_sandbox=value)


def test_the_server_reports_the_level_its_kernels_get(jp_serverapp: ServerApp) -> None:
    from watchdog_lab.provisioning.setup import describe_server_kernels

    level = describe_server_kernels(jp_serverapp, "best")
    assert level == describe_kernel_sandbox("best") and level.startswith("landlock")


async def test_the_jupyter_config_folder_is_hidden(kernels: Any, jp_config_dir: Path) -> None:
    (jp_config_dir / "jupyter_server_config.json").write_text('{"IdentityProvider": {}}')
    kernel = await kernels.start()
    config = str(jp_config_dir)
    assert await attempt(kernel, f"os.listdir({config!r})") == []
    planted = f"open({config!r} + '/jupyter_server_config.py', 'w').close()"
    assert await attempt(kernel, planted) in ("OSError", "PermissionError")


async def test_jupyter_tools_in_a_notebook_get_a_runtime_folder_of_their_own(
    kernels: Any, jp_serverapp: ServerApp
) -> None:
    kernel = await kernels.start()
    setup = """
        from jupyter_core.paths import jupyter_runtime_dir
        _own = jupyter_runtime_dir()
        open(_own + '/kernel-sub.json', 'w').write('{}')
        """
    own = await kernel.value("_own", setup=setup)
    assert Path(own) != Path(jp_serverapp.runtime_dir)
    assert not (Path(jp_serverapp.runtime_dir) / "kernel-sub.json").exists()
