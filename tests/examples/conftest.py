"""The examples' world, as the Binder image builds it: ``binder/setup_demo.py`` makes a real
vault with a Kalshi connection whose key it generated, ``binder/start`` runs the real simulator
process with that key's public half, and the ``watchdog-lab`` command promotes and runs bots.

One demo per test module (each module is one example's story). The tests read the simulator as
the demo key's own account, signing with the connection from the vault, and the bots' state and
logs through the bots' core.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from watchdog_lab.bots.models import DescribeBot
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.kinds.kalshi import generate_key
from watchdog_lab.sdk import Connection
from watchdog_lab.vault import Vault

from ..support import wait_for

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
BINDER = REPO / "binder"
CONNECTION = "KalshiSim"
START_SECONDS = 30
CLI = [sys.executable, "-m", "watchdog_lab.cli"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http_json(
    url: str, method: str = "GET", body: object = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    parts = urlsplit(url)
    link = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        payload = None if body is None else json.dumps(body)
        link.request(
            method, target, payload, {"Content-Type": "application/json", **(headers or {})}
        )
        response = link.getresponse()
        raw = response.read()
    finally:
        link.close()
    return response.status, json.loads(raw) if raw else None


@dataclass
class Result:
    rc: int
    out: str
    err: str


@dataclass
class Demo:
    """One demo home, its simulator and the commands run against them."""

    home: Path
    demo_dir: Path
    config_dir: Path
    uv_cache: Path
    sim_url: str
    process: subprocess.Popen[bytes] | None = None

    @property
    def password_file(self) -> Path:
        return self.demo_dir / "password.txt"

    @property
    def password(self) -> str:
        return self.password_file.read_text().strip()

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHDOG_LAB_")}
        env.update(
            WATCHDOG_LAB_HOME=str(self.home),
            WATCHDOG_LAB_DEMO_DIR=str(self.demo_dir),
            WATCHDOG_LAB_UV_CACHE=str(self.uv_cache),
            JUPYTER_CONFIG_DIR=str(self.config_dir),
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env

    def cli(
        self, *args: str, timeout: float = 180, ok: bool = True, stdin: str | None = None
    ) -> Result:
        done = subprocess.run(
            [*CLI, "--password-file", str(self.password_file), *args],
            input=stdin,
            stdin=subprocess.DEVNULL if stdin is None else None,
            capture_output=True,
            text=True,
            env=self.env(),
            timeout=timeout,
            check=False,
        )
        result = Result(done.returncode, done.stdout, done.stderr)
        if ok:
            assert result.rc == 0, f"watchdog-lab {' '.join(args)}: {result.err}"
        return result

    # --- the simulator, as the demo key's account ----------------------------------------

    def connection(self) -> Connection:
        with Vault(self.home) as vault:
            vault.unlock(self.password)
            found = vault.get_connection(CONNECTION)
            return Connection(found.name, found.kind, found.fields)

    def signed(self, method: str, path: str, params: dict[str, str] | None = None) -> Any:
        conn = self.connection()
        url = conn.api_endpoint(host=self.sim_url).base_url + path
        url += f"?{urlencode(params)}" if params else ""
        status, body = http_json(url, method, headers=conn.sign_request(method, url))
        assert status == 200, (status, body)
        return body

    def public(self, path: str) -> Any:
        status, body = http_json(f"{self.sim_url}/trade-api/v2{path}")
        assert status == 200, (status, body)
        return body

    def first_market(self) -> str:
        return str(self.public("/markets")["markets"][0]["ticker"])

    # --- bots, read through the core ------------------------------------------------------

    def bot(self, name: str) -> DescribeBot:
        with Vault(self.home) as vault:
            return BotManager(vault).describe(name)

    def bot_state(self, name: str) -> dict[str, Any]:
        path = Path(self.bot(name).folder) / "state" / "state.json"
        try:
            return dict(json.loads(path.read_text()))
        except (FileNotFoundError, ValueError):  # not written yet
            return {}

    def configure(self, **settings: object) -> None:
        """Add ``c.WatchdogLab.*`` settings to the demo's Jupyter config (the CLI reads it)."""
        path = self.config_dir / "jupyter_watchdog_lab_config.json"
        config = json.loads(path.read_text())
        config["WatchdogLab"].update(settings)
        path.write_text(json.dumps(config))

    def bot_logs(self, name: str) -> list[str]:
        with Vault(self.home) as vault:
            return [record.text for record in BotManager(vault).logs(name)]

    def stop_bots(self) -> None:
        with Vault(self.home) as vault:
            manager = BotManager(vault)
            for bot in manager.list():
                manager.stop(bot.id, timeout=10)


def start_simulator(demo: Demo) -> subprocess.Popen[bytes]:
    """``binder/start`` as Binder runs it, in front of a command that just waits."""
    process = subprocess.Popen(
        [str(BINDER / "start"), "sleep", "3600"],
        env=demo.env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )

    def serving() -> bool:
        with contextlib.suppress(OSError):
            return http_json(f"{demo.sim_url}/trade-api/v2/exchange/status")[0] == 200
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        return False

    wait_for(serving, START_SECONDS, "the simulator", poll=0.1)
    return process


def stop_simulator(process: subprocess.Popen[bytes]) -> None:
    """The whole session ``binder/start`` began: the waiting command and the simulator."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=10)
    if process.stderr is not None:
        process.stderr.close()


def make_demo(base: Path, uv_cache: Path) -> Demo:
    port = free_port()
    demo = Demo(
        home=base / "h",
        demo_dir=base / "demo",
        config_dir=base / "jupyter-config",
        uv_cache=uv_cache,
        sim_url=f"http://127.0.0.1:{port}",
    )
    done = subprocess.run(
        [sys.executable, str(BINDER / "setup_demo.py"), "--port", str(port)],
        env=demo.env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return demo


@pytest.fixture(scope="module")
def uv_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's shared uv cache (the bots tests build into the same folder)."""
    path = tmp_path_factory.getbasetemp() / "uv-cache"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, uv_cache: Path) -> Iterator[Demo]:
    base = tmp_path_factory.mktemp("ex")
    made = make_demo(base, uv_cache)
    made.process = start_simulator(made)
    try:
        yield made
    finally:
        made.stop_bots()
        stop_simulator(made.process)


def run_papermill(
    notebook: Path, out: Path, parameters: dict[str, Any]
) -> tuple[Any, Exception | None]:
    """Papermill as a user runs it (its own kernel, the python3 kernelspec): the executed
    notebook, and papermill's error when a cell failed (raised after the notebook is written)."""
    import nbformat
    import papermill

    failure: Exception | None = None
    try:
        papermill.execute_notebook(
            str(notebook),
            str(out),
            parameters=parameters,
            kernel_name="python3",
            progress_bar=False,
            cwd=str(out.parent),
            execution_timeout=60,
        )
    except papermill.PapermillExecutionError as exc:
        failure = exc
    return nbformat.read(str(out), as_version=4), failure


def cell_text(nb: Any, cell_id: str) -> str:
    """Everything a code cell printed (streams and plain-text results)."""
    (cell,) = [c for c in nb.cells if c.get("id") == cell_id]
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type in ("execute_result", "display_data"):
            parts.append(output.data.get("text/plain", ""))
    return "".join(parts)


def wait_until(predicate: Any, timeout: float, what: str) -> Any:
    return wait_for(predicate, timeout, what, poll=0.2)


@dataclass
class Trader:
    """Someone else on the simulator: a key of its own, registered as a user would."""

    conn: Connection
    base_url: str

    @classmethod
    def register(cls, sim_url: str) -> Trader:
        pair = generate_key()
        status, body = http_json(
            f"{sim_url}/trade-api/v2/api_keys",
            "POST",
            {"name": "counterparty", "public_key": pair.public_pem},
        )
        assert status == 201, body
        conn = Connection(
            "Counterparty",
            "kalshi",
            {
                "api_key_id": body["api_key_id"],
                "private_key_pem": pair.private_pem,
                "environment": "demo",
            },
        )
        return cls(conn, conn.api_endpoint(host=sim_url).base_url)

    def order(self, ticker: str, action: str, count: int, yes_price: int) -> Any:
        url = self.base_url + "/portfolio/orders"
        body = {
            "ticker": ticker,
            "side": "yes",
            "action": action,
            "count": count,
            "type": "limit",
            "yes_price": yes_price,
        }
        status, answer = http_json(url, "POST", body, self.conn.sign_request("POST", url))
        assert status == 201, answer
        return answer["order"]


@dataclass
class LabServer:
    """A real Jupyter server with WatchDog Lab on the demo home: research as in JupyterLab.

    Its kernels get the broker's address and a kernel token; a grant (the sidebar's route, with
    the vault password) lets one use the demo connection. Papermill run inside that kernel
    starts its own kernel, which inherits the token: that is how a notebook in JupyterLab runs
    papermill with its grants.
    """

    process: subprocess.Popen[bytes]
    url: str
    token: str
    runtime: Path

    def call(self, method: str, path: str, body: object = None) -> tuple[int, Any]:
        return http_json(
            f"{self.url}/{path}", method, body, {"Authorization": f"token {self.token}"}
        )

    def granted_kernel(self, connection: str, password: str) -> str:
        status, _ = self.call("POST", "watchdog-lab/vault/unlock", {"password": password})
        assert status == 200
        status, kernel = self.call("POST", "api/kernels", {"name": "python3"})
        assert status == 201, kernel
        grant = {"connection": connection, "password": password}
        status, answer = self.call("POST", f"watchdog-lab/kernels/{kernel['id']}/grants", grant)
        assert status in (200, 201), answer
        return str(kernel["id"])

    def papermill(
        self, kernel_id: str, notebook: Path, out: Path, parameters: dict[str, Any]
    ) -> Any:
        """Run papermill in the kernel, as a cell of a notebook would; the executed notebook."""
        import nbformat
        from jupyter_client import BlockingKernelClient

        client = BlockingKernelClient(
            connection_file=str(self.runtime / f"kernel-{kernel_id}.json")
        )
        client.load_connection_file()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=START_SECONDS)
            code = (
                "import papermill\n"
                f"papermill.execute_notebook({str(notebook)!r}, {str(out)!r}, "
                f"parameters={parameters!r}, kernel_name='python3', progress_bar=False)\n"
            )
            reply = client.execute_interactive(code, timeout=120, output_hook=lambda _: None)
        finally:
            client.stop_channels()
        assert reply["content"]["status"] == "ok", reply["content"].get("evalue")
        return nbformat.read(str(out), as_version=4)

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.call("POST", "api/shutdown")
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_lab_server(demo: Demo, base: Path) -> LabServer:
    port, token, runtime = free_port(), secrets.token_hex(16), base / "runtime"
    root = ["--ServerApp.allow_root=True"] if os.geteuid() == 0 else []
    process = subprocess.Popen(
        [
            sys.executable, "-m", "jupyter_server", "--no-browser", f"--port={port}",
            "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={base}", *root,
        ],
        env=demo.env(JUPYTER_RUNTIME_DIR=str(runtime)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    server = LabServer(process, f"http://127.0.0.1:{port}", token, runtime)

    def up() -> bool:
        with contextlib.suppress(OSError):
            return server.call("GET", "api/status")[0] == 200
        assert process.poll() is None, "the Jupyter server exited"
        return False

    wait_for(up, START_SECONDS, "the Jupyter server", poll=0.2)
    return server
