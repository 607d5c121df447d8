"""A real Jupyter Enterprise Gateway on 127.0.0.1, over TLS, with an auth token.

The gateway runs from its own venv (``.venv-gateway``, built by ``make test`` from
``requirements.txt`` here, or by :func:`gateway_executable` when missing): it pins older
Jupyter libraries than WatchDog Lab needs. Its kernelspec runs the SDK's gateway kernel on this
project's interpreter. The token is only in a 0600 configuration file: never in the gateway's
environment or command line, which its kernels inherit or can read.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from jupyter_client.connect import LocalPortCache

from watchdog_lab.bots.errors import GatewayUnreachable
from watchdog_lab.bots.gateway import GatewayRest, GatewayTarget
from watchdog_lab.sdk import Connection

from ..kinds.tlsserver import make_ca

ROOT = Path(__file__).resolve().parents[2]
GATEWAY_VENV = ROOT / ".venv-gateway"
REQUIREMENTS = Path(__file__).with_name("requirements.txt")
KERNEL_NAME = "watchdog-bot"
LOOPBACK = "127.0.0.1"
START_SECONDS = 60.0


def gateway_executable() -> Path:
    """The gateway's command, its venv built first if missing (one build for all workers)."""
    command = GATEWAY_VENV / "bin" / "jupyter-enterprisegateway"
    if command.exists():
        return command
    uv = Path(sys.executable).with_name("uv")
    uv_command = str(uv) if uv.exists() else shutil.which("uv")
    assert uv_command, "uv is needed to build the gateway's venv (make test installs it)"
    with open(ROOT / ".venv-gateway.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not command.exists():
            python = GATEWAY_VENV / "bin" / "python"
            subprocess.run(
                [uv_command, "venv", "-q", "--python", sys.executable, str(GATEWAY_VENV)],
                check=True,
            )
            subprocess.run(
                [
                    uv_command,
                    "pip",
                    "install",
                    "-q",
                    "--python",
                    str(python),
                    "-r",
                    str(REQUIREMENTS),
                ],
                check=True,
            )
    return command


@dataclass
class RunningGateway:
    url: str
    token: str
    ca_pem: str
    process: subprocess.Popen[bytes]
    log: Path
    ipython_dir: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def target(self, *, token: str | None = None, ca_pem: str | None = None) -> GatewayTarget:
        fields = {"token": self.token if token is None else token}
        ca = self.ca_pem if ca_pem is None else ca_pem
        if ca:
            fields["ca_pem"] = ca
        return GatewayTarget.from_connection(
            self.url, KERNEL_NAME, Connection("gateway", "gateway", fields)
        )

    def kernels(self) -> list[dict[str, object]]:
        listed = GatewayRest(self.target()).call("GET", "/api/kernels")
        assert isinstance(listed, list)
        return listed


def _certificates(folder: Path) -> tuple[str, Path, Path]:
    """A private CA's PEM, and a certificate it signed for 127.0.0.1 with its key."""
    ca = make_ca(folder / "ca")
    leaf = ca.issue(LOOPBACK)
    return ca.cafile.read_text(encoding="ascii"), leaf.cert, leaf.key


def _kernelspec(folder: Path, ipython_dir: Path) -> Path:
    """The gateway's bot kernelspec: the SDK's gateway kernel, IPython's history on (so the
    tests can show the hand-over never reaches it)."""
    spec = folder / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [
                    sys.executable,
                    "-m",
                    "watchdog_lab.sdk.gateway_kernel",
                    "-f",
                    "{connection_file}",
                    "--HistoryManager.enabled=True",
                ],
                "display_name": "WatchDog Lab bot",
                "language": "python",
                "env": {"IPYTHONDIR": str(ipython_dir)},
            }
        )
    )
    return folder


def _wait_ready(running: RunningGateway) -> None:
    deadline = time.monotonic() + START_SECONDS
    rest = GatewayRest(running.target())
    while time.monotonic() < deadline:
        if running.process.poll() is not None:
            raise AssertionError(f"the gateway exited with {running.process.returncode}")
        try:
            rest.call("GET", "/api/kernelspecs")
        except GatewayUnreachable:
            time.sleep(0.1)
        else:
            return
    raise AssertionError("the gateway did not answer in time")


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    command = gateway_executable()
    base = tmp_path_factory.mktemp("gw")
    config_dir = base / "config"
    config_dir.mkdir(mode=0o700)
    ipython_dir = base / "ipython"
    token = secrets.token_urlsafe(32)
    ca_pem, cert, key = _certificates(config_dir)
    config = config_dir / "jupyter_enterprise_gateway_config.py"
    config.write_text(
        f"c.EnterpriseGatewayApp.auth_token = {token!r}\n"
        # The tests run as root, which the gateway refuses to start kernels for by default.
        "c.EnterpriseGatewayApp.unauthorized_users = set()\n"
        "c.EnterpriseGatewayApp.list_kernels = True\n"
        f"c.EnterpriseGatewayApp.certfile = {str(cert)!r}\n"
        f"c.EnterpriseGatewayApp.keyfile = {str(key)!r}\n"
    )
    config.chmod(0o600)
    port = LocalPortCache.instance().find_available_port(LOOPBACK)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": str(base),
        "JUPYTER_CONFIG_DIR": str(config_dir),
        "JUPYTER_PATH": str(_kernelspec(base / "share", ipython_dir)),
        "JUPYTER_DATA_DIR": str(base / "data"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
    }
    log = base / "gateway.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(command), f"--ip={LOOPBACK}", f"--port={port}", "--debug"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=base,
            start_new_session=True,
        )
    url = f"https://{LOOPBACK}:{port}"
    running = RunningGateway(url, token, ca_pem, process, log, ipython_dir)
    try:
        _wait_ready(running)
        yield running
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
