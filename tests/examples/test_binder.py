"""binder/: the image's build steps (postBuild) in a clean uv venv with a throwaway HOME, then
binder/start's simulator and the demo connection reaching it.

What is installed: the project's wheel, built once here from the working tree with the front end
that ``make`` already built (``SKIP_JUPYTER_BUILDER``: rebuilding it would take most of a
minute), by uv from the session's shared cache. Everything after the install is postBuild's own
steps, run unchanged: the extension checks, the demo vault, the JupyterLab settings.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import BINDER, REPO, free_port, http_json, wait_until

UV = Path(sys.executable).parent / "uv"
STEP_SECONDS = 300
# The signed call, made by the installed package (not this checkout): the demo's password is
# read from its file, the key stays inside the vault's connection.
BALANCE = """
import http.client, json, pathlib, sys
from watchdog_lab.vault import Vault
from watchdog_lab.sdk import Connection
demo = pathlib.Path.home() / ".watchdog-lab-demo"
port = int((demo / "simulator.args").read_text().split()[1])
with Vault(pathlib.Path.home() / ".watchdog-lab") as vault:
    vault.unlock((demo / "password.txt").read_text().strip())
    found = vault.get_connection("KalshiSim")
conn = Connection(found.name, found.kind, found.fields)
base = conn.api_endpoint(host=f"http://127.0.0.1:{port}").base_url
link = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
link.request("GET", base.split(str(port), 1)[1] + "/portfolio/balance",
             headers=conn.sign_request("GET", base + "/portfolio/balance"))
answer = link.getresponse()
print(answer.status, json.load(answer)["balance"])
"""


@dataclass
class Image:
    venv: Path
    home: Path
    env: dict[str, str]
    postbuild: subprocess.CompletedProcess[str]
    sim_port: int

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(argv), env=self.env, capture_output=True, text=True, timeout=120, check=False
        )


def clean_env(home: Path, venv: Path, uv_cache: Path, port: int) -> dict[str, str]:
    """This machine's network settings (proxies, CA bundles, package indexes) and nothing of
    this test process's Python, Jupyter or WatchDog Lab: the image's own HOME, venv and PATH."""
    leaks = ("PYTHON", "JUPYTER_", "WATCHDOG_LAB_", "VIRTUAL_ENV", "CONDA", "IPYTHON", "PYTEST")
    env = {k: v for k, v in os.environ.items() if not k.startswith(leaks)}
    env.update(
        HOME=str(home),
        PATH=f"{venv / 'bin'}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
        VIRTUAL_ENV=str(venv),
        UV_CACHE_DIR=str(uv_cache),
        WATCHDOG_LAB_DEMO_PORT=str(port),
    )
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory, uv_cache: Path) -> Path:
    out = tmp_path_factory.mktemp("dist")
    env = {**os.environ, "SKIP_JUPYTER_BUILDER": "1", "UV_CACHE_DIR": str(uv_cache)}
    done = subprocess.run(
        [str(UV), "build", "--wheel", "--out-dir", str(out), str(REPO)],
        env=env,
        capture_output=True,
        text=True,
        timeout=STEP_SECONDS,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (built,) = out.glob("watchdog_lab-*.whl")
    return built


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory, wheel: Path, uv_cache: Path) -> Iterator[Image]:
    base = tmp_path_factory.mktemp("binder")
    home, venv = base / "home", base / "venv"
    home.mkdir()
    subprocess.run(
        [str(UV), "venv", "--quiet", "--python", sys.executable, str(venv)],
        env={**os.environ, "UV_CACHE_DIR": str(uv_cache)},
        check=True,
        timeout=STEP_SECONDS,
    )
    port = free_port()
    env = clean_env(home, venv, uv_cache, port)
    postbuild = subprocess.run(
        [str(BINDER / "postBuild")],
        env={
            **env,
            "WATCHDOG_LAB_PACKAGE": str(wheel),
            "WATCHDOG_LAB_INSTALLER": f"{UV} pip install",
        },
        cwd=base,
        capture_output=True,
        text=True,
        timeout=STEP_SECONDS,
        check=False,
    )
    made = Image(venv, home, env, postbuild, port)
    if postbuild.returncode != 0:
        yield made
        return
    start = subprocess.Popen(
        [str(BINDER / "start"), "sleep", "3600"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/trade-api/v2/exchange/status"

        def serving() -> bool:
            with contextlib.suppress(OSError):
                return http_json(url)[0] == 200
            return False

        wait_until(serving, 60, "the simulator binder/start launched")
        yield made
    finally:
        os.killpg(start.pid, signal.SIGTERM)
        start.wait(timeout=10)


def test_postbuild_installs_into_a_clean_venv_and_makes_the_demo(image: Image) -> None:
    assert image.postbuild.returncode == 0, image.postbuild.stdout + image.postbuild.stderr
    demo = image.home / ".watchdog-lab-demo"
    assert (image.home / ".watchdog-lab" / "vault.db").exists()
    assert stat.S_IMODE((demo / "password.txt").stat().st_mode) == 0o600
    assert "BEGIN PUBLIC KEY" in (demo / "kalshi-sim.pub").read_text()
    assert "PRIVATE" not in image.postbuild.stdout + image.postbuild.stderr


def test_the_server_and_lab_extensions_are_enabled_in_the_venv(image: Image) -> None:
    servers = image.run("jupyter", "server", "extension", "list")
    labs = image.run("jupyter", "labextension", "list")
    server_lines = (servers.stdout + servers.stderr).splitlines()
    lab_lines = (labs.stdout + labs.stderr).splitlines()
    assert any("watchdog_lab" in line and "enabled" in line for line in server_lines)
    assert any("watchdog-lab" in line and "enabled" in line and "OK" in line for line in lab_lines)
    assert str(image.venv) in servers.stdout + servers.stderr  # the venv's, not this checkout's


def test_the_demo_connection_signs_a_balance_call_the_simulator_accepts(image: Image) -> None:
    done = image.run("python", "-c", BALANCE)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["200", "100000"]


def test_the_welcome_notebook_shows_the_password_and_reaches_the_simulator(
    image: Image, tmp_path: Path
) -> None:
    out = tmp_path / "welcome.ipynb"
    done = image.run("papermill", "--no-progress-bar", str(BINDER / "welcome.ipynb"), str(out))
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    password = (image.home / ".watchdog-lab-demo" / "password.txt").read_text().strip()
    assert f"Demo vault password: {password}" in text
    assert f"simulator on http://127.0.0.1:{image.sim_port}:" in text
    assert "unsandboxed" in text
