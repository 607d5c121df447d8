"""Bot kernelspecs: written from the template, found by Jupyter, and starting the bot's venv."""

from __future__ import annotations

import json
import shutil
import stat
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from jupyter_client.manager import KernelManager

from watchdog_lab.bots.environment import build_environment, venv_python
from watchdog_lab.bots.kernelspec import (
    jupyter_path_entry,
    kernel_dirs,
    kernel_name,
    remove_kernelspec,
    write_kernelspec,
)
from watchdog_lab.bots.layout import BotPaths
from watchdog_lab.bots.models import BotConfig

BOT_ID = "3f2b8c1e-7a4d-4e8f-9b21-5c6d7e8f9a0b"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def read_spec(spec_dir: Path) -> dict:
    return json.loads((spec_dir / "kernel.json").read_text(encoding="utf-8"))


# --- naming ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["../../etc", "bot-1", "", "3f2b8c1e-7a4d-4e8f-9b21-5c6d7e8f9a0/"])
def test_a_bot_id_that_is_not_a_uuid_is_refused(home: Path, bad: str) -> None:
    with pytest.raises(ValueError, match="not a UUID"):
        write_kernelspec(home, bad, "x", "/venv/bin/python")
    assert not (home / "kernels").exists()


def test_the_kernel_name_is_the_canonical_uuid() -> None:
    assert kernel_name(BOT_ID.upper()) == f"watchdog-bot-{BOT_ID}"


# --- the written file -----------------------------------------------------------------------


def test_the_spec_runs_ipykernel_on_the_venv_python_unresolved(home: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(shutil.which("python3") or "/usr/bin/python3")
    spec_dir = write_kernelspec(home, BOT_ID, "Momentum", venv / "bin" / "python")
    assert spec_dir == home / "kernels" / f"watchdog-bot-{BOT_ID}"
    spec = read_spec(spec_dir)
    argv = spec["argv"]
    assert argv[0] == str(venv / "bin" / "python")
    assert argv[argv.index("-m") + 1] == "ipykernel_launcher"
    assert argv[-2:] == ["-f", "{connection_file}"]
    assert spec["language"] == "python"
    assert spec["display_name"] == "WatchDog bot: Momentum"


def test_the_spec_carries_the_bot_id_and_no_other_environment(home: Path) -> None:
    spec = read_spec(write_kernelspec(home, BOT_ID, "Momentum", "/v/bin/python"))
    assert spec["env"] == {"WATCHDOG_LAB_BOT_ID": BOT_ID}
    assert spec["metadata"]["watchdog_lab"] == {"bot_id": BOT_ID}


def test_the_spec_names_the_bot_provisioner_with_the_bot_id(home: Path) -> None:
    """Wherever the spec is opened (JupyterLab's launcher), jupyter_client starts it through
    the ``watchdog-lab-bot`` provisioner, which confines it as this bot."""
    spec = read_spec(write_kernelspec(home, BOT_ID, "Momentum", "/v/bin/python"))
    assert spec["metadata"]["kernel_provisioner"] == {
        "provisioner_name": "watchdog-lab-bot",
        "config": {"bot_id": BOT_ID},
    }


def test_placeholders_inside_the_bot_name_stay_literal(home: Path) -> None:
    spec = read_spec(write_kernelspec(home, BOT_ID, 'a "{bot_id}" {python}', "/v/bin/python"))
    assert spec["display_name"] == 'WatchDog bot: a "{bot_id}" {python}'
    assert spec["argv"][0] == "/v/bin/python"


def test_the_display_name_is_one_printable_line_of_bounded_length(home: Path) -> None:
    name = "Mean\nreversion\x1b[31m\t" + "x" * 200
    shown = read_spec(write_kernelspec(home, BOT_ID, name, "/v/bin/python"))["display_name"]
    assert "\n" not in shown and "\x1b" not in shown and "\t" not in shown
    assert shown.startswith("WatchDog bot: Mean reversion [31m x")
    assert len(shown) <= len("WatchDog bot: ") + 60


def test_rewriting_replaces_the_spec_in_place(home: Path) -> None:
    write_kernelspec(home, BOT_ID, "Old", "/v/bin/python")
    spec_dir = write_kernelspec(home, BOT_ID, "New", "/v2/bin/python")
    spec = read_spec(spec_dir)
    assert spec["display_name"] == "WatchDog bot: New"
    assert spec["argv"][0] == "/v2/bin/python"
    assert sorted(p.name for p in spec_dir.iterdir()) == ["kernel.json", "logo-svg.svg"]


def test_kernel_folders_are_private(home: Path) -> None:
    spec_dir = write_kernelspec(home, BOT_ID, "Momentum", "/v/bin/python")
    for folder in (home / "kernels", spec_dir):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_remove_deletes_the_spec_once(home: Path) -> None:
    spec_dir = write_kernelspec(home, BOT_ID, "Momentum", "/v/bin/python")
    assert remove_kernelspec(home, BOT_ID) is True
    assert not spec_dir.exists()
    assert remove_kernelspec(home, BOT_ID) is False


# --- Jupyter finds it -----------------------------------------------------------------------


def test_a_kernelspec_manager_given_kernel_dirs_finds_the_spec(home: Path) -> None:
    write_kernelspec(home, BOT_ID, "Momentum", "/v/bin/python")
    manager = KernelSpecManager(kernel_dirs=kernel_dirs(home))
    spec = manager.get_kernel_spec(kernel_name(BOT_ID))
    assert spec.argv[0] == "/v/bin/python"
    assert spec.display_name == "WatchDog bot: Momentum"
    assert Path(spec.resource_dir) == home / "kernels" / kernel_name(BOT_ID)


def test_the_home_on_jupyter_path_makes_the_spec_visible_by_default(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_kernelspec(home, BOT_ID, "Momentum", "/v/bin/python")
    monkeypatch.setenv("JUPYTER_PATH", jupyter_path_entry(home))
    assert kernel_name(BOT_ID) in KernelSpecManager().find_kernel_specs()
    remove_kernelspec(home, BOT_ID)
    with pytest.raises(NoSuchKernel):
        KernelSpecManager().get_kernel_spec(kernel_name(BOT_ID))


# --- a real kernel --------------------------------------------------------------------------


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    """A short folder for IPC sockets: a Unix socket path must stay under ~100 bytes."""
    path = Path(tempfile.mkdtemp(prefix="wdk-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_kernel_started_from_the_spec_runs_in_the_bot_venv(
    tmp_path: Path, uv_cache: Path, socket_dir: Path
) -> None:
    home = tmp_path / "home"
    bot_id = str(uuid.uuid4())
    paths = BotPaths(home, uuid.UUID(bot_id).hex)
    paths.create()
    venv = paths.venv
    build_environment(venv, [], cache_dir=uv_cache)
    spec_dir = write_kernelspec(home, bot_id, "Kernel test", venv_python(venv))
    config = BotConfig(id=paths.bot_id, name="Kernel test", kernel_name=spec_dir.name)
    paths.config_file.write_text(config.model_dump_json(), encoding="utf-8")

    manager = KernelManager(
        kernel_name=kernel_name(bot_id),
        kernel_spec_manager=KernelSpecManager(kernel_dirs=kernel_dirs(home)),
        transport="ipc",
        ip=str(socket_dir / "k"),
        connection_file=str(socket_dir / "kernel.json"),
    )
    manager.start_kernel(cwd=str(venv.parent))
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        outputs: list[str] = []

        def collect(msg: dict) -> None:
            if msg["msg_type"] == "stream":
                outputs.append(msg["content"]["text"])

        reply = client.execute_interactive(
            "import os, sys, watchdog_lab\n"
            "print(sys.prefix)\n"
            "print(os.environ['WATCHDOG_LAB_BOT_ID'])\n"
            "print(watchdog_lab.__file__)",
            output_hook=collect,
            timeout=60,
        )
        assert reply["content"]["status"] == "ok"
        prefix, seen_id, sdk_file = "".join(outputs).split()
        assert Path(prefix) == venv
        assert uuid.UUID(seen_id) == uuid.UUID(bot_id)
        assert Path(sdk_file).is_relative_to(venv)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=False)
    assert not manager.is_alive()
    assert not any(p.is_socket() for p in socket_dir.iterdir())
