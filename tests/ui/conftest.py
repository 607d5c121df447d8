"""Browser-test fixtures: a real ``jupyter lab`` process and headless Debian chromium.

The server runs the installed package exactly as a user gets it (prebuilt lab extension from
``share/jupyter/labextensions``, server extension enabled by the installed config file), in
throw-away HOME / Jupyter / WatchDog Lab folders so a developer's own setup never leaks in.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest
from jupyter_core.paths import jupyter_path
from playwright.sync_api import Browser, Page, sync_playwright

from ..support import skip_or_fail

CHROMIUM = Path(os.environ.get("WATCHDOG_LAB_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_TIMEOUT = 90.0

# Keeps the "get notified about Jupyter news" toast from covering the page (and the network).
QUIET_NOTIFICATIONS = {"fetchNews": "false", "checkForUpdates": False}


@dataclass
class LabServer:
    """A running ``jupyter lab``; URLs carry the token so the browser is logged in."""

    base_url: str
    token: str
    watchdog_home: Path
    log_path: Path

    def url(self, path: str = "lab") -> str:
        return f"{self.base_url}{path}?token={self.token}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _isolated_env(root: Path, watchdog_home: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("JUPYTER", "WATCHDOG_LAB_"))
    }
    home = root / "home"
    settings = root / "lab-settings"
    notification = settings / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(json.dumps(QUIET_NOTIFICATIONS))
    home.mkdir()
    env.update(
        HOME=str(home),
        JUPYTER_CONFIG_DIR=str(root / "jupyter-config"),
        JUPYTER_DATA_DIR=str(root / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(root / "jupyter-runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(root / "lab-workspaces"),
        WATCHDOG_LAB_HOME=str(watchdog_home),
    )
    return env


def _wait_until_ready(server: LabServer, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    status_url = server.url("api/status")
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"jupyter lab exited with {process.returncode}:\n{server.log()}")
        try:
            with urllib.request.urlopen(status_url, timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    pytest.fail(f"jupyter lab did not answer within {SERVER_START_TIMEOUT}s:\n{server.log()}")


def _stop(process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
    log.close()


def start_lab(root: Path, *extra_args: str) -> Iterator[LabServer]:
    """Start ``jupyter lab`` under ``root`` and stop it when the generator is closed."""
    root.mkdir(parents=True, exist_ok=True)
    watchdog_home = root / "watchdog-home"
    env = _isolated_env(root, watchdog_home)
    notebooks = root / "notebooks"
    notebooks.mkdir()
    port = _free_port()
    token = secrets.token_hex(16)
    server = LabServer(
        base_url=f"http://127.0.0.1:{port}/",
        token=token,
        watchdog_home=watchdog_home,
        log_path=root / "jupyter-lab.log",
    )
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={notebooks}",
        f"--IdentityProvider.token={token}",
        "--ServerApp.allow_root=True",
        *extra_args,
    ]
    log = server.log_path.open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_ready(server, process)
        yield server
    finally:
        _stop(process, log)


@pytest.fixture(autouse=True)
def jp_asyncio_loop() -> None:
    """Replaces pytest-jupyter's loop fixture for browser tests.

    While a module's browser is open, Playwright's sync API keeps its own event loop running in
    this thread; the plugin's fixture would pick that loop up and try to close it after a test.
    """


@pytest.fixture(autouse=True)
def jp_server_cleanup() -> None:
    """Nothing to clean: these tests run JupyterLab in a subprocess, not in-process."""


@pytest.fixture(scope="session")
def installed_lab_extension() -> Path:
    """The prebuilt front end this environment serves; the browser tests need the real one."""
    for folder in jupyter_path("labextensions"):
        candidate = Path(folder) / "watchdog-lab" / "package.json"
        if candidate.is_file():
            return candidate.parent
    pytest.fail("The watchdog-lab JupyterLab extension is not installed here: run `make install`.")


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    reason = f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)"
    skip_or_fail(reason, "WATCHDOG_LAB_BROWSER_OPTIONAL")


@pytest.fixture(scope="module")
def browser(chromium_path: Path) -> Iterator[Browser]:
    """One chromium per test module.

    Not per session: while Playwright's sync API is active its event loop counts as running in
    this thread, which breaks every later asyncio-based test (pytest-jupyter's among them).
    """
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


@pytest.fixture
def lab(tmp_path: Path, chromium_path: Path, installed_lab_extension: Path) -> Iterator[LabServer]:
    """JupyterLab with WatchDog Lab installed and enabled, on an empty home."""
    yield from start_lab(tmp_path / "lab")


@pytest.fixture
def lab_without_server_extension(
    tmp_path: Path, chromium_path: Path, installed_lab_extension: Path
) -> Iterator[LabServer]:
    """JupyterLab whose front end has WatchDog Lab but whose server has the extension off."""
    yield from start_lab(tmp_path / "lab", "--ServerApp.jpserver_extensions=watchdog_lab=False")


@pytest.fixture
def artifacts_dir(tmp_path: Path) -> Path:
    """Where screenshots go: ``$WATCHDOG_LAB_UI_ARTIFACTS`` if set (CI uploads it), else tmp."""
    target = Path(os.environ.get("WATCHDOG_LAB_UI_ARTIFACTS") or tmp_path / "artifacts")
    target.mkdir(parents=True, exist_ok=True)
    return target


@pytest.fixture(scope="session")
def ui_uv_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's shared uv cache (the folder the bot and server tests use too), so a
    promote hardlinks its venv instead of downloading anything."""
    path = tmp_path_factory.getbasetemp() / "uv-cache"
    path.mkdir(exist_ok=True)
    return path
