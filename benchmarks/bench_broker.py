"""How long ``wd.connection(name)`` takes in an interactive kernel: one broker round trip.

Starts a real Jupyter server with WatchDog Lab on a temporary home, unlocks its vault, adds a
connection, opens a notebook session (a real kernel), grants the connection from the UI route,
then times ``wd.connection()`` inside the kernel: every call is an HTTP request to the server
(nothing is cached). The target is a median under 5 ms. Run from the repository root:

    python benchmarks/bench_broker.py [--lookups 500]

Prints mean, median and p99 for a granted lookup and for a refused one, and exits with status 1
if the median granted lookup misses the target.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jupyter_client import BlockingKernelClient

from watchdog_lab.vault import CreateConnection, KdfParams, Vault

TARGET_MS = 5.0
PASSWORD = "benchmark password 1"
MARKER = "@@samples@@"

KERNEL_CODE = """
import json, time, watchdog_lab as wd
from watchdog_lab.sdk import ConnectionNotAvailable

def _time(name, count):
    samples, answered = [], 0
    for _ in range(count):
        start = time.perf_counter_ns()
        try:
            answered += wd.connection(name).name == name
        except ConnectionNotAvailable:
            pass
        samples.append((time.perf_counter_ns() - start) / 1e6)
    return samples, answered

_time("Kalshi", 20)  # warm-up: imports, first connections
granted, granted_ok = _time("Kalshi", COUNT)
refused, refused_ok = _time("Binance", COUNT)
print(MARKER + json.dumps({
    "granted": granted, "granted_answered": granted_ok,
    "refused": refused, "refused_answered": refused_ok,
}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A ``jupyter server`` subprocess with WatchDog Lab, spoken to over its REST API."""

    def __init__(self, root: Path, home: Path) -> None:
        self.port = free_port()
        self.token = secrets.token_hex(24)
        self.base = f"http://127.0.0.1:{self.port}/"
        self.runtime = root / "runtime"
        env = {
            **os.environ,
            "JUPYTER_RUNTIME_DIR": str(self.runtime),
            "JUPYTER_CONFIG_DIR": str(root / "config"),
            "JUPYTER_DATA_DIR": str(root / "data"),
            "WATCHDOG_LAB_HOME": str(home),
        }
        notebooks = root / "notebooks"
        notebooks.mkdir()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter_server",
                f"--ServerApp.port={self.port}",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.root_dir={notebooks}",
                f"--IdentityProvider.token={self.token}",
                "--ServerApp.open_browser=False",
                "--ServerApp.allow_root=True",
                "--ServerApp.jpserver_extensions={'watchdog_lab': True}",
                "--WatchdogLab.auto_lock_minutes=0",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait()

    def _wait(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                self.call("GET", "api/status")
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        raise SystemExit("the Jupyter server did not start within 60 s")

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - http to our own server
            self.base + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our server
            text = response.read()
        return json.loads(text) if text else None

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def run_in_kernel(client: BlockingKernelClient, code: str) -> str:
    out: list[str] = []

    def on_output(msg: dict[str, Any]) -> None:
        if msg["header"]["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["header"]["msg_type"] == "error":
            raise SystemExit("\n".join(msg["content"]["traceback"]))

    client.execute_interactive(code, output_hook=on_output, timeout=600)
    return "".join(out)


def summary(label: str, samples: Sequence[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{label:<22} mean {statistics.fmean(ordered):6.2f} ms   median "
        f"{statistics.median(ordered):6.2f} ms   p99 {p99:6.2f} ms   (n={len(ordered)})"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lookups", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        home = root / "home"
        with Vault(home, kdf=KdfParams(time_cost=1, memory_kib=8 * 1024, parallelism=1)) as vault:
            vault.create(PASSWORD)
            for name in ("Kalshi", "Binance"):
                vault.add_connection(
                    CreateConnection(
                        name=name,
                        kind="generic",
                        fields={
                            "api_key_id": secrets.token_hex(18),
                            "secret": secrets.token_hex(32),
                        },
                    )
                )
        server = Server(root, home)
        client = None
        try:
            server.call("POST", "watchdog-lab/vault/unlock", {"password": PASSWORD})
            session = server.call(
                "POST",
                "api/sessions",
                {"path": "bench.ipynb", "type": "notebook", "kernel": {"name": "python3"}},
            )
            kernel_id = session["kernel"]["id"]
            server.call(
                "POST",
                f"watchdog-lab/kernels/{kernel_id}/grants",
                {"connection": "Kalshi", "password": PASSWORD},
            )
            client = BlockingKernelClient(
                connection_file=str(server.runtime / f"kernel-{kernel_id}.json")
            )
            client.load_connection_file()
            client.start_channels()
            client.wait_for_ready(timeout=60)
            code = KERNEL_CODE.replace("MARKER", repr(MARKER)).replace("COUNT", str(args.lookups))
            printed = run_in_kernel(client, code)
        finally:
            if client is not None:
                client.stop_channels()
            server.stop()
    line = next(line for line in printed.splitlines() if line.startswith(MARKER))
    samples = json.loads(line[len(MARKER) :])
    print(
        "wd.connection() in an interactive kernel, through the broker "
        f"(target: median < {TARGET_MS} ms)"
    )
    print(summary("granted (200)", samples["granted"]))
    print(summary("not granted (403)", samples["refused"]))
    # A benchmark of lookups that silently failed would time the error path: check each one.
    right = samples["granted_answered"] == args.lookups and samples["refused_answered"] == 0
    print(
        f"check: {samples['granted_answered']}/{args.lookups} granted lookups answered, "
        f"{samples['refused_answered']}/{args.lookups} refused ones answered "
        f"({'right' if right else 'WRONG'})"
    )
    return 0 if right and statistics.median(samples["granted"]) < TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
